"""The job RQ runs: ``run_task(task_id)``. It receives an id and nothing else.

Safe to run twice: the claim is a conditional update, so a second copy of the job (a
re-enqueue after a Redis restart, a reconciler racing a slow worker) finds nothing to claim
and exits, and a result is attached only by the attempt that still owns the task.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.db.models import Q
from rq.timeouts import JobTimeoutException

from core.storage import atomic_with_files, work_dir_remove
from core.tracing import trace
from tasks import services
from tasks.models import Task
from tasks.registry import KINDS, Kind, SupersededError, TaskStoppedError, tasks_settled, tasks_started

logger = logging.getLogger("storyvideo.tasks")
T = TypeVar("T")

# Set when this process is asked to stop (SIGTERM, SIGINT: a deploy, a container stop): the
# running job stops at its next progress report and hands its task back to the queue.
stopping = threading.Event()
# The kind of the job this process is running, if any: what to stop when the worker stops.
_running: Kind | None = None


def stop() -> None:
    """The worker is stopping: the running job hands its task back at its next progress report,
    and what it started outside this process (ffmpeg) is ended now, after the flag is set, so
    that its end is not taken for the task's failure."""
    stopping.set()
    running = _running
    if running is not None:
        running.policy.stop()


def reconnecting(call: Callable[[], T]) -> T:
    """Run a database call; when the connection was cut under it (a PostgreSQL restart, a
    failover, a proxy's idle cut), open a new one and run the call once more. Inside a
    transaction the whole transaction is lost, so there the error goes to its caller."""
    try:
        return call()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block or connection.is_usable():
            raise
        logger.warning("The database connection was cut; reconnecting")
        connection.close()
        return call()


class WorkerStoppingError(Exception):
    """Raised at a progress report once the worker is stopping."""


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ProgressReporter:
    """The engines' progress callback. Writes the row (and so publishes) at most a few times a
    second, and is where a cancelled or superseded task is noticed: it raises TaskStoppedError, so
    the work stops between two steps."""

    def __init__(self, task: Task, mates: list[Task] | None = None) -> None:
        self.task = task
        self.mates = mates or []  # tasks batched with this one: their rows follow its progress
        self.last_write = 0.0
        self.last_percent = -1

    def __call__(self, fraction: float, message: str) -> None:
        if stopping.is_set():
            raise WorkerStoppingError(f"Task {self.task.id}: the worker is stopping.")
        percent = int(max(0.0, min(1.0, fraction)) * 100)
        now = time.monotonic()
        if percent < 100 and now - self.last_write < settings.TASK_PROGRESS_MIN_INTERVAL_S:
            return
        if percent == self.last_percent and now - self.last_write < 1.0:
            return
        self.last_write, self.last_percent = now, percent
        for task in [self.task, *self.mates]:  # a cancelled mate is discarded when its result is attached
            written = reconnecting(
                partial(services.task_progress, task=task, progress=min(percent, 99), message=message)
            )
            if task is self.task and not written:
                raise TaskStoppedError(f"Task {self.task.id} is no longer this attempt's to run.")


class Heartbeat(threading.Thread):
    """Touches the row while the job runs, so the reconciler can tell a live job from a dead one."""

    def __init__(self, task: Task) -> None:
        super().__init__(name=f"heartbeat-{task.id}", daemon=True)
        self.task = task
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.TASK_HEARTBEAT_S):
                if not reconnecting(lambda: services.task_heartbeat(task=self.task)):
                    return
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def run_task(task_id: str) -> str:
    """Claim the task, run its engine, attach the result, or record why not. Returns the
    status the task ended this run in (for RQ's result and the logs).

    A kind that batches (keyframes, speech) also claims other pending tasks of its kind in the
    same project, up to its batch size, and runs them in one engine call; their own jobs later
    find nothing to claim. A task of a kind no app registers (a row left by another version)
    fails at once, saying so."""
    close_old_connections()
    task = reconnecting(lambda: services.task_claim(task_id=uuid.UUID(task_id), worker=worker_identity()))
    if task is None:
        logger.info("Task %s: nothing to claim (taken, cancelled or backing off)", task_id)
        return "skipped"
    kind = KINDS.get(task.kind)
    if kind is None:
        error = f"No task kind {task.kind!r} is registered on this worker; is its app installed?"
        logger.error("Task %s: %s", task.id, error)
        outcome = reconnecting(lambda: services.task_fail(task=task, error=error, permanent=True))
        reconnecting(lambda: tasks_settled(task.project_id))
        return str(outcome)
    mates = _claim_mates(task, kind.batch_size() - 1)
    if task.project_id is not None:  # its project may have been waiting: it says what runs now
        reconnecting(lambda: tasks_started(task.project_id))
    with trace(task.trace_id or "-"):
        if mates:
            logger.info("Task %s batched with %s", task.id, ", ".join(str(m.id) for m in mates))
        return _run(kind, [task, *mates])[0]


def _claim_mates(task: Task, limit: int) -> list[Task]:
    if limit <= 0:
        return []
    candidates = (
        Task.objects.filter(kind=task.kind, status=Task.Status.PENDING)
        .filter(Q(project_id=task.project_id) if task.project_id else Q(project__isnull=True, owner_id=task.owner_id))
        .exclude(id=task.id)
        .order_by("created_at")
        .values_list("id", flat=True)[: limit * 2]
    )
    mates = []
    for candidate in candidates:
        mate = services.task_claim(task_id=candidate, worker=worker_identity())
        if mate is not None:
            mates.append(mate)
        if len(mates) == limit:
            break
    return mates


