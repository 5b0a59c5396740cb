"""A no-op image handler for the task-engine benchmark: the engine's own overhead only. Registered
by ``bench.settings``' app over the real one."""

from __future__ import annotations

from typing import Any

from inference.types import Progress
from tasks.models import Task
from tasks.registry import Handler, register
from tasks.services import task_finish


def noop_run(task: Task, progress: Progress) -> None:
    return None


def noop_apply(task: Task, output: Any) -> str:
    task_finish(task=task, result={"backend": "noop"})
    return "noop"


def register_noop_handlers() -> None:
    register(Task.Kind.IMAGE, Handler(noop_run, noop_apply))
