"""A no-op image kind for the task-engine benchmark: the engine's own overhead only. Put by
``bench.settings``' app in place of the real one."""

from __future__ import annotations

from typing import Any

from shots.kinds import ImageWork
from tasks.models import Task
from tasks.registry import Progress, replace
from tasks.services import task_finish


class NoopImageWork(ImageWork):
    def batch_size(self) -> int:
        return 1

    def run_batch(self, tasks: list[Task], progress: Progress) -> list[Any]:
        return [{} for _ in tasks]

    def apply(self, task: Task, output: Any) -> str:
        task_finish(task=task, result={"backend": "noop"})
        return "noop"


def register_noop_handlers() -> None:
    replace(NoopImageWork())
