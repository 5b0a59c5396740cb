"""Issue 12's fault suite: SIGTERM during a job, sent to the worker's whole process group as the
supervisor (``stopasgroup``) and a container stop do. The worker stops the job at once, hands
its task back (the attempt is not counted: a deploy is not the task's fault) and exits; another
worker takes it up and finishes it once. Nothing is attached twice, nothing is left running."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from django.conf import settings

from projects.models import Project
from projects.pipeline import project_render
from tasks import services
from tasks.models import Task
from tests.factories import ShotFactory
from tests.workers import WorkerProcess, wait_for, workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
S = Task.Status


def terminate(worker: WorkerProcess) -> float:
    """SIGTERM to the worker's process group; the seconds it took to exit."""
    started = time.monotonic()
    os.killpg(worker.pid, signal.SIGTERM)
    worker.process.wait(timeout=30)
    return time.monotonic() - started


def test_sigterm_mid_keyframe_hands_the_task_back_and_another_worker_finishes_it(tmp_path: Path) -> None:
    shot = ShotFactory(prompt="test:sleep:60")  # reports progress every 0.1 s for a minute
    task = services.task_create(kind="image", project=shot.project, shot=shot, params={"version": shot.image_version})
    with workers(tmp_path, "inference") as (first,):
        wait_for(lambda: Task.objects.get(pk=task.pk).progress > 0, what="the keyframe to be under way")
        took = terminate(first)
        assert first.process.returncode == 0, first.output()[-2000:]
    assert took < 10, f"the worker took {took:.1f} s to stop (the job had a minute to go)"
    task.refresh_from_db()
    assert (task.status, task.attempt, task.worker) == (S.PENDING, 0, ""), (task.status, task.attempt, task.message)
    assert "worker was stopped" in task.message

    Task.objects.filter(pk=task.pk).update(attempt=1)  # the fault handler sleeps on attempt 1 only
    with workers(tmp_path, "inference") as (second,):
        wait_for(lambda: Task.objects.get(pk=task.pk).status == S.FINISHED, timeout=90, what=second.output()[-2000:])
    task.refresh_from_db()
    shot.refresh_from_db()
    assert task.attempt == 2 and task.error == ""
    assert shot.image_file and shot.image_file.name == task.result["file"]


def test_sigterm_mid_composition_hands_the_render_back_with_no_ffmpeg_left(rendered: Project, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    slow = tmp_path / "ffmpeg-slow"
    real = shutil.which("ffmpeg")
    assert real
    slow.write_text(f'#!/bin/sh\necho $$ >> "{pids}"\nsleep 2\nexec "{real}" "$@"\n')
    slow.chmod(0o755)
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    shot.pinned_duration = 4.0  # an edit: one segment and the sound to make again
    shot.save()
    film = rendered.render_video.name
    task = project_render(project=rendered)

    with workers(tmp_path, "media", IMAGEIO_FFMPEG_EXE=str(slow)) as (first,):
        wait_for(lambda: pids.is_file() and pids.read_text().split(), timeout=60, what="the first ffmpeg")
        took = terminate(first)
    assert took < 10, f"the worker took {took:.1f} s to stop"
    ffmpegs = [int(pid) for pid in pids.read_text().split()]
    assert not [pid for pid in ffmpegs if Path(f"/proc/{pid}").exists()], "an ffmpeg outlived its worker"
    task.refresh_from_db()
    assert (task.status, task.attempt) == (S.PENDING, 0), (task.status, task.attempt, task.message)
    assert not (settings.VAR_DIR / "work" / str(task.id)).exists()
    rendered.refresh_from_db()
    assert rendered.render_video.name == film  # the film that was there stays until the new one is made

    with workers(tmp_path, "media"):
        wait_for(lambda: Task.objects.get(pk=task.pk).status == S.FINISHED, timeout=120, what="the render")
    task.refresh_from_db()
    rendered.refresh_from_db()
    assert task.attempt == 1
    assert rendered.render_video.name != film and Path(rendered.render_video.path).is_file()
