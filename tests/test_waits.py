"""An error that something outside the task causes (a full disk) does not use up the task's
attempts: it is tried again with a growing backoff for as long as TASK_WAIT_FOR_RESOURCE_S, and
then fails saying how long it waited. (The fault itself, on a real full file system: tests/faults/test_disk.py.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tasks import services
from tasks.models import Task
from tests.factories import ShotFactory

pytestmark = pytest.mark.django_db
FULL = "The disk is full (no space left to write the output): free some space"


def claimed(task: Task) -> Task:
    Task.objects.filter(pk=task.pk).update(job_id="job", run_after=None)  # its backoff over
    found = services.task_claim(task_id=task.id, worker="here:1")
    assert found is not None
    return found


def test_a_task_held_up_waits_without_using_its_attempts_then_fails_saying_how_long(settings: Any) -> None:
    settings.TASK_RETRY_BACKOFF_S, settings.TASK_WAIT_FOR_RESOURCE_S = 5.0, 1800.0
    shot = ShotFactory()
    task = services.task_create(kind="image", project=shot.project, shot=shot, params={"version": 1})
    Task.objects.filter(pk=task.pk).update(max_attempts=1)
    for _ in range(4):  # more waits than it has attempts
        attempt = claimed(Task.objects.get(pk=task.pk))
        assert services.task_fail(task=attempt, error=FULL, permanent=False, waits=True) == "waiting"
    task.refresh_from_db()
    assert (task.attempt, task.status) == (0, "pending") and task.waiting_since is not None
    assert task.message.startswith(f"{FULL}. It is tried again by itself (next in 5 s")
    assert "for 30 min more" in task.message

    # Half an hour on, the backoff is a minute at most; past the wait, it fails for good.
    Task.objects.filter(pk=task.pk).update(waiting_since=timezone.now() - timedelta(minutes=20), run_after=None)
    services.task_fail(task=claimed(Task.objects.get(pk=task.pk)), error=FULL, permanent=False, waits=True)
    task.refresh_from_db()
    assert "next in 60 s, for 10 min more" in task.message
    assert timedelta(seconds=55) < task.run_after - timezone.now() <= timedelta(seconds=60)
    Task.objects.filter(pk=task.pk).update(waiting_since=timezone.now() - timedelta(minutes=31), run_after=None)
    attempt = claimed(Task.objects.get(pk=task.pk))
    assert services.task_fail(task=attempt, error=FULL, permanent=False, waits=True) == "failed"
    task.refresh_from_db()
    assert task.message == f"{FULL}. It stayed so for 31 min; try again once it is put right."
    assert "tried again" not in task.message


def test_health_and_doctor_say_when_the_disk_is_low(settings: Any) -> None:
    import io

    from django.core.management import CommandError, call_command

    from tests.clients import CommittingAPIClient

    body = CommittingAPIClient().get("/api/v1/health").json()
    assert body["status"] == "ok" and body["disk"]["ok"] and body["disk"]["freeBytes"] > 0
    settings.DISK_FREE_MIN_BYTES = 1 << 62  # more than any disk here has
    answer = CommittingAPIClient().get("/api/v1/health")
    assert answer.status_code == 200, "the site still works (and deleting is how space is freed)"
    assert answer.json()["status"] == "degraded" and answer.json()["disk"]["ok"] is False
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("doctor", stdout=out)
    assert "FAIL disk:" in out.getvalue() and "DISK_FREE_MIN_BYTES" in out.getvalue()
