"""Fault injection for the engine tests, registered over the real image handler in worker
processes that run with ``tests.settings_faults``. An image task whose shot prompt starts with ``test:`` misbehaves as
the prompt says; any other runs the real handler.

- ``test:sleep:N``   reports progress every 0.1 s for N seconds (first attempt only), then succeeds
- ``test:quiet:N``   sleeps N seconds without reporting progress, then succeeds
- ``test:flaky:N``   fails with a transient error on the first N attempts, then succeeds
- ``test:fail``      fails with a permanent error
- ``test:hang``      sleeps far past any timeout
- ``test:oom:N``     runs out of (GPU) memory in a batch of more than N keyframes (N = 0: always)
"""

from __future__ import annotations

import time
from dataclasses import replace

from inference.errors import EngineError
from inference.types import Progress
from projects.handlers import StageOutput, image_batch, image_run
from tasks.models import Task
from tasks.registry import SupersededError, handler_for, register


def faulty_image_run(task: Task, progress: Progress) -> StageOutput:
    assert task.shot is not None
    prompt = task.shot.prompt
    if prompt.startswith("test:"):
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
    return image_run(task, progress)


def faulty_image_batch(tasks: list[Task], progress: Progress) -> list[StageOutput | None]:
    limits = [int(t.shot.prompt.split(":")[2]) for t in tasks if t.shot and t.shot.prompt.startswith("test:oom:")]
    if limits and len(tasks) > min(limits):
        import torch

        raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate 2.00 GiB for a batch of {len(tasks)}")
    if any(t.shot and t.shot.prompt.startswith("test:") and not t.shot.prompt.startswith("test:oom:") for t in tasks):
        return [_one(task, progress) for task in tasks]  # each misbehaves as its prompt says
    return image_batch(tasks, progress)


def _one(task: Task, progress: Progress) -> StageOutput | None:
    try:
        return faulty_image_run(task, progress)
    except SupersededError:  # as image_batch answers for a shot edited before its turn
        return None


def register_faulty_handlers() -> None:
    real = handler_for(Task.Kind.IMAGE)  # its apply and batch size stay
    register(Task.Kind.IMAGE, replace(real, run=faulty_image_run, batch=faulty_image_batch))
