"""The task engine's writes: create, enqueue, claim, finish, fail, retry, cancel, unblock.

Every transition is a conditional UPDATE on the row (the row is the truth; RQ only carries
the id), so a job run twice, a reconciler racing a worker, or a cancel racing a finish all
end with the task in exactly one final state. Enqueueing and publishing happen after commit.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job

from core.asking import asking_now
from core.errors import ApplicationError
from core.redis import get_redis
from core.tracing import current_trace_id
from tasks import live
from tasks.models import Task
from tasks.queues import get_queue
from tasks.registry import kind_for, kinds
from tasks.throttles import admit

logger = logging.getLogger(__name__)
S = Task.Status
WAITING = "waiting"  # task_fail's word for a task left pending while something outside it holds it up


@transaction.atomic
def task_create(
    *,
    kind: str,
    project: models.Model | None,
    owner_id: int | None = None,
    shot: models.Model | None = None,
    parents: Sequence[Task] = (),
    params: dict[str, Any] | None = None,
    inputs_hash: str = "",
    run_after: datetime | None = None,
) -> Task:
    """Create a task: ``blocked`` while a parent is unfinished, else ``pending`` and enqueued
    after commit. A parent that already failed or was cancelled cancels it at once. A kind that
    no app registered is refused (LookupError) before anything is written; work a person's
    request asks for is admitted against its owner's limits first (``tasks.throttles.admit``).
    With ``run_after`` it is not run before then (``tasks_enqueue_due`` enqueues it). Work outside
    any film has no ``project`` and names its ``owner_id``."""
    declared = kind_for(kind)
    if project is not None:
        owner_id = getattr(project, "owner_id", None)
    elif owner_id is None:
        raise ValueError("A task belongs to a project or, outside any film, to an owner.")
    asking = asking_now()
    if asking is not None and owner_id is not None:
        admit(asking, owner_id)
    dead = [p for p in parents if p.status in (S.FAILED, S.CANCELLED)]
    waiting = any(p.status != S.FINISHED for p in parents)
    task = Task.objects.create(
        kind=kind,
        project_id=project.pk if project is not None else None,
        owner_id=owner_id,
        shot_id=shot.pk if shot is not None else None,
        status=S.CANCELLED if dead else (S.BLOCKED if waiting else S.PENDING),
        **(_parent_ended(dead[0]) if dead else {}),
        finished_at=timezone.now() if dead else None,
        max_attempts=settings.TASK_MAX_ATTEMPTS,
        timeout_s=declared.timeout_s(),
        params=params or {},
        inputs_hash=inputs_hash,
        run_after=run_after,
        trace_id=current_trace_id(),
    )
    if parents:
        task.parents.set(parents)
    task_id = task.id
    if task.status == S.PENDING:
        transaction.on_commit(lambda: task_enqueue(task_id=task_id))
    elif task.status == S.BLOCKED:
        # A parent may finish between our read of it and this commit: look again afterwards.
        transaction.on_commit(lambda: tasks_unblock_ready(task_ids=[task_id]))
    live.publish_task_on_commit(task)
    return task


def task_enqueue(*, task_id: uuid.UUID) -> str | None:
    """Put a pending task that has no job yet on its queue.

    The job id is written to the row (conditionally: only one caller wins) before the job
    exists, so the reconciler can always tell whether the job a pending task points at is
    still in Redis. Returns the job id, or None when the task is not pending, already has a
    job, is backing off, or its owner already has their share of its queue
    (``tasks_enqueue_due`` enqueues it when its time or its turn comes).
    """
    task = Task.objects.filter(id=task_id, status=S.PENDING, job_id="").exclude(run_after__gt=timezone.now()).first()
    if task is None or not _owner_has_a_slot(task):
        return None
    job_id = f"{task_id}.{uuid.uuid4().hex[:8]}"
    if not Task.objects.filter(id=task_id, status=S.PENDING, job_id="").update(job_id=job_id):
        return None
    queue = get_queue(kind_for(task.kind).queue)
    options: dict[str, Any] = {
        "args": (str(task_id),),
        "job_id": job_id,
        "job_timeout": task.timeout_s,
        "result_ttl": 300,
        "failure_ttl": 24 * 3600,
        "description": f"{task.kind} task {task_id}",
        "meta": {"trace_id": task.trace_id},
    }
    try:
        queue.enqueue("tasks.jobs.run_task", **options)
    except redis.RedisError as exc:
        # Redis is away: the task stays pending without a job, and tasks_enqueue_due (every
        # worker, every second) queues it once Redis is back. The request that made it succeeds.
        Task.objects.filter(id=task_id, job_id=job_id).update(job_id="")
        logger.warning(
            "Task %s is kept pending: Redis is unreachable (%s); it is queued when Redis is back", task_id, exc
        )
        return None
    return job_id


def _owner_has_a_slot(task: Task) -> bool:
    """Whether the task's owner has fewer than QUEUE_SLOTS_PER_OWNER tasks on its queue (queued
    or running). Each owner's backlog waits in the database, not in Redis, so a queue holds a
    few tasks of each owner and another owner's first task is never behind a long backlog."""
    if task.owner_id is None:
        return True
    same_queue = [kind.name for kind in kinds(queue=kind_for(task.kind).queue)]
    busy = (
        Task.objects.filter(owner_id=task.owner_id, kind__in=same_queue)
        .filter(models.Q(status=S.PROCESSING) | (models.Q(status=S.PENDING) & ~models.Q(job_id="")))
        .count()
    )
    return busy < settings.QUEUE_SLOTS_PER_OWNER


