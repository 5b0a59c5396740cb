"""``manage.py worker inference|media``: an RQ worker plus the engine's maintenance thread.

The ``inference`` worker runs each job in its own process (RQ's SimpleWorker: no fork per
job), so a model loaded by one job is still loaded for the next, and CUDA is never
initialised in a process that forks afterwards (no RQ scheduler process is started either:
backoff is handled by the maintenance thread). The ``media`` worker forks a child per job,
so ffmpeg work runs isolated and a stop command can kill it outright.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connection, connections
from rq import SimpleWorker, Worker

from tasks.queues import INFERENCE, MEDIA, get_queue, get_redis
from tasks.reconciler import reconcile
from tasks.services import tasks_enqueue_due

logger = logging.getLogger("storyvideo.worker")


class InferenceWorker(SimpleWorker):
    def kill_horse(self, sig: signal.Signals = signal.SIGKILL) -> None:
        # There is no horse: the job runs in this process. A stop command is honoured by the
        # job itself, at its next progress report (the task row is already cancelled).
        self.log.info("Stop requested for the running job; it stops at its next progress report.")


class MediaWorker(Worker):
    def execute_job(self, job: Any, queue: Any) -> None:
        connections.close_all()  # the forked child must open its own database connection
        super().execute_job(job, queue)


class Maintenance(threading.Thread):
    """Enqueue due retries every second; reconcile every RECONCILE_INTERVAL_S."""

    def __init__(self) -> None:
        super().__init__(name="storyvideo-maintenance", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        last_reconcile = time.monotonic()
        while not self.stopped.wait(1.0):
            try:
                close_old_connections()
                if time.monotonic() - last_reconcile >= settings.RECONCILE_INTERVAL_S:
                    last_reconcile = time.monotonic()
                    reconcile()
                else:
                    tasks_enqueue_due()
            except Exception:  # keep the thread alive through a database or Redis blip
                logger.exception("Maintenance pass failed; trying again shortly")
        connection.close()


class Command(BaseCommand):
    help = "Run a StoryVideo worker for the inference or media queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("queue", choices=[INFERENCE, MEDIA])
        parser.add_argument("--burst", action="store_true", help="Exit when the queue is empty.")
        parser.add_argument("--name", default=None, help="Worker name (default: RQ's).")

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile()
        logger.info("Start-up reconcile: %s", report)
        worker_class = InferenceWorker if options["queue"] == INFERENCE else MediaWorker
        worker = worker_class([get_queue(options["queue"])], connection=get_redis(), name=options["name"])
        maintenance = Maintenance()
        maintenance.start()
        try:
            worker.work(burst=options["burst"], with_scheduler=False, logging_level="WARNING")
        finally:
            maintenance.stopped.set()
