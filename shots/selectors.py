from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from shots.models import Shot


def shot_list(*, project_id: uuid.UUID) -> QuerySet[Shot]:
    return Shot.objects.filter(project_id=project_id).order_by("order", "created_at").prefetch_related("characters")


def shot_get(*, user: AbstractBaseUser | AnonymousUser, shot_id: object) -> Shot:
    """The user's shot, or 404 (also for another user's shot)."""
    queryset = Shot.objects.filter(project__owner_id=user.pk).select_related("project")
    return get_object_or_404(queryset.prefetch_related("characters"), pk=shot_id)
