"""``manage.py worker QUEUE...``: an RQ worker plus the engine's maintenance thread.

``make run`` starts one per queue. One worker may serve ``inference`` and ``language`` together
(in that order: it takes a waiting picture or voice before the next language-model job), where
one process must hold every model. The ``inference`` and ``language`` workers run each job in
their own process (RQ's SimpleWorker: no fork per
job), so a model loaded by one job is still loaded for the next, and CUDA is never
initialised in a process that forks afterwards (no RQ scheduler process is started either:
backoff is handled by the maintenance thread). The ``media`` worker forks a child per job,
so ffmpeg work runs isolated and a stop command can kill it outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import os
import signal
import sys
import threading
import time
import weakref
from typing import Any

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from rq import SimpleWorker, Worker

from core.embedded import revive_redis
from core.redis import get_redis
from tasks import jobs
from tasks.queues import MEDIA, QUEUES, get_queue, presence_beat, presence_end
from tasks.reconciler import reconcile
from tasks.registry import kinds
from tasks.services import tasks_enqueue_due

logger = logging.getLogger("storyvideo.worker")


def _stop_the_job(signum: int = 0, frame: Any = None) -> None:
    """The running job hands its task back at its next progress report; what it started outside
    this process (ffmpeg) is ended now (``tasks.jobs.stop``)."""
    jobs.stop()


class _Stoppable:
    """A stop (SIGTERM, SIGINT) is remembered, as RQ does not when idle, and a running job is
    stopped rather than waited for: its task goes back to the queue for another worker, so a
    deploy or a container stop neither waits out a long job nor loses it."""

    stop_asked = False

    def request_stop(self, signum: int, frame: Any) -> None:
        self.stop_asked = True
        super().request_stop(signum, frame)  # type: ignore[misc]


class InferenceWorker(_Stoppable, SimpleWorker):
    def handle_warm_shutdown_request(self) -> None:
        self.log.info("Stop requested: the running job, if any, hands its task back.")
        _stop_the_job()

    def kill_horse(self, sig: signal.Signals = signal.SIGKILL) -> None:
        # There is no horse: the job runs in this process. A stop command is honoured by the
        # job itself, at its next progress report (the task row is already cancelled).
        self.log.info("Stop requested for the running job; it stops at its next progress report.")


# Each database connection this process opened, with the thread that opened it.
_opened: weakref.WeakKeyDictionary[BaseDatabaseWrapper, int] = weakref.WeakKeyDictionary()


def _remember_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    _opened[connection] = threading.get_ident()


def leave_other_threads_connections() -> None:
    """In a forked child: let go of the sockets of the database connections other threads of the
    parent opened (the maintenance thread's), which the fork copied but only the parent may use.
    Held here, a socket outlives its parent: a parent killed mid-transaction would leave
    PostgreSQL a session "idle in transaction", holding its locks for as long as the child runs.
    Each socket's descriptor is pointed at /dev/null, so the child writes nothing into the
    parent's session either, not even when the connection object is freed."""
    me = threading.get_ident()
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for wrapper, thread in list(_opened.items()):
            if thread == me or wrapper.connection is None:
                continue
            with contextlib.suppress(Exception):  # closed meanwhile: nothing to let go of
                os.dup2(devnull, wrapper.connection.fileno())
    finally:
        os.close(devnull)


def end_with_parent(parent: int, sig: signal.Signals) -> None:
    """Ask Linux to send this process ``sig`` when its parent ends (a no-op elsewhere)."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(sig), 0, 0, 0)
    if os.getppid() != parent:  # the parent ended before the request was made
        os.kill(os.getpid(), sig)


class MediaWorker(_Stoppable, Worker):
    def execute_job(self, job: Any, queue: Any) -> None:
        connections.close_all()  # the forked child must open its own database connection
        self.worker_pid = os.getpid()
        super().execute_job(job, queue)

    def main_work_horse(self, job: Any, queue: Any) -> None:
        leave_other_threads_connections()  # the job process: the worker's connections are not its own
        super().main_work_horse(job, queue)

    def setup_work_horse_signals(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _stop_the_job)
        # The job process does not outlive its worker, which could no longer watch it: the job
        # hands its task back, as at a stop, and the reconciler gives it to another worker.
        end_with_parent(self.worker_pid, signal.SIGTERM)

    def handle_work_horse_killed(self, job: Any, retpid: int, ret_val: int, rusage: Any) -> None:
        # The job process died (the OOM killer, a kill): what it started (ffmpeg) is in its
        # process group and would run on, orphaned, into a scratch folder no one owns.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(retpid, signal.SIGKILL)
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)

    def handle_warm_shutdown_request(self) -> None:
        # The horse runs in a process group of its own: tell it (only it, so that its ffmpegs are
        # ended by it, after it knows why).
        if self.horse_pid:
            self.log.info("Stop requested: the running job hands its task back.")
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.horse_pid, signal.SIGTERM)


class Maintenance(threading.Thread):
    """Say the worker is alive and enqueue due retries every second; reconcile every
    RECONCILE_INTERVAL_S."""

    def __init__(self, queues: list[str]) -> None:
        super().__init__(name="storyvideo-maintenance", daemon=True)
        self.queues = queues
        self.stopped = threading.Event()

    def cannot(self) -> dict[str, dict[str, list[str]]]:
        """Per queue, the kinds whose work this worker cannot do here: [with what, why] (looked at
        on disk at start and at each reconcile: weights fetched meanwhile are seen)."""
        found: dict[str, dict[str, list[str]]] = {}
        for queue in self.queues:
            found[queue] = {}
            for kind in kinds(queue=queue):
                try:
                    why = kind.cannot_run()
                except Exception:  # the presence goes on; this kind is then said to run
                    logger.exception("Could not tell whether this worker can do %s work", kind.name)
                    continue
                if why:
                    found[queue][kind.name] = [kind.configuration(), str(why)]
        return found

    def run(self) -> None:
        last_reconcile = time.monotonic()
        cannot = self.cannot()
        while not self.stopped.wait(1.0):
            try:
                for queue in self.queues:
                    presence_beat(queue, cannot[queue])
                close_old_connections()
                if time.monotonic() - last_reconcile >= settings.RECONCILE_INTERVAL_S:
                    last_reconcile = time.monotonic()
                    cannot = self.cannot()
                    reconcile()
                else:
                    tasks_enqueue_due()
            except redis.RedisError:
                logger.exception("Maintenance pass failed; trying again shortly")
                _revive_embedded_redis()
            except Exception:  # keep the thread alive through a database blip
                logger.exception("Maintenance pass failed; trying again shortly")
        with contextlib.suppress(redis.RedisError):
            for queue in self.queues:
                presence_end(queue)
        connection.close()


def warm_up(queues: list[str]) -> None:
    """Load what the queues' kinds of work would otherwise wait for (the storyboard and keyframe
    models, where they run here) into this process; a job that needs one meanwhile waits for
    this load rather than its own."""
    for queue in queues:
        for kind in kinds(queue=queue):
            said = kind.warm_up()
            if said:
                logger.info("Warm-up: %s", said)


def model_threads(threads: int) -> None:
    """The CPU threads torch and OpenMP use in this process (before either starts): the cores
    this process may use, less the media worker's share (INFERENCE_THREADS; 0: half of them).
    Torch's default, one thread per core, spins against the media worker's ffmpegs on a small
    machine (bench/README.md: the storyboard's tokens per second)."""
    if threads == 0:
        threads = max(1, len(os.sched_getaffinity(0)) // 2)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


class Command(BaseCommand):
    help = "Run a StoryVideo worker for one queue (inference, language or media), or for inference and language."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("queue", nargs="+", choices=QUEUES)
        parser.add_argument("--burst", action="store_true", help="Exit when the queue is empty.")
        parser.add_argument("--name", default=None, help="Worker name (default: RQ's).")

    def handle(self, *args: Any, **options: Any) -> None:
        queues = list(dict.fromkeys(options["queue"]))
        if MEDIA in queues and len(queues) > 1:
            raise CommandError("The media queue has a worker of its own: start it alone (worker media).")
        if MEDIA not in queues:
            model_threads(settings.INFERENCE_THREADS)
        connection_created.connect(_remember_connection)
        try:
            logger.info("Start-up reconcile: %s", reconcile())
        except redis.RedisError as exc:  # the maintenance thread reconciles once Redis is back
            logger.warning("Redis is unreachable (%s)", exc)
        maintenance = Maintenance(queues)
        maintenance.start()
        if settings.WORKER_WARM_MODELS:
            threading.Thread(target=warm_up, args=(queues,), name="storyvideo-warm", daemon=True).start()
        worker_class = MediaWorker if queues == [MEDIA] else InferenceWorker
        try:
            for run in itertools.count():
                name = options["name"] and (options["name"] if run == 0 else f"{options['name']}.{run}")
                worker = None
                try:
                    # worker_ttl: an idle worker re-registers every 15 s, and one that died drops
                    # out of RQ's registry (the system API, the doctor, /metrics) within 90 s.
                    worker = worker_class(
                        [get_queue(queue) for queue in queues], connection=get_redis(), name=name, worker_ttl=30
                    )
                    worker.work(burst=options["burst"], with_scheduler=False, logging_level="WARNING")
                except redis.RedisError as exc:
                    logger.warning("Redis is unreachable (%s)", exc)
                if options["burst"] or (worker is not None and worker.stop_asked):
                    return
                # RQ's loop ends on an error outside its own wait for jobs (Redis gone while it
                # reported a result or a heartbeat): wait for Redis, then work again. The task
                # rows are the truth, so nothing was lost; the reconciler re-queues what is due.
                # Meanwhile a stop signal ends the process at once (there is no job to finish).
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                _wait_for_redis()
        finally:
            maintenance.stopped.set()
            maintenance.join(timeout=5)


def _wait_for_redis() -> None:
    delay = 1.0
    while True:
        try:
            get_redis().ping()
            return
        except redis.RedisError as exc:
            if _revive_embedded_redis():
                continue
            logger.warning("Redis is unreachable (%s); trying again in %.0f s", exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def _revive_embedded_redis() -> bool:
    """The embedded Redis (no REDIS_URL) is started again where it died; a Redis of the
    operator's is theirs to run (the workers wait for it)."""
    if not settings.EMBEDDED_REDIS:
        return False
    try:
        revived = revive_redis(settings.VAR_DIR)
    except Exception:  # said, and tried again at the next pass
        logger.exception("The embedded Redis could not be started again")
        return False
    if revived:
        logger.warning("The embedded Redis had stopped answering; it was started again")
        get_redis().connection_pool.disconnect()
    return revived
