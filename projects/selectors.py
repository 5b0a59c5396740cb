from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from projects.models import Character, Project
from shots.models import Shot


def project_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Project]:
    """The projects this user owns, most recently changed first."""
    return Project.objects.filter(owner_id=user.pk).order_by("-updated_at")


def project_get(*, user: AbstractBaseUser | AnonymousUser, project_id: object) -> Project:
    """The user's project, or 404 (also for another user's project: its existence stays private)."""
    return get_object_or_404(project_list(user=user), pk=project_id)


def project_storyboard(*, user: AbstractBaseUser | AnonymousUser, project_id: object) -> Project:
    """The project with its characters and ordered shots prefetched, in a fixed number of queries."""
    shots = Shot.objects.order_by("order", "created_at").prefetch_related("characters")
    characters = Character.objects.prefetch_related("shots")
    queryset = project_list(user=user).prefetch_related(
        Prefetch("shots", queryset=shots), Prefetch("characters", queryset=characters)
    )
    return get_object_or_404(queryset, pk=project_id)


def character_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Character]:
    return Character.objects.filter(project__owner_id=user.pk).prefetch_related("shots")


def character_get(*, user: AbstractBaseUser | AnonymousUser, character_id: object) -> Character:
    return get_object_or_404(character_list(user=user), pk=character_id)


def project_lock(*, project_id: uuid.UUID) -> Project:
    """Lock a project's row for the rest of the transaction. Every change to a storyboard takes
    its locks in one order: the project, then its characters or shots."""
    return Project.objects.select_for_update().get(pk=project_id)