def tasks_enqueue_due(*, owner_id: int | None = None, limit: int = 100) -> int:
    """Enqueue pending tasks without a job whose backoff has passed (retries, tasks whose job
    the reconciler found missing, and each owner's backlog as their share of the queue frees),
    owner by owner, oldest first. Run every second by each worker's maintenance thread for
    everyone, and as each job ends for its owner (whose place on the queue it freed)."""
    due = Task.objects.filter(status=S.PENDING, job_id="").exclude(run_after__gt=timezone.now())
    owners = [owner_id] if owner_id is not None else due.order_by().values_list("owner_id", flat=True).distinct()
    enqueued = 0
    for owner in list(owners[:limit]):
        for task_id in due.filter(owner_id=owner).order_by("created_at").values_list("id", flat=True)[:limit]:
            if task_enqueue(task_id=task_id) is None:
                break  # this owner's share is full (or the task was taken): the next owner
            enqueued += 1
    return enqueued


def _said(code: str, english: str, **values: Any) -> dict[str, Any]:
    """The fields of a message the engine says itself: its English words, and its code and
    values, from which the reader's interface says it in their language."""
    return {"message": (english % values)[:1000], "message_parts": [{"code": code, **values}]}


def _words(message: str) -> dict[str, Any]:
    """The fields of a message from a job or an engine: its words, and its sentences' codes and
    values where it was made of sentences (``inference.sentences``, read by its attribute: the
    engine imports no engine)."""
    return {"message": message[:1000], "message_parts": list(getattr(message, "parts", []))}


def _parent_ended(parent: Task) -> dict[str, Any]:
    return _said(
        "parent_ended",
        "Cancelled: its parent %(kind)s task %(task)s %(status)s.",
        kind=parent.kind,
        task=str(parent.id),
        status=parent.status,
    )


def task_postpone(*, task: Task, parents: Sequence[Task], run_after: datetime) -> bool:
    """A task that has not started takes more in: it also waits for ``parents`` (blocked while one
    is unfinished) and is not run before ``run_after``. Its queued job, if any, is let go (a job
    runs only a task whose time has come). False when it started or ended meanwhile."""
    unfinished = [parent for parent in parents if parent.status != S.FINISHED]
    with transaction.atomic():
        postponed = Task.objects.filter(id=task.id, status__in=(S.BLOCKED, S.PENDING)).update(
            status=S.BLOCKED if unfinished else S.PENDING, job_id="", run_after=run_after, updated_at=timezone.now()
        )
        if not postponed:
            return False
        task.parents.add(*parents)
        task.refresh_from_db()
        live.publish_task_on_commit(task)
    return True


