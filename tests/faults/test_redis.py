"""Finding 3: Redis going away stops nothing for good. Workers keep running and take up the
work again when it is back; a project created meanwhile is accepted and queued later."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from projects.models import Project
from tasks import services
from tasks.models import Task
from tests.factories import ShotFactory
from tests.workers import wait_for, workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
S = Task.Status


def test_workers_outlive_a_redis_outage_and_finish_everything(
    tmp_path: Path, private_redis: Any, api: APIClient
) -> None:
    shots = [ShotFactory(prompt="test:sleep:1") for _ in range(3)]
    with workers(tmp_path, "inference language", "media") as started:
        tasks = [
            services.task_create(kind="image", project=s.project, shot=s, params={"version": s.image_version})
            for s in shots
        ]
        wait_for(lambda: Task.objects.filter(status=S.PROCESSING).exists(), what="a task to start")
        private_redis.stop()

        # A story sent meanwhile is kept and accepted; its storyboard waits for Redis.
        response = api.post("/api/v1/projects", {"story": "The cat found a lamp. The lamp lit the sea."}, format="json")
        assert response.status_code == 202, response.content
        project = Project.objects.get(pk=response.json()["project"]["id"])
        storyboard = project.tasks.get(kind="storyboard")
        assert storyboard.status == S.PENDING

        time.sleep(4)  # long enough for every worker to have hit the outage
        assert all(worker.process.poll() is None for worker in started), [w.output()[-2000:] for w in started]
        private_redis.start()

        for task in [*tasks, storyboard]:
            wait_for(
                lambda task=task: Task.objects.get(pk=task.pk).status in (S.FINISHED, S.FAILED),
                timeout=90,
                what=f"{task.kind} task {task.id} to end after Redis came back",
            )
        assert all(worker.process.poll() is None for worker in started)
    for task in [*tasks, storyboard]:
        task.refresh_from_db()
        assert task.status == S.FINISHED, task.message
    logs = "".join(worker.output() for worker in started)
    # Each worker met the outage (in RQ's own wait for jobs, or in ours after RQ's loop ended).
    assert all(
        "Redis is unreachable" in worker.output() or "could not connect to Redis" in worker.output()
        for worker in started
    ), logs[-3000:]


def test_the_embedded_redis_killed_is_started_again_by_a_worker_and_work_goes_on(
    tmp_path: Path, rendered: Project
) -> None:
    """Issue 25, finding 4: after `kill -9` of the embedded Redis under `make run`, everything
    stalled until a worker was restarted by hand (4.5 minutes). The workers start it again."""
    import os
    import signal

    import redis
    from django.conf import settings

    var = tmp_path / "var"  # a var folder of the worker's own, so its Redis is an embedded one
    env = {"REDIS_URL": "", "STORYVIDEO_VAR_DIR": str(var), "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    embedded = redis.Redis(unix_socket_path=str(var / "redis.sock"))

    def answers() -> bool:
        try:
            return bool(embedded.ping())
        except (redis.RedisError, OSError):
            return False

    try:
        with workers(tmp_path, "media", **env) as [worker]:
            wait_for(answers, timeout=60, what="the worker's embedded Redis")
            wait_for(lambda: "Start-up reconcile" in worker.output(), timeout=60, what="the worker to be up")
            killed = int((var / "redis.pid").read_text())
            os.kill(killed, signal.SIGKILL)
            # The worker notices within its next second (often at once) and starts another.
            wait_for(lambda: (var / "redis.pid").read_text().strip() != str(killed), timeout=30, what="a new Redis")
            # Work asked for while it is down: the row is kept, the worker queues it once Redis is back.
            task = Task.objects.create(kind="compose", project=rendered, owner=rendered.owner)
            wait_for(lambda: Task.objects.get(pk=task.pk).status == S.FINISHED, timeout=120, what="the render")
            assert int((var / "redis.pid").read_text()) != killed
            assert "The embedded Redis had stopped answering; it was started again" in worker.output()
    finally:  # the worker was killed outright: its Redis, a daemon, is stopped here
        with contextlib.suppress(Exception):
            embedded.shutdown(nosave=True)
