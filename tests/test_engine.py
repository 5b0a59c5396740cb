"""The task engine against real RQ worker processes, the real database and the real Redis."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from rq import Queue
from rq.job import Job

from core.redis import get_redis
from projects.pipeline import compose_create
from shots.models import Shot
from shots.services import shot_update
from tasks import services
from tasks.models import Task
from tasks.reconciler import reconcile
from tests.factories import ProjectFactory, ShotFactory
from tests.workers import ROOT, wait_for, worker_env, workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
S = Task.Status


def image_task(shot: Shot) -> Task:
    return services.task_create(kind="image", project=shot.project, shot=shot, params={"version": shot.image_version})


def status_of(task: Task, *wanted: str) -> Task | None:
    task.refresh_from_db()
    return task if task.status in wanted else None


def test_transient_errors_retry_with_backoff_until_they_succeed(tmp_path: Path) -> None:
    shot = ShotFactory(prompt="test:flaky:2")
    with workers(tmp_path, "inference language"):
        task = image_task(shot)
        wait_for(lambda: status_of(task, S.FINISHED, S.FAILED), what="the flaky task to end")
    assert task.status == S.FINISHED
    assert task.attempt == 3
    shot.refresh_from_db()
    assert shot.image_hash == task.result["hash"]
    assert shot.image_file.name.endswith(".png")


def test_a_parent_failing_every_attempt_fails_after_the_last_and_cancels_what_waits_on_it(tmp_path: Path) -> None:
    shot = ShotFactory(prompt="test:flaky:5")
    with workers(tmp_path, "inference language"):
        task = image_task(shot)
        compose = compose_create(project=shot.project)
        wait_for(lambda: Task.objects.get(pk=task.pk).attempt == 2, what="the second attempt")
        assert Task.objects.get(pk=compose.pk).status == S.BLOCKED  # attempts remain: it still waits
        wait_for(lambda: status_of(task, S.FINISHED, S.FAILED), what="the flaky task to end")
    assert (task.status, task.attempt) == (S.FAILED, 3)
    assert "flaky failure on attempt 3" in task.message
    compose.refresh_from_db()
    assert compose.status == S.CANCELLED and str(task.id) in compose.message


def test_a_permanent_error_fails_at_once_and_cancels_what_waits_on_it(tmp_path: Path) -> None:
    shot = ShotFactory(prompt="test:fail")
    with workers(tmp_path, "inference language"):
        task = image_task(shot)
        compose = compose_create(project=shot.project)
        assert compose.status == S.BLOCKED
        wait_for(lambda: status_of(task, S.FAILED), what="the task to fail")
    assert task.attempt == 1
    assert "can never be drawn" in task.message
    compose.refresh_from_db()
    assert compose.status == S.CANCELLED
    assert str(task.id) in compose.message


def test_a_task_past_its_timeout_is_stopped_and_failed(tmp_path: Path) -> None:
    shot = ShotFactory(prompt="test:hang")
    task = Task.objects.create(
        kind="image",
        project=shot.project,
        shot=shot,
        timeout_s=2,
        max_attempts=1,
        params={"version": shot.image_version},
    )
    with workers(tmp_path, "inference language"):
        services.task_enqueue(task_id=task.id)
        wait_for(lambda: status_of(task, S.FAILED), timeout=30, what="the hanging task to time out")
    assert "Timed out after 2 s" in task.message


def test_children_wait_for_every_parent_then_run(tmp_path: Path) -> None:
    project = ProjectFactory()
    first, second = ShotFactory(project=project, narration=""), ShotFactory(project=project, narration="")
    with workers(tmp_path, "inference language", "media"):
        parents = [image_task(first), image_task(second)]
        compose = compose_create(project=project)
        assert compose.status == S.BLOCKED
        assert set(compose.parents.all()) == set(parents)
        wait_for(lambda: status_of(compose, S.FINISHED, S.FAILED, S.CANCELLED), timeout=120, what="the film")
    assert compose.status == S.FINISHED, compose.message
    for parent in parents:
        parent.refresh_from_db()
        assert parent.finished_at is not None and parent.finished_at <= compose.started_at
    project.refresh_from_db()
    # two 3 s shots, a 0.5 s dissolve between them and a 0.5 s closing fade
    assert project.render_video and project.render_duration == pytest.approx(7.0, abs=0.05)


def test_cancelling_a_queued_task_removes_its_job(tmp_path: Path) -> None:
    shot = ShotFactory()
    task = image_task(shot)
    task.refresh_from_db()
    queue = Queue("inference", connection=get_redis())
    assert task.job_id in queue.job_ids
    assert services.task_cancel(task=task)
    assert task.job_id not in queue.job_ids
    with workers(tmp_path, "inference language"):
        later = image_task(ShotFactory(project=shot.project))
        wait_for(lambda: status_of(later, S.FINISHED), what="a later task to run")
    task.refresh_from_db()
    assert task.status == S.CANCELLED and task.attempt == 0 and task.result is None


def test_cancelling_a_running_task_stops_it_between_steps(tmp_path: Path) -> None:
    shot = ShotFactory(prompt="test:sleep:60")
    with workers(tmp_path, "inference language"):
        task = image_task(shot)
        wait_for(lambda: status_of(task, S.PROCESSING) and task.progress > 0, what="the task to make progress")
        assert services.task_cancel(task=task)
        # The same single-process worker must be free again well before the 60 s sleep ends.
        follower = image_task(ShotFactory(project=shot.project))
        wait_for(lambda: status_of(follower, S.FINISHED), timeout=20, what="the worker to be free again")
    task.refresh_from_db()
    assert task.status == S.CANCELLED and task.result is None
    shot.refresh_from_db()
    assert not shot.image_file


def test_an_edit_mid_run_supersedes_the_old_job_and_its_result_is_never_attached(tmp_path: Path) -> None:
    shot = ShotFactory(prompt="test:quiet:2")
    with workers(tmp_path, "inference language"):
        old = image_task(shot)
        wait_for(lambda: status_of(old, S.PROCESSING), what="the old job to start")
        shot_update(shot=shot, changes={"prompt": "a lighthouse at dawn"})
        new = shot.tasks.exclude(id=old.id).get(kind="image")
        wait_for(lambda: status_of(new, S.FINISHED), what="the new image")
        wait_for(lambda: status_of(old, S.CANCELLED) and Shot.objects.get(pk=shot.pk).image_hash, what="the old job")
    old.refresh_from_db()
    shot.refresh_from_db()
    assert old.result is None
    assert shot.image_version == 2
    assert shot.image_hash == new.result["hash"]


def test_an_edit_to_one_shot_of_a_running_batch_discards_only_its_result_and_leaves_no_file(tmp_path: Path) -> None:
    project = ProjectFactory()
    shots = [ShotFactory(project=project, order=i, seed=9100 + i, prompt=f"test:quiet:1:shot {i}") for i in range(3)]
    folder = Path(settings.MEDIA_ROOT) / "shots" / "image"
    before = set(folder.iterdir()) if folder.is_dir() else set()
    tasks = [image_task(shot) for shot in shots]
    with workers(tmp_path, "inference language", IMAGE_BATCH_SIZE="4"):
        wait_for(
            lambda: Task.objects.filter(pk__in=[t.pk for t in tasks], status=S.PROCESSING).count() == 3,
            what="the three keyframes to run as one batch",
        )
        shot_update(shot=shots[1], changes={"prompt": "a lighthouse at dawn"})
        new = shots[1].tasks.exclude(id=tasks[1].id).get(kind="image")
        wait_for(lambda: status_of(new, S.FINISHED), what="the edited shot's new keyframe")
        for task in tasks:
            wait_for(lambda task=task: status_of(task, S.FINISHED, S.CANCELLED), what="the batch to end")
    assert [t.status for t in tasks] == [S.FINISHED, S.CANCELLED, S.FINISHED]
    assert tasks[1].result is None
    for shot, task in zip(shots, [tasks[0], new, tasks[2]], strict=True):
        shot.refresh_from_db()
        assert shot.image_hash == task.result["hash"]
    named = {Path(Shot.objects.get(pk=s.pk).image_file.name).name for s in shots}
    assert named <= {path.name for path in folder.iterdir()}
    assert {path.name for path in set(folder.iterdir()) - before} <= named  # no file of the discarded result


def test_a_result_for_an_outdated_version_is_discarded_even_if_the_task_was_not_cancelled(tmp_path: Path) -> None:
    shot = ShotFactory(prompt="test:quiet:2")
    with workers(tmp_path, "inference language"):
        task = image_task(shot)
        wait_for(lambda: status_of(task, S.PROCESSING), what="the job to start")
        Shot.objects.filter(pk=shot.pk).update(image_version=shot.image_version + 1)
        wait_for(lambda: status_of(task, S.CANCELLED, S.FINISHED), what="the job to end")
    assert task.status == S.CANCELLED
    assert "discarded" in task.message
    shot.refresh_from_db()
    assert not shot.image_file and not shot.image_hash


def test_a_worker_killed_mid_job_is_noticed_and_its_task_runs_again(tmp_path: Path) -> None:
    shot = ShotFactory(prompt="test:sleep:60")
    with workers(tmp_path, "inference language") as (first,):
        task = image_task(shot)
        wait_for(lambda: status_of(task, S.PROCESSING) and task.progress > 0, what="the job to run")
        first.kill()
    task.refresh_from_db()
    assert task.status == S.PROCESSING  # nothing cleaned up after the SIGKILL
    with workers(tmp_path, "inference language"):
        wait_for(lambda: status_of(task, S.FINISHED, S.FAILED), what="the re-queued task to finish")
    assert task.status == S.FINISHED
    assert task.attempt == 2
    shot.refresh_from_db()
    assert shot.image_hash == task.result["hash"]


# RQ's own steps as a worker takes a job (``Worker.work``, then ``perform_job`` in its job process):
# off the queue, then started; the process is killed at the stage named, before the job's code
# runs and claims its task.
DIES_HOLDING_A_JOB = """
import os, signal, sys
import django
django.setup()
from rq import Worker
from core.redis import get_redis
from tasks.queues import get_queue
worker = Worker([get_queue("inference")], connection=get_redis())
worker.register_birth()
job, queue = worker.dequeue_job_and_maintain_ttl(timeout=None)
if sys.argv[1] == "started":
    worker.prepare_job_execution(job, remove_from_intermediate_queue=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("stage", ["taken", "started"])
def test_a_worker_killed_holding_a_job_whose_task_it_had_not_claimed_does_not_strand_it(
    tmp_path: Path, stage: str
) -> None:
    """Such a job stayed taken until RQ's own clean-up, up to ten minutes on, and its task waited
    as long, and with it every later task of its owner's on that queue."""
    task = image_task(ShotFactory())
    task.refresh_from_db()
    taken = task.job_id
    died = subprocess.run([sys.executable, "-c", DIES_HOLDING_A_JOB, stage], cwd=ROOT, env=worker_env(), check=False)
    assert died.returncode == -signal.SIGKILL
    job = Job.fetch(taken, connection=get_redis())
    assert job.get_status() == ("queued" if stage == "taken" else "started")
    assert job.get_position() is None  # off its queue: no other worker would run it

    with override_settings(TASK_STALE_S=1.0, TASK_ENQUEUE_SETTLE_S=0.0):
        reconcile()
        task.refresh_from_db()
        if stage == "taken":  # which worker took it is not recorded: it is given TASK_STALE_S to start
            assert task.job_id == taken and task.status == S.PENDING
            time.sleep(1.1)
            reconcile()
            task.refresh_from_db()
    assert task.status == S.PENDING and task.job_id not in ("", taken)  # let go, and queued anew
    with workers(tmp_path, "inference language"):
        wait_for(lambda: status_of(task, S.FINISHED, S.FAILED), what="the task to run")
    assert task.status == S.FINISHED and task.attempt == 1


def test_the_reconciler_fails_a_dead_task_on_its_last_attempt() -> None:
    shot = ShotFactory()
    long_ago = timezone.now() - timedelta(minutes=5)
    task = Task.objects.create(
        kind="image",
        project=shot.project,
        shot=shot,
        status=S.PROCESSING,
        attempt=3,
        max_attempts=3,
        worker="elsewhere:1",
        started_at=long_ago,
        heartbeat_at=long_ago,
    )
    child = services.task_create(kind="compose", project=shot.project, parents=[task])
    report = reconcile()
    assert report.failed == 1
    task.refresh_from_db()
    child.refresh_from_db()
    assert task.status == S.FAILED and "heartbeat stopped" in task.message
    assert child.status == S.CANCELLED
    assert reconcile().failed == 0  # nothing happens twice


def test_pending_tasks_survive_a_redis_restart(tmp_path: Path, private_redis: object) -> None:
    project = ProjectFactory()
    shots = [ShotFactory(project=project, narration="") for _ in range(3)]
    tasks = [image_task(shot) for shot in shots]
    assert Queue("inference", connection=get_redis()).count == 1  # the owner's turn; the rest wait in the database
    private_redis.restart()  # nothing kept: every job is gone
    assert Queue("inference", connection=get_redis()).count == 0
    with workers(tmp_path, "inference language"):
        for task in tasks:
            wait_for(lambda task=task: status_of(task, S.FINISHED), what="a task queued before the restart")
    assert all(task.attempt == 1 for task in tasks)


def test_out_of_memory_splits_the_batch_then_fails_clearly(tmp_path: Path) -> None:
    fits = ProjectFactory()
    split = [ShotFactory(project=fits, order=i, prompt="test:oom:2") for i in range(4)]  # 4 do not fit; 2 do
    never = ShotFactory(prompt="test:oom:0")  # not even one fits
    tasks = [image_task(shot) for shot in [*split, never]]
    Task.objects.filter(pk=tasks[-1].pk).update(max_attempts=2)
    with workers(tmp_path, "inference language", IMAGE_BATCH_SIZE="4"):
        for task in tasks:
            wait_for(lambda task=task: Task.objects.get(pk=task.pk).status in (S.FINISHED, S.FAILED), timeout=90)
    *halves, alone = [Task.objects.get(pk=t.pk) for t in tasks]
    assert [(t.status, t.attempt, t.result["batch"]) for t in halves] == [(S.FINISHED, 1, 2)] * 4
    assert alone.status == S.FAILED and alone.attempt == 2
    assert alone.message.startswith("Out of memory even with one shot at a time. Lower the project's resolution")
    assert "CUDA out of memory" in alone.error


def test_speech_lines_of_a_project_run_as_one_batch_and_a_bad_line_fails_alone(tmp_path: Path) -> None:
    project = ProjectFactory()
    texts = ["The lamp went dark.", "", "Mira climbed the stairs."]
    shots = [ShotFactory(project=project, order=i, narration=text) for i, text in enumerate(texts)]
    tasks = [
        services.task_create(kind="speech", project=project, shot=shot, params={"version": shot.speech_version})
        for shot in shots
    ]
    with workers(tmp_path, "inference language", SPEECH_PARALLEL="2"):
        for task in tasks:
            wait_for(lambda task=task: status_of(task, S.FINISHED, S.FAILED), what="the speech batch to end")
    spoken, silent, climbed = tasks
    assert (spoken.status, climbed.status) == (S.FINISHED, S.FINISHED)
    assert spoken.result["batch"] == climbed.result["batch"] == 3  # claimed together, spoken side by side
    assert silent.status == S.FAILED and silent.attempt == 1  # permanent: not retried
    assert silent.message == "There is no narration to speak."
    for shot, task in zip([shots[0], shots[2]], [spoken, climbed], strict=True):
        shot.refresh_from_db()
        assert shot.speech_hash == task.result["hash"]
        assert shot.speech_duration == pytest.approx(task.result["duration"], abs=0.001) and shot.speech_duration > 0
    assert not Shot.objects.get(pk=shots[1].pk).speech_file
