"""Fault injection for the engine tests, put in place of the real image kind in worker processes
that run with ``tests.settings_faults``. An image task whose shot prompt starts with ``test:``
misbehaves as the prompt says; any other runs the real kind's work.

- ``test:sleep:N``   reports progress every 0.1 s for N seconds (first attempt only), then succeeds
- ``test:quiet:N``   sleeps N seconds without reporting progress, then succeeds
- ``test:flaky:N``   fails with a transient error on the first N attempts, then succeeds
- ``test:fail``      fails with a permanent error
- ``test:hang``      sleeps far past any timeout
- ``test:oom:N``     runs out of (GPU) memory in a batch of more than N keyframes (N = 0: always)
"""

from __future__ import annotations

import time

from inference.errors import EngineError
from shots.kinds import ImageWork, StageOutput
from tasks.models import Task
from tasks.registry import Progress, replace


class FaultyImageWork(ImageWork):
    """The real image kind (its apply, batch size and policy stay), misbehaving on request."""

    def run_batch(self, tasks: list[Task], progress: Progress) -> list[StageOutput | None]:
        limits = [int(t.shot.prompt.split(":")[2]) for t in tasks if t.shot and t.shot.prompt.startswith("test:oom:")]
        if limits and len(tasks) > min(limits):
            import torch

            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate 2.00 GiB for a batch of {len(tasks)}")
        if any(_misbehaving(t) for t in tasks):
            return [self._one(task, progress) for task in tasks]  # each misbehaves as its prompt says
        return super().run_batch(tasks, progress)

    def _one(self, task: Task, progress: Progress) -> StageOutput | None:
        self._misbehave(task, progress)
        [output] = super().run_batch([task], progress)  # None: superseded, as the real batch answers
        return output

    @staticmethod
    def _misbehave(task: Task, progress: Progress) -> None:
        assert task.shot is not None
        prompt = task.shot.prompt
        if not prompt.startswith("test:"):
            return
        _, behaviour, *arg = prompt.split(":")
        if behaviour == "sleep" and task.attempt == 1:
            deadline = time.monotonic() + float(arg[0])
            while time.monotonic() < deadline:
                progress(1 - (deadline - time.monotonic()) / float(arg[0]), "sleeping")
                time.sleep(0.1)
        elif behaviour == "quiet":
            time.sleep(float(arg[0]))
        elif behaviour == "flaky" and task.attempt <= int(arg[0]):
            raise EngineError(f"flaky failure on attempt {task.attempt}", permanent=False)
        elif behaviour == "fail":
            raise EngineError("this prompt can never be drawn", permanent=True)
        elif behaviour == "hang":
            time.sleep(3600)


def _misbehaving(task: Task) -> bool:
    prompt = task.shot.prompt if task.shot else ""
    return prompt.startswith("test:") and not prompt.startswith("test:oom:")


def register_faulty_handlers() -> None:
    replace(FaultyImageWork())
