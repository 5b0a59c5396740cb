"""Issue 12's fault suite: the database connection cut under a running job
(``pg_terminate_backend``, as a PostgreSQL restart, a failover or a proxy's idle cut does). The
worker reconnects: the job finishes on the same attempt, the worker keeps serving, nothing is
attached twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from tasks import services
from tasks.models import Task
from tests.factories import ShotFactory
from tests.workers import wait_for, workers

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (CI runs on it)"),
]
S = Task.Status


def cut_every_other_connection() -> int:
    """Cut every connection to the test database but this test process's own (those of its
    other threads too: a later test would find them cut)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name <> current_setting('application_name')"
        )
        (cut,) = cursor.fetchone()
    return int(cut)


def test_a_cut_database_connection_mid_job_costs_neither_the_attempt_nor_the_worker(tmp_path: Path) -> None:
    shot = ShotFactory(prompt="test:sleep:3")
    task = services.task_create(kind="image", project=shot.project, shot=shot, params={"version": shot.image_version})
    with workers(tmp_path, "inference") as (worker,):
        wait_for(lambda: Task.objects.get(pk=task.pk).progress > 0, what="the keyframe to be under way")
        assert cut_every_other_connection() >= 1
        wait_for(lambda: Task.objects.get(pk=task.pk).status == S.FINISHED, timeout=60, what=worker.output()[-3000:])
        task.refresh_from_db()
        assert task.attempt == 1, task.message  # the same attempt carried on

        cut_every_other_connection()  # idle now: the next job starts on a cut connection
        later = ShotFactory(project=shot.project, prompt="a lighthouse at dusk")
        second = services.task_create(
            kind="image", project=later.project, shot=later, params={"version": later.image_version}
        )
        wait_for(lambda: Task.objects.get(pk=second.pk).status == S.FINISHED, timeout=60, what=worker.output()[-3000:])
        assert worker.process.poll() is None
    shot.refresh_from_db()
    assert shot.image_file.name == task.result["file"]
    assert Task.objects.get(pk=second.pk).attempt == 1
