"""Who may do what with a project: its owner, and the people it is shared with.

The rule is the film's: ``projects.access.ProjectAccessRules`` implements :class:`ProjectAccess`,
and the composition root binds it at start-up (``storyvideo.apps``); shots and tasks ask it
here (``project_access().role_of(...)`` leads to the method below), so they never import
``projects``. A project nobody let you see is "not found" (404: its existence stays private);
one you may see but not change is "forbidden" (403), saying why.
"""

from __future__ import annotations

import enum
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import PermissionDenied
from django.http import Http404

if TYPE_CHECKING:
    from django.db.models import QuerySet


class Role(enum.IntEnum):
    """What a user may do with a project; each role may do all that the ones below it may."""

    VIEWER = 1  # see the storyboard, play, download
    EDITOR = 2  # change the storyboard and make media
    OWNER = 3  # share, delete, set the webhook

    @property
    def label(self) -> str:
        return self.name.lower()


class ProjectAccess(Protocol):
    def visible_project_ids(self, user_id: int | None) -> QuerySet[Any, Any]:
        """The ids of the projects the user may see (a queryset of ids, for ``pk__in``)."""
        ...

    def role_of(self, user_id: int | None, project_id: uuid.UUID | str) -> Role | None:
        """The user's role on the project, or None where it is not shared with them."""
        ...

    def owner_of(self, user_id: int | None, keyword: str, value: object) -> int | None:
        """Who owns the project of an object named by a route's keyword (``project_id``,
        ``shot_id``, ``character_id``, ``task_id``) and its value, where the user may see it; else
        None. Work asked for on a shared project is the owner's: it counts against the owner's
        allowance."""
        ...

    def media_generation(self, project_id: str) -> int | None:
        """The generation of the project's media links (``core.media``), or None where there is
        no such project."""
        ...


_bound: ProjectAccess | None = None


def bind(implementation: ProjectAccess) -> None:
    global _bound
    _bound = implementation


def project_access() -> ProjectAccess:
    if _bound is None:
        raise RuntimeError("No project access rules are bound: storyvideo.apps binds projects.access.")
    return _bound


def require(user_id: int | None, project_id: uuid.UUID | str, role: Role) -> Role:
    """The user's role on the project when it is at least ``role``; else 404 (not shared with
    them) or 403 (shared, with a lesser role)."""
    have = project_access().role_of(user_id, project_id)
    if have is None:
        raise Http404("No such project.")
    check(have, role)
    return have


def check(have: Role, role: Role) -> None:
    """403, saying why, unless ``have`` is at least ``role``."""
    if have < role:
        if role is Role.OWNER:
            raise PermissionDenied("Only the project's owner may do this.")
        raise PermissionDenied(
            "This project is shared with you as a viewer: you may watch and download it, not change it. "
            "Ask its owner to make you an editor."
        )
