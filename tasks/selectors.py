from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404

from core import access
from core.access import Role, project_access
from tasks.models import Quota, Task
from tasks.queues import QUEUES, live_workers
from tasks.registry import kinds


@dataclass(frozen=True)
class Limits:
    active_tasks: int
    projects_per_hour: int


def user_limits(user_id: int) -> Limits:
    """The user's own limits where an operator set them, else the settings'."""
    quota = Quota.objects.filter(user_id=user_id).first()
    return Limits(
        active_tasks=(quota and quota.active_tasks) or settings.QUOTA_ACTIVE_TASKS,
        projects_per_hour=(quota and quota.projects_per_hour) or settings.QUOTA_PROJECTS_PER_HOUR,
    )


def active_task_count(*, owner_id: int) -> int:
    return Task.objects.filter(owner_id=owner_id, status__in=Task.UNFINISHED).count()


def task_list(
    *,
    user: AbstractBaseUser | AnonymousUser,
    project_id: uuid.UUID | None = None,
    shot_id: uuid.UUID | None = None,
    status: str | None = None,
) -> QuerySet[Task]:
    visible = Q(project__in=project_access().visible_project_ids(user.pk))
    if user.pk is not None:  # and the user's own work outside any film
        visible |= Q(project__isnull=True, owner_id=user.pk)
    queryset = Task.objects.filter(visible, hidden=False).prefetch_related("parents")
    if project_id is not None:
        queryset = queryset.filter(project_id=project_id)
    if shot_id is not None:
        queryset = queryset.filter(shot_id=shot_id)
    if status is not None:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at")


def task_get(*, user: AbstractBaseUser | AnonymousUser, task_id: object, role: Role = Role.EDITOR) -> Task:
    """The task, where the user has at least ``role`` on its project (as ``shots.selectors.shot_get``)."""
    task = get_object_or_404(task_list(user=user), pk=task_id)
    if role is not Role.VIEWER and task.project_id is not None:  # one outside any film is the user's own
        access.require(user.pk, task.project_id, role)
    return task


def task_list_latest(*, project_id: uuid.UUID) -> list[Task]:
    """The newest task of each (kind, shot) of the project: what a storyboard view shows. The
    database picks them (a window function), so a long task history is never read."""
    newest = Window(RowNumber(), partition_by=[F("kind"), F("shot_id")], order_by=F("created_at").desc())
    return list(
        Task.objects.filter(project_id=project_id, hidden=False)
        .annotate(newest=newest)
        .filter(newest=1)
        .order_by("-created_at")
        .prefetch_related("parents")
    )


def queues_served() -> dict[str, dict[str, object]]:
    """Per queue: how many worker processes are alive now, the task kinds it runs, and how long
    a task of each kind has taken here lately (what the editor's estimate is made of)."""
    alive = live_workers()
    typical = typical_seconds()
    served = {queue: [kind.name for kind in kinds(queue=queue)] for queue in QUEUES}
    return {
        queue: {
            "workers": len(alive.get(queue, ())),
            "kinds": names,
            "typicalSeconds": {name: typical[name] for name in names if name in typical},
        }
        for queue, names in served.items()
    }


def typical_seconds(sample: int = 50) -> dict[str, float]:
    """The median run time (claim to finish) of the last ``sample`` finished tasks of each kind
    on this installation, kept a minute in the cache."""
    cached = cache.get("storyvideo:typical-seconds")
    if cached is not None:
        return dict(cached)
    typical = {}
    for kind in kinds():
        runs = Task.objects.filter(kind=kind.name, status=Task.Status.FINISHED, started_at__isnull=False)
        times = runs.order_by("-finished_at").values_list("started_at", "finished_at")[:sample]
        seconds = [(end - start).total_seconds() for start, end in times if start and end]
        if seconds:
            typical[kind.name] = round(statistics.median(seconds), 2)
    cache.set("storyvideo:typical-seconds", typical, 60)
    return typical
