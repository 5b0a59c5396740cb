"""What shots need of the film they belong to, as a typed interface.

Editing a shot sets off work beyond the shot: a new picture, clip or voice, a new render of the
film, under the project's lock, for a person allowed to edit that project. That is the film's
domain: ``projects.film.ProjectFilm`` implements :class:`Film`, and the composition root binds it
at start-up (``storyvideo.apps``). So ``shots`` never imports ``projects``: a shot knows its
project only through its foreign key, and a call such as ``film().shots_regenerate(...)`` leads
to the method below (its implementation: ``ProjectFilm``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from core.access import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.models import QuerySet

    from shots.models import Shot
    from shots.stages import Stage
    from tasks.models import Task


class FilmProject(Protocol):
    """What shots read of a project (``projects.models.Project``)."""

    pk: Any
    id: uuid.UUID
    animate: bool
    subtitle_speakers: bool
    voice: str

    @property
    def shots(self) -> Any: ...

    @property
    def characters(self) -> Any: ...


class Film(Protocol):
    def project_get(
        self, *, user: AbstractBaseUser | AnonymousUser, project_id: object, role: Role = Role.EDITOR
    ) -> FilmProject:
        """The user's project, where they have at least ``role`` on it; else 404 or 403."""
        ...

    def project_lock(self, *, project_id: uuid.UUID) -> FilmProject:
        """Lock the project's row for the transaction: the first lock of every storyboard change."""
        ...

    def shots_regenerate(
        self, *, shots: Iterable[Shot], stages: set[Stage], new: bool = False, explicit: bool = False
    ) -> list[Task]:
        """Queue stages of shots and what is made from them, superseding their in-flight work (and
        a new render, if the film had one)."""
        ...

    def project_recompose_if_rendered(self, *, project: FilmProject) -> Task | None:
        """After an edit that changes only the composition: a new render, if the film had one."""
        ...

    def rendering(self, *, project_ids: QuerySet[Any, Any]) -> bool:
        """Whether a render of one of the projects is under way (it may be reading shots' files)."""
        ...


_film: Film | None = None


def bind(implementation: Film) -> None:
    global _film
    _film = implementation


def film() -> Film:
    if _film is None:
        raise RuntimeError("No film is bound for shots: storyvideo.apps binds projects.film.ProjectFilm.")
    return _film
