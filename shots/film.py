"""What shots need of the film they belong to.

Editing a shot sets off work beyond the shot: a new picture, clip or voice, a new render of
the film, under the project's lock, for a person allowed to edit that project. That is the
film's domain (``projects``), which registers it here at start-up, as it registers its task
handlers into the task engine. So ``shots`` never imports ``projects``: a shot knows its
project only through its foreign key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tasks.models import Task


@dataclass(frozen=True)
class Film:
    # The user's project, or 404 (who may see and edit a project is the film's rule).
    project_get: Callable[..., Any]
    # Lock the project's row for the transaction: the first lock of every storyboard change.
    project_lock: Callable[..., Any]
    # Queue stages of shots and what is made from them, superseding their in-flight work.
    shots_regenerate: Callable[..., list[Task]]
    # After an edit that changes only the composition: a new render, if the film had one.
    project_recompose_if_rendered: Callable[..., Task | None]


_film: Film | None = None


def register(film: Film) -> None:
    global _film
    _film = film


def film() -> Film:
    if _film is None:
        raise RuntimeError("No film registered for shots: is the projects app installed?")
    return _film
