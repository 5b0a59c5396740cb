"""What the engine runs for each kind of task, registered at start-up by the apps that own the
kinds (the engine itself knows no kind): ``run`` calls an engine with plain values (slow, outside
any transaction); ``apply`` attaches the output inside the transaction that finishes the task;
``batch``, where given, runs several tasks of the kind in one engine call.

Apps also register what to do once a job has settled its tasks (``on_tasks_settled``: the film
domain derives its project's status there). Who may see a project is ``storyvideo.access``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inference.types import Progress

if TYPE_CHECKING:
    from tasks.models import Task


class SupersededError(Exception):
    """The output is for an outdated version of what it was made for: discard it."""


@dataclass(frozen=True)
class Handler:
    run: Callable[[Task, Progress], Any]
    apply: Callable[[Task, Any], str]  # returns a word for the logs
    # Runs several tasks of the kind in one engine call; an output of None means "superseded",
    # an exception is that task's error alone.
    batch: Callable[[list[Task], Progress], list[Any]] | None = None
    batch_size: Callable[[], int] = lambda: 1  # how many tasks a batch takes at most


HANDLERS: dict[str, Handler] = {}
_SETTLED: list[Callable[[uuid.UUID], None]] = []


def register(kind: str, handler: Handler) -> None:
    """Make ``kind`` runnable; a later registration replaces an earlier one (tests and benchmarks
    register their own handlers over the real ones from their own settings' apps)."""
    HANDLERS[kind] = handler


def handler_for(kind: str) -> Handler:
    try:
        return HANDLERS[kind]
    except KeyError:
        raise LookupError(f"No handler is registered for {kind!r} tasks; is its app installed?") from None


def on_tasks_settled(callback: Callable[[uuid.UUID], None]) -> None:
    """Call ``callback(project_id)`` after a job has finished, failed or discarded its tasks."""
    if callback not in _SETTLED:
        _SETTLED.append(callback)


def tasks_settled(project_id: uuid.UUID) -> None:
    for callback in _SETTLED:
        callback(project_id)