def task_claim(*, task_id: uuid.UUID, worker: str) -> Task | None:
    """pending -> processing with attempt + 1. None when no row changed: someone else has it,
    it was cancelled, or it is still backing off."""
    now = timezone.now()
    claimed = (
        Task.objects.filter(id=task_id, status=S.PENDING)
        .exclude(run_after__gt=now)
        .update(
            status=S.PROCESSING,
            attempt=F("attempt") + 1,
            started_at=now,
            heartbeat_at=now,
            worker=worker,
            progress=0,
            **_said("started", "Started."),
            error="",
            updated_at=now,
        )
    )
    if not claimed:
        return None
    task = Task.objects.select_related("project", "shot").get(id=task_id)
    live.publish_task(task)
    return task


def _processing(task: Task) -> Any:
    """The row as this attempt claimed it: anything else means the attempt lost its claim."""
    return Task.objects.filter(id=task.id, status=S.PROCESSING, attempt=task.attempt)


def task_progress(*, task: Task, progress: int, message: str) -> bool:
    """Record progress; False when the task is no longer this attempt's (cancelled, re-queued)."""
    now = timezone.now()
    words = _words(message)
    updated = _processing(task).update(progress=max(0, min(100, progress)), **words, heartbeat_at=now, updated_at=now)
    if updated:
        task.progress, task.message, task.message_parts = progress, words["message"], words["message_parts"]
        live.publish_task(task)
    return bool(updated)


