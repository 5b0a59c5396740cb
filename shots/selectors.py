from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from core import access
from core.access import Role, project_access
from shots.models import Shot


def shot_list(*, project_id: uuid.UUID, approved: bool | None = None) -> QuerySet[Shot]:
    shots = Shot.objects.filter(project_id=project_id)
    if approved is not None:
        shots = shots.filter(approved=approved)
    return shots.order_by("order", "created_at").prefetch_related("characters")


def shot_get(*, user: AbstractBaseUser | AnonymousUser, shot_id: object, role: Role = Role.EDITOR) -> Shot:
    """The shot, where the user has at least ``role`` on its project (an editor's by default;
    reads say ``Role.VIEWER``): 404 where the project is not shared with them, 403 where their
    role is less."""
    queryset = Shot.objects.filter(project__in=project_access().visible_project_ids(user.pk)).select_related("project")
    shot = get_object_or_404(queryset.prefetch_related("characters"), pk=shot_id)
    if role is not Role.VIEWER and shot.project.owner_id != user.pk:
        access.require(user.pk, shot.project_id, role)
    return shot
