"""A no-op image handler for the task-engine benchmark: the engine's own overhead only."""

from __future__ import annotations

from typing import Any

from inference.types import Progress
from tasks.handlers import Handler
from tasks.models import Task
from tasks.services import task_finish


def noop_run(task: Task, progress: Progress) -> None:
    return None


def noop_apply(task: Task, output: Any) -> str:
    task_finish(task=task, result={"backend": "noop"})
    return "noop"


HANDLERS = {Task.Kind.IMAGE: Handler(noop_run, noop_apply)}