def _inputs_key(inputs: list[Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def task_keep(*, task: Task, inputs: list[Any], kept: dict[str, Any]) -> bool:
    """Keep what this attempt has finished of a long job, made from ``inputs`` (what it was asked
    to do: text, settings, model), so that the next attempt (after a timeout, a lost worker, a
    transient error) goes on from it rather than starting again: it reads it back with
    ``task_kept`` and the same inputs. Written at once (a job's run is outside any transaction).
    False when this attempt no longer owns the task."""
    stored = {**kept, "for": _inputs_key(inputs)}
    kept_now = bool(_processing(task).update(kept=stored, heartbeat_at=timezone.now()))
    if kept_now:
        task.kept = stored
    return kept_now


def task_kept(task: Task, inputs: list[Any]) -> dict[str, Any]:
    """What an earlier attempt kept (``task_keep``) where it was made from these same inputs;
    nothing where they have changed since (an edit, another model): the job starts afresh."""
    if task.kept.get("for") != _inputs_key(inputs):
        return {}
    return {name: value for name, value in task.kept.items() if name != "for"}


def task_heartbeat(*, task: Task) -> bool:
    return bool(_processing(task).update(heartbeat_at=timezone.now()))


def task_finish(*, task: Task, result: dict[str, Any], message: str = "") -> bool:
    """processing -> finished, then unblock the children whose parents have all finished.

    Call inside the transaction that attaches the result, so both commit or neither does.
    False when this attempt no longer owns the task: the caller must then discard its result.
    """
    now = timezone.now()
    finished = _processing(task).update(
        status=S.FINISHED,
        progress=100,
        **(_words(message) if message else _said("done", "Done.")),
        result=result,
        backend=result.get("backend", "")[:100],
        model=result.get("model", "")[:200],
        finished_at=now,
        updated_at=now,
    )
    if not finished:
        return False
    task.refresh_from_db()
    live.publish_task_on_commit(task)
    tasks_unblock_ready(task_ids=list(task.children.filter(status=S.BLOCKED).values_list("id", flat=True)))
    return True


def task_fail(*, task: Task, error: str, permanent: bool, waits: bool = False) -> str:
    """Retry with backoff while attempts remain and the error is transient, else fail and
    cancel the blocked descendants. An error that ``waits`` (something outside the task holds it
    up: a full disk) does not count as an attempt: the task is tried again with a backoff that
    grows to a minute, for up to TASK_WAIT_FOR_RESOURCE_S from the first such error, then fails
    saying so. Returns the status the task ended in, or WAITING (pending, held up)."""
    now = timezone.now()
    with transaction.atomic():
        if waits and not permanent:
            since = task.waiting_since or now
            waited = (now - since).total_seconds()
            if waited < settings.TASK_WAIT_FOR_RESOURCE_S:
                delay = min(60.0, max(settings.TASK_RETRY_BACKOFF_S, waited / 2))
                left = max(1, round((settings.TASK_WAIT_FOR_RESOURCE_S - waited) / 60))
                held = _processing(task).update(
                    status=S.PENDING,
                    attempt=F("attempt") - 1,
                    job_id="",
                    run_after=now + timedelta(seconds=delay),
                    waiting_since=since,
                    **_said(
                        "held_up",
                        "%(why)s. It is tried again by itself (next in %(delay)s s, for %(left)s min more).",
                        why=error,
                        delay=round(delay),
                        left=left,
                    ),
                    error=error,
                    updated_at=now,
                )
                if held:
                    _publish_fresh(task.id)
                    return WAITING
            ended = _said(
                "stayed_held_up",
                "%(why)s. It stayed so for %(minutes)s min; try again once it is put right.",
                why=error,
                minutes=max(1, round(waited / 60)),
            )
            error, permanent = ended["message"], True
        else:
            ended = _words(error)
        if not permanent and task.attempt < task.max_attempts:
            delay = settings.TASK_RETRY_BACKOFF_S * (2 ** (task.attempt - 1))
            retried = _processing(task).update(
                status=S.PENDING,
                job_id="",
                run_after=now + timedelta(seconds=delay),
                waiting_since=None,
                **_said(
                    "retrying",
                    "Attempt %(attempt)s of %(attempts)s failed; retrying in %(delay)s s: %(why)s",
                    attempt=task.attempt,
                    attempts=task.max_attempts,
                    delay=round(delay),
                    why=error,
                ),
                error=error,
                updated_at=now,
            )
            if retried:
                _publish_fresh(task.id)
                return S.PENDING
        failed = _processing(task).update(status=S.FAILED, **ended, error=error, finished_at=now, updated_at=now)
        if failed:
            task_cascade_cancel(parent=task)
            _publish_fresh(task.id)
            return S.FAILED
    return Task.objects.values_list("status", flat=True).get(id=task.id)


def task_hand_back(*, task: Task) -> str:
    """processing -> pending, for another worker to take up at once: this worker is stopping (a
    deploy, a container stop), which is not the task's fault, so the attempt is not counted."""
    now = timezone.now()
    handed_back = _processing(task).update(
        status=S.PENDING,
        attempt=F("attempt") - 1,
        job_id="",
        run_after=None,
        worker="",
        progress=0,
        **_said("handed_back", "Its worker was stopped mid-job; another worker takes it up."),
        updated_at=now,
    )
    if not handed_back:  # cancelled or taken over meanwhile
        return Task.objects.values_list("status", flat=True).get(id=task.id)
    _publish_fresh(task.id)
    task_enqueue(task_id=task.id)
    return S.PENDING


def task_cancel(*, task: Task, reason: str = "", said: dict[str, Any] | None = None) -> bool:
    """Cancel an unfinished task: a queued job is removed, a running one is told to stop (RQ's
    stop command, plus the cooperative check in the progress callback). Its blocked
    descendants are cancelled with a message naming it."""
    now = timezone.now()
    with transaction.atomic():
        cancelled = Task.objects.filter(id=task.id, status__in=Task.UNFINISHED).update(
            status=S.CANCELLED,
            **(said or (_words(reason) if reason else _said("cancelled_by_user", "Cancelled by the user."))),
            finished_at=now,
            updated_at=now,
        )
        if not cancelled:
            return False
        task.refresh_from_db()
        task_cascade_cancel(parent=task)
        job_id = task.job_id
        transaction.on_commit(lambda: _stop_job(job_id))
        live.publish_task_on_commit(task)
    return True


@transaction.atomic
def task_delete(*, task: Task) -> None:
    """A task its owner deletes: cancelled if unfinished (``task_cancel``), then hidden from every
    list and read (the row stays: the project's history and usage still count it)."""
    task_cancel(task=task, said=_said("deleted_by_user", "Deleted by the user."))
    Task.objects.filter(id=task.id).update(hidden=True, updated_at=timezone.now())


def task_discard(*, task: Task) -> bool:
    """End a running attempt without attaching its output (it was made for an outdated
    version of its shot)."""
    now = timezone.now()
    message = _said("superseded", "Superseded by a newer edit; its result was discarded.")
    with transaction.atomic():
        discarded = _processing(task).update(status=S.CANCELLED, **message, finished_at=now, updated_at=now)
        if discarded:
            task.refresh_from_db()
            task_cascade_cancel(parent=task)
            live.publish_task_on_commit(task)
    return bool(discarded)


def tasks_cancel(*, tasks: Iterable[Task], reason: str = "", said: dict[str, Any] | None = None) -> int:
    return sum(task_cancel(task=task, reason=reason, said=said) for task in tasks)


def by_operator() -> dict[str, Any]:
    """The message of a task an operator cancelled (the admin's action)."""
    return _said("cancelled_by_operator", "Cancelled by an operator.")


def task_retry(*, task: Task) -> Task:
    """A new attempt for a failed or cancelled task: back to pending with fresh attempts. Any
    other task is a conflict (ApplicationError)."""
    now = timezone.now()
    with transaction.atomic():
        reset = Task.objects.filter(id=task.id, status__in=(S.FAILED, S.CANCELLED)).update(
            status=S.PENDING,
            job_id="",
            attempt=0,
            progress=0,
            **_said("queued_again", "Queued again."),
            error="",
            run_after=None,
            finished_at=None,
            trace_id=current_trace_id(),
            updated_at=now,
        )
        task.refresh_from_db()
        if not reset:
            raise ApplicationError(
                f"Only a failed or cancelled task can be retried; this one is {task.status}.", code="conflict"
            )
        if task.parents.exclude(status=S.FINISHED).exists():
            Task.objects.filter(id=task.id).update(status=S.BLOCKED)
            task.status = S.BLOCKED
        else:
            task_id = task.id
            transaction.on_commit(lambda: task_enqueue(task_id=task_id))
        live.publish_task_on_commit(task)
    return task


def tasks_unblock_ready(*, task_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """blocked -> pending for each task whose parents have all finished (enqueued on commit);
    blocked -> cancelled for each whose parent failed or was cancelled."""
    unblocked: list[uuid.UUID] = []
    for child in Task.objects.filter(id__in=task_ids, status=S.BLOCKED).prefetch_related("parents"):
        parents = list(child.parents.all())
        dead = next((p for p in parents if p.status in (S.FAILED, S.CANCELLED)), None)
        if dead is not None:
            _cancel_blocked(child, dead)
        elif all(p.status == S.FINISHED for p in parents) and Task.objects.filter(id=child.id, status=S.BLOCKED).update(
            status=S.PENDING, updated_at=timezone.now()
        ):
            transaction.on_commit(functools.partial(task_enqueue, task_id=child.id))
            unblocked.append(child.id)
            child.status = S.PENDING
            live.publish_task_on_commit(child)
    return unblocked


def _cancel_blocked(child: Task, parent: Task) -> None:
    words = _parent_ended(parent)
    if Task.objects.filter(id=child.id, status=S.BLOCKED).update(
        status=S.CANCELLED, **words, finished_at=timezone.now(), updated_at=timezone.now()
    ):
        child.status, child.message = S.CANCELLED, words["message"]
        live.publish_task_on_commit(child)
        task_cascade_cancel(parent=child)


def task_cascade_cancel(*, parent: Task) -> None:
    parent.refresh_from_db(fields=["status"])
    for child in parent.children.filter(status=S.BLOCKED):
        _cancel_blocked(child, parent)


def _stop_job(job_id: str) -> None:
    """Remove a queued job, or tell the worker running it to stop."""
    if not job_id:
        return
    connection = get_redis()
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return
    status = job.get_status(refresh=False)
    if status in ("queued", "scheduled", "deferred"):
        job.cancel()
        return
    with contextlib.suppress(InvalidJobOperation):  # not running (any more): nothing to stop
        send_stop_job_command(connection, job_id)


def _publish_fresh(task_id: uuid.UUID) -> None:
    live.publish_task_on_commit(Task.objects.get(id=task_id))


def task_add_usage(*, task: Task, usage: dict[str, Any]) -> None:
    """Add an attempt's usage to what the task has used (a GPU once makes it a GPU task)."""
    with transaction.atomic():
        total = dict(Task.objects.select_for_update().values_list("usage", flat=True).get(pk=task.pk) or {})
        for key, value in usage.items():
            if key == "device":
                if not str(total.get("device", "")).startswith("cuda"):
                    total["device"] = value
            else:
                total[key] = round(total.get(key, 0) + value, 3)
        Task.objects.filter(pk=task.pk).update(usage=total)
