from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404

from inference.engines import Fallback
from inference.usage import AMOUNTS
from storyvideo import access
from storyvideo.access import Role
from tasks.models import Quota, Task
from tasks.queues import INFERENCE, MEDIA, QUEUE_FOR_KIND, live_workers


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
    queryset = Task.objects.filter(project__in=access.visible_project_ids(user.pk)).prefetch_related("parents")
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
    if role is not Role.VIEWER:
        access.require(user.pk, task.project_id, role)
    return task


def task_list_latest(*, project_id: uuid.UUID) -> list[Task]:
    """The newest task of each (kind, shot) of the project: what a storyboard view shows. The
    database picks them (a window function), so a long task history is never read."""
    newest = Window(RowNumber(), partition_by=[F("kind"), F("shot_id")], order_by=F("created_at").desc())
    return list(
        Task.objects.filter(project_id=project_id)
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
    return {
        queue: {
            "workers": len(alive.get(queue, ())),
            "kinds": [k for k, q in QUEUE_FOR_KIND.items() if q == queue],
            "typicalSeconds": {k: typical[k] for k, q in QUEUE_FOR_KIND.items() if q == queue and k in typical},
        }
        for queue in (INFERENCE, MEDIA)
    }


def typical_seconds(sample: int = 50) -> dict[str, float]:
    """The median run time (claim to finish) of the last ``sample`` finished tasks of each kind
    on this installation, kept a minute in the cache."""
    cached = cache.get("storyvideo:typical-seconds")
    if cached is not None:
        return dict(cached)
    typical = {}
    for kind in QUEUE_FOR_KIND:
        runs = Task.objects.filter(kind=kind, status=Task.Status.FINISHED, started_at__isnull=False)
        times = runs.order_by("-finished_at").values_list("started_at", "finished_at")[:sample]
        seconds = [(end - start).total_seconds() for start, end in times if start and end]
        if seconds:
            typical[kind] = round(statistics.median(seconds), 2)
    cache.set("storyvideo:typical-seconds", typical, 60)
    return typical


STAGE_WORDS = {"storyboard": "storyboard", "image": "pictures", "speech": "voices", "motion": "clips"}


def task_fallback(task: Task) -> Fallback | None:
    """The draft that stood in for the configured back end in this finished task, if one did."""
    result = task.result if isinstance(task.result, dict) else {}
    notes = result.get("notes", []) if task.kind == Task.Kind.STORYBOARD else [result.get("note", "")]
    return next((f for f in map(Fallback.parse, notes) if f is not None), None)


def stages_last_ran(*, tasks: QuerySet[Task]) -> list[dict[str, Any]]:
    """Per model stage, what made its newest finished result among ``tasks`` (as the worker
    recorded it), whether that was a draft standing in, and why."""
    ran = []
    for kind, words in STAGE_WORDS.items():
        task = tasks.filter(kind=kind, status=Task.Status.FINISHED).order_by("-finished_at").first()
        if task is None:
            continue
        fallback = task_fallback(task)
        made_by = f"{task.backend}:{task.model}" if task.model else task.backend
        ran.append(
            {
                "stage": words,
                "runs": fallback.runs if fallback else made_by,
                "spec": fallback.spec if fallback else made_by,
                "draft": fallback is not None,
                "reason": fallback.reason if fallback else "",
                "at": task.finished_at,
            }
        )
    return ran


USAGE_AMOUNTS = ("wallSeconds", "deviceSeconds", *AMOUNTS)


def usage_sum(tasks: QuerySet[Task]) -> dict[str, Any]:
    """What the tasks used, summed: the amounts, device seconds by device kind, the tasks
    counted, the same per kind of task, and the cost where USAGE_PRICES gives prices."""
    totals: dict[str, float] = dict.fromkeys(USAGE_AMOUNTS, 0.0)
    by_device: dict[str, float] = {}
    by_kind: dict[str, dict[str, float]] = {}
    count = 0
    for kind, usage in tasks.values_list("kind", "usage"):
        count += 1
        kind_totals = by_kind.setdefault(kind, dict.fromkeys(USAGE_AMOUNTS, 0.0))
        for key in USAGE_AMOUNTS:
            amount = float((usage or {}).get(key, 0) or 0)
            totals[key] += amount
            kind_totals[key] += amount
        device = str((usage or {}).get("device", "") or "")
        if device:
            family = "cuda" if device.startswith("cuda") else device
            by_device[family] = by_device.get(family, 0.0) + float((usage or {}).get("wallSeconds", 0) or 0)
    rounded = {key: round(value, 3) for key, value in totals.items()}
    return {
        "tasks": count,
        **rounded,
        "secondsByDevice": {key: round(value, 3) for key, value in sorted(by_device.items())},
        "byKind": {k: {key: round(v, 3) for key, v in values.items()} for k, values in sorted(by_kind.items())},
        "cost": usage_cost(rounded, by_device),
        "currency": settings.USAGE_CURRENCY,
    }


def usage_cost(totals: dict[str, float], by_device: dict[str, float]) -> float | None:
    """The price of what was used (USAGE_PRICES), or None when no prices are set."""
    prices = settings.USAGE_PRICES
    if not prices:
        return None
    amounts = {
        "cuda_hour": by_device.get("cuda", 0.0) / 3600,
        "cpu_hour": by_device.get("cpu", 0.0) / 3600,
        "tokens_in_million": totals["tokensIn"] / 1e6,
        "tokens_out_million": totals["tokensOut"] / 1e6,
        "image": totals["images"],
        "audio_minute": totals["audioSeconds"] / 60,
        "video_minute": totals["videoSeconds"] / 60,
    }
    return round(sum(amounts[key] * price for key, price in prices.items()), 6)
