"""RQ's default worker (a fork per job) on the inference queue, for comparison."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storyvideo.settings")

import django

django.setup()

from django.db import connections  # noqa: E402
from rq import Worker  # noqa: E402

from core.redis import get_redis  # noqa: E402
from tasks.queues import INFERENCE, get_queue  # noqa: E402


class ForkingWorker(Worker):
    def execute_job(self, job: Any, queue: Any) -> None:
        connections.close_all()
        super().execute_job(job, queue)


ForkingWorker([get_queue(INFERENCE)], connection=get_redis()).work(with_scheduler=False, logging_level="WARNING")
