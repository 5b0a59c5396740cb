"""The reconciler: no task stays unfinished forever, nothing finishes twice.

Run at every worker's start and then periodically (any number of copies may run at once:
every change it makes is a conditional update). It repairs three things:

- a ``processing`` task whose job is dead (its process is gone, its heartbeat is stale, or it
  ran past its timeout) goes back to ``pending`` while attempts remain, else ``failed``, and
  what follows a settled task follows (``tasks_settled``: the project's status, its webhook);
- a ``pending`` task whose job is gone from Redis (a Redis restart, a lost enqueue), or was taken
  by a worker that died before claiming the task, loses its job id, so the next enqueue pass puts
  it on its queue again;
- a ``blocked`` task whose parents have all ended is unblocked or cancelled;
- a scratch folder on this machine left by a job that died (its task is no longer running)
  is removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.worker import Worker

from core.redis import get_redis
from core.storage import work_dir_remove, work_dirs_stale
from tasks import services
from tasks.models import Task
from tasks.queues import get_queue
from tasks.registry import kinds, tasks_settled

logger = logging.getLogger("storyvideo.reconciler")
S = Task.Status
LIVE_JOB_STATES = {"queued", "started", "scheduled", "deferred"}


@dataclass
class Report:
    requeued: int = 0
    failed: int = 0
    reenqueued: int = 0
    unblocked: int = 0
    folders_removed: int = 0
    tidied: int = 0  # what kinds released (Kind.tidy)


def _process_gone(worker: str) -> bool:
    """True when the worker names a process on this host that no longer exists."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _dead_reason(task: Task, now: object) -> str | None:
    assert task.started_at is not None
    if task.worker and _process_gone(task.worker):
        return f"the worker process running it ({task.worker}) is gone"
    if task.heartbeat_at and task.heartbeat_at < now - timedelta(seconds=settings.TASK_STALE_S):  # type: ignore[operator]
        return f"its heartbeat stopped at {task.heartbeat_at:%H:%M:%S}"
    if task.started_at < now - timedelta(seconds=task.timeout_s + 60):  # type: ignore[operator]
        return f"it ran past its {task.timeout_s} s timeout"
    return None


def _job_alive(job_id: str, now: datetime) -> bool:
    """Whether the job of a pending task is still to run it: on its queue, or taken by a worker
    that is still there to claim the task (which a job does as it starts). A worker killed after
    taking a job and before its task was claimed leaves the job taken, and RQ's own clean-up sees
    to it only at its next maintenance, up to ten minutes later: until then the task would wait,
    and with it its owner's place on the queue. Running the task's job twice is harmless (the
    claim is conditional), so a job is let go after TASK_STALE_S in doubt."""
    try:
        job = Job.fetch(job_id, connection=get_redis())
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status == "started":
        return not _starter_gone(job, now)
    if status == "queued":
        return not _taken_and_left(job, now)
    return status in LIVE_JOB_STATES


def _starter_gone(job: Job, now: datetime) -> bool:
    """A job a worker started whose task is still pending: the worker is gone when its process on
    this host is, when its registration lapsed, or when it started the job TASK_STALE_S ago."""
    if job.started_at is None or job.started_at < now - timedelta(seconds=settings.TASK_STALE_S):
        return True
    registration = f"{Worker.redis_worker_namespace_prefix}{job.worker_name}"
    hostname, pid = cast("list[bytes | None]", get_redis().hmget(registration, ["hostname", "pid"]))
    if hostname is None or pid is None:
        return True
    return _process_gone(f"{hostname.decode()}:{pid.decode()}")


def _taken_and_left(job: Job, now: datetime) -> bool:
    """A queued job that a worker took off its queue (into RQ's intermediate list) and has not
    started: which worker is not recorded, so it is let go TASK_STALE_S after a reconciler first
    saw it there (RQ's own mark, which its clean-up reads too)."""
    taken = get_queue(job.origin).intermediate_queue
    if get_redis().lpos(taken.key, job.id) is None:
        return False
    taken.set_first_seen(job.id)
    first_seen = taken.get_first_seen(job.id)
    return first_seen is not None and first_seen < now - timedelta(seconds=settings.TASK_STALE_S)


def reconcile() -> Report:
    report = Report()
    now = timezone.now()
    settled: set[uuid.UUID | None] = set()
    for task in Task.objects.filter(status=S.PROCESSING):
        reason = _dead_reason(task, now)
        if reason is None:
            continue
        # The same path as a transient error in the job: retried with backoff while attempts
        # remain, else failed with its waiting children cancelled. Conditional on the attempt,
        # so a job that is alive after all cannot be failed twice.
        outcome = services.task_fail(task=task, error=f"The task was interrupted: {reason}.", permanent=False)
        if outcome == S.PENDING:
            report.requeued += 1
        elif outcome == S.FAILED:
            report.failed += 1
            settled.add(task.project_id)
        logger.warning("Task %s %s: %s", task.id, "re-queued" if outcome == S.PENDING else outcome, reason)
    settle = now - timedelta(seconds=settings.TASK_ENQUEUE_SETTLE_S)  # leave just-enqueued tasks alone
    for task in Task.objects.filter(status=S.PENDING, updated_at__lt=settle).exclude(job_id=""):
        if not _job_alive(task.job_id, now) and Task.objects.filter(
            id=task.id, status=S.PENDING, job_id=task.job_id
        ).update(job_id=""):
            report.reenqueued += 1
            logger.warning(
                "Task %s: its job %s is gone (from Redis, or with its worker); queueing it again", task.id, task.job_id
            )
    blocked = list(
        Task.objects.filter(status=S.BLOCKED).exclude(parents__status__in=Task.UNFINISHED).values_list("id", flat=True)
    )
    if blocked:
        with transaction.atomic():
            report.unblocked = len(services.tasks_unblock_ready(task_ids=blocked))
    for project_id in settled:  # as a job does for the tasks it ends
        tasks_settled(project_id)
    services.tasks_enqueue_due()
    report.folders_removed = _remove_dead_work_dirs()
    for kind in kinds():
        try:
            report.tidied += kind.tidy()
        except Exception:  # the next reconcile tries again; the rest of this one stands
            logger.exception("Tidying up after %s work failed", kind.name)
    return report


def _remove_dead_work_dirs() -> int:
    """Scratch folders of tasks not running any more, once quiet for a minute (a task's folder
    is made just after its claim: the minute keeps a fresh one of a running task safe)."""
    stale = work_dirs_stale(older_than_s=60)
    running = {
        str(task_id)
        for task_id in Task.objects.filter(id__in=_uuids(stale), status=S.PROCESSING).values_list("id", flat=True)
    }
    gone = [name for name in stale if name not in running]
    for name in gone:
        work_dir_remove(name)
    return len(gone)


def _uuids(names: list[str]) -> list[uuid.UUID]:
    found = []
    for name in names:
        with contextlib.suppress(ValueError):
            found.append(uuid.UUID(name))
    return found
