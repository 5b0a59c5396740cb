from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from tasks.models import Task


def task_list(
    *,
    user: AbstractBaseUser | AnonymousUser,
    project_id: uuid.UUID | None = None,
    shot_id: uuid.UUID | None = None,
    status: str | None = None,
) -> QuerySet[Task]:
    queryset = Task.objects.filter(project__owner_id=user.pk).prefetch_related("parents")
    if project_id is not None:
        queryset = queryset.filter(project_id=project_id)
    if shot_id is not None:
        queryset = queryset.filter(shot_id=shot_id)
    if status is not None:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at")


def task_get(*, user: AbstractBaseUser | AnonymousUser, task_id: object) -> Task:
    return get_object_or_404(task_list(user=user), pk=task_id)


def task_list_latest(*, project_id: uuid.UUID) -> list[Task]:
    """The newest task of each (kind, shot) of the project: what a storyboard view shows."""
    latest: dict[tuple[str, object], Task] = {}
    for task in Task.objects.filter(project_id=project_id).order_by("-created_at").prefetch_related("parents"):
        latest.setdefault((task.kind, task.shot_id), task)
    return list(latest.values())