def _run(kind: Kind, tasks: list[Task]) -> list[str]:
    """Run one task, or a batch of one kind (the first task's progress speaks for all)."""
    global _running
    first = tasks[0]
    for task in tasks:
        logger.info("Task %s (%s) attempt %d of %d started", task.id, task.kind, task.attempt, task.max_attempts)
    heartbeats = [Heartbeat(task) for task in tasks]
    for heartbeat in heartbeats:
        heartbeat.start()
    outcomes: dict[uuid.UUID, str] = {}
    _running = kind
    try:
        reporter = ProgressReporter(first, mates=tasks[1:])
        with _metered(kind, tasks):
            outputs = kind.policy.in_parts(lambda batch: kind.run_batch(batch, reporter), tasks)
        for task, output in zip(tasks, outputs, strict=True):
            if isinstance(output, Exception):  # this task's error alone; the batch's others stand
                _settle_error(kind, output, [task], outcomes)
                continue
            try:
                if output is None:
                    raise SupersededError
                reconnecting(partial(_attach, kind, task, output))
                outcomes[task.id] = "finished"
                logger.info("Task %s finished", task.id)
            except SupersededError:
                outcomes[task.id] = _discard(task)
    except Exception as exc:
        if stopping.is_set():  # whatever broke (an ffmpeg stopped with us) is not the task's fault
            logger.info("Task %s handed back: this worker is stopping", first.id)
            _settle(tasks, outcomes, lambda task: services.task_hand_back(task=task))
        else:
            _settle_error(kind, exc, tasks, outcomes)
    finally:
        _running = None
        for heartbeat in heartbeats:
            heartbeat.stop()
        for task in tasks:  # what the attempt wrote is stored by now, or of no use
            work_dir_remove(str(task.id))
    if any(outcome != "pending" for outcome in outcomes.values()):  # ended, or held up: the project says so
        reconnecting(lambda: tasks_settled(first.project_id))
    if first.owner_id is not None:  # the owner's place on the queue is free: their next task
        reconnecting(lambda: services.tasks_enqueue_due(owner_id=first.owner_id))
    return [outcomes[task.id] for task in tasks]


@contextmanager
def _metered(kind: Kind, tasks: list[Task]) -> Iterator[None]:
    """Record what the attempt used on its tasks (a batch's shared evenly), however it ends."""
    started = time.monotonic()
    with kind.policy.metered() as usage:
        try:
            yield
        finally:
            wall = time.monotonic() - started
            share: dict[str, Any] = {key: value / len(tasks) for key, value in usage.amounts().items()}
            share["wallSeconds"] = wall / len(tasks)
            device = usage.device or "cpu"
            share["deviceSeconds"] = share["wallSeconds"] if device.startswith("cuda") else 0.0
            for task in tasks:
                try:
                    reconnecting(partial(services.task_add_usage, task=task, usage={**share, "device": device}))
                except Exception:  # what was used is worth a log line, never the task's outcome
                    logger.exception("Task %s: its usage could not be recorded", task.id)


def _attach(kind: Kind, task: Task, output: Any) -> None:
    with atomic_with_files():  # a superseded result, or one cut short, leaves no stored file behind
        kind.apply(task, output)


def _settle(tasks: list[Task], outcomes: dict[uuid.UUID, str], outcome: Callable[[Task], str]) -> None:
    """Give each task of the attempt that has no outcome yet this one."""
    for task in tasks:
        if task.id not in outcomes:
            outcomes[task.id] = reconnecting(partial(outcome, task))


def _settle_error(kind: Kind, exc: Exception, tasks: list[Task], outcomes: dict[uuid.UUID, str]) -> None:
    """Record why the attempt ended: discarded, cancelled, retried or failed (what the kind's
    policy makes of the error: permanent, transient, or unexpected and so transient)."""
    first = tasks[0]

    def fail_rest(error: str, *, permanent: bool, waits: bool = False) -> None:
        _settle(
            tasks, outcomes, lambda task: services.task_fail(task=task, error=error, permanent=permanent, waits=waits)
        )

    if isinstance(exc, SupersededError):
        _settle(tasks, outcomes, _discard)
    elif isinstance(exc, TaskStoppedError):
        logger.info("Task %s stopped: cancelled or superseded while running", first.id)
        outcomes[first.id] = "cancelled"
        fail_rest("Its batch was stopped; trying again.", permanent=False)
    elif isinstance(exc, JobTimeoutException):
        logger.warning("Task %s: timed out after %s s", first.id, first.timeout_s)
        fail_rest(f"Timed out after {first.timeout_s} s.", permanent=False)
    elif (failure := kind.policy.failure(exc)) is not None:
        message, permanent, waits = failure
        how = "waits" if waits else "permanent" if permanent else "transient"
        logger.warning("Task %s failed (%s): %s", first.id, how, message)
        fail_rest(message, permanent=permanent, waits=waits)
    else:  # an unexpected error is taken as transient: retried, then failed
        logger.error("Task %s raised", first.id, exc_info=exc)
        fail_rest(f"{type(exc).__name__}: {exc}", permanent=False)


def _discard(task: Task) -> str:
    """The output is for an outdated version: end the task without attaching anything."""
    services.task_discard(task=task)
    logger.info("Task %s: superseded by a newer edit; its result was discarded.", task.id)
    return "cancelled"
