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

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from rq.timeouts import JobTimeoutException

from inference.errors import CancelledError, EngineError
from storyvideo.tracing import trace
from tasks import services
from tasks.models import Task

logger = logging.getLogger("storyvideo.tasks")


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ProgressReporter:
    """The engines' progress callback. Writes the row (and so publishes) at most a few times a
    second, and is where a cancelled or superseded task is noticed: it raises CancelledError,
    so an engine stops between two steps."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.last_write = 0.0
        self.last_percent = -1

    def __call__(self, fraction: float, message: str) -> None:
        percent = int(max(0.0, min(1.0, fraction)) * 100)
        now = time.monotonic()
        if percent < 100 and now - self.last_write < settings.TASK_PROGRESS_MIN_INTERVAL_S:
            return
        if percent == self.last_percent and now - self.last_write < 1.0:
            return
        self.last_write, self.last_percent = now, percent
        if not services.task_progress(task=self.task, progress=min(percent, 99), message=message):
            raise CancelledError(f"Task {self.task.id} is no longer this attempt's to run.")


class Heartbeat(threading.Thread):
    """Touches the row while the job runs, so the reconciler can tell a live job from a dead one."""

    def __init__(self, task: Task) -> None:
        super().__init__(name=f"heartbeat-{task.id}", daemon=True)
        self.task = task
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.TASK_HEARTBEAT_S):
                if not services.task_heartbeat(task=self.task):
                    return
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def run_task(task_id: str) -> str:
    """Claim the task, run its engine, attach the result, or record why not. Returns the
    status the task ended this run in (for RQ's result and the logs)."""
    from tasks.handlers import HANDLERS, SupersededError
    from tasks.pipeline import project_status_refresh

    close_old_connections()
    task = services.task_claim(task_id=uuid.UUID(task_id), worker=worker_identity())
    if task is None:
        logger.info("Task %s: nothing to claim (taken, cancelled or backing off)", task_id)
        return "skipped"
    with trace(task.trace_id or "-"):
        logger.info("Task %s (%s) attempt %d of %d started", task.id, task.kind, task.attempt, task.max_attempts)
        heartbeat = Heartbeat(task)
        heartbeat.start()
        outcome = "finished"
        try:
            handler = HANDLERS[task.kind]
            output = handler.run(task, ProgressReporter(task))
            with transaction.atomic():
                handler.apply(task, output)
            logger.info("Task %s finished", task.id)
        except SupersededError:
            outcome = _discard(task)
        except CancelledError:
            outcome = "cancelled"
            logger.info("Task %s stopped: cancelled or superseded while running", task.id)
        except EngineError as exc:
            outcome = services.task_fail(task=task, error=str(exc), permanent=exc.permanent)
            logger.warning("Task %s failed (%s): %s", task.id, "permanent" if exc.permanent else "transient", exc)
        except JobTimeoutException:
            error = f"Timed out after {task.timeout_s} s."
            outcome = services.task_fail(task=task, error=error, permanent=False)
            logger.warning("Task %s: %s", task.id, error)
        except Exception as exc:  # an unexpected error is taken as transient: retried, then failed
            outcome = services.task_fail(task=task, error=f"{type(exc).__name__}: {exc}", permanent=False)
            logger.exception("Task %s raised", task.id)
        finally:
            heartbeat.stop()
        if outcome != "pending":
            project_status_refresh(project_id=task.project_id)
        return outcome


def _discard(task: Task) -> str:
    """The output is for an outdated version: end the task without attaching anything."""
    message = "Superseded by a newer edit; its result was discarded."
    services.task_discard(task=task, message=message)
    logger.info("Task %s: %s", task.id, message)
    return "cancelled"
