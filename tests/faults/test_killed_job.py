"""Issue 12's fault suite: the job process killed mid-composition (the OOM killer picks the media
worker's forked job process, not the worker). The worker lives on, the ffmpegs the dead job
started end with it (none keeps running, orphaned, into a folder no one owns), the reconciler
sees the job's process gone and the render runs again, once."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from projects.models import Project
from projects.pipeline import project_render
from tasks.models import Task
from tests.workers import wait_for, workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
S = Task.Status


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def slow_first_ffmpeg(tmp_path: Path) -> tuple[Path, Path, Path]:
    """An ffmpeg whose first call sleeps a minute before it runs (each call writes its pid): the
    script, the pids' file, and the file its first call makes."""
    pids, first_call = tmp_path / "pids", tmp_path / "first-call"
    slow = tmp_path / "ffmpeg-slow-once"
    real = shutil.which("ffmpeg")
    assert real
    slow.write_text(
        f'#!/bin/sh\necho $$ >> "{pids}"\n[ -e "{first_call}" ] || {{ touch "{first_call}"; exec sleep 60; }}\n'
        f'exec "{real}" "$@"\n'
    )
    slow.chmod(0o755)
    return slow, pids, first_call


def render_again(rendered: Project) -> Task:
    """The render after an edit of its first shot: one segment and the sound to make again."""
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    shot.pinned_duration = 4.0
    shot.save()
    return project_render(project=rendered)


def test_a_killed_job_process_takes_its_ffmpegs_with_it_and_the_render_runs_again(
    rendered: Project, tmp_path: Path
) -> None:
    slow, pids, first_call = slow_first_ffmpeg(tmp_path)
    film = rendered.render_video.name
    task = render_again(rendered)

    with workers(tmp_path, "media", IMAGEIO_FFMPEG_EXE=str(slow)) as (worker,):
        wait_for(lambda: first_call.exists(), timeout=60, what="the first ffmpeg")
        task.refresh_from_db()
        job_process = int(task.worker.rsplit(":", 1)[1])
        assert job_process != worker.pid  # the forked job process, not the worker
        os.kill(job_process, signal.SIGKILL)
        hung = [int(pid) for pid in pids.read_text().split()]
        wait_for(lambda: not any(alive(pid) for pid in hung), timeout=10, what=f"the dead job's ffmpegs {hung} to end")
        wait_for(lambda: Task.objects.get(pk=task.pk).status == S.FINISHED, timeout=120, what=worker.output()[-3000:])
        assert worker.process.poll() is None
    task.refresh_from_db()
    rendered.refresh_from_db()
    assert task.attempt == 2
    assert rendered.render_video.name != film and Path(rendered.render_video.path).is_file()


def test_a_killed_worker_takes_its_job_process_with_it_and_the_render_is_handed_back(
    rendered: Project, tmp_path: Path
) -> None:
    """The worker itself killed (SIGKILL, the OOM killer's choice) while its forked job process
    composes: the job process does not run on, orphaned, with no worker watching it; it hands
    its task back as at a stop, and its ffmpegs end with it."""
    slow, pids, first_call = slow_first_ffmpeg(tmp_path)
    task = render_again(rendered)

    with workers(tmp_path, "media", IMAGEIO_FFMPEG_EXE=str(slow)) as (worker,):
        wait_for(lambda: first_call.exists(), timeout=60, what="the first ffmpeg")
        task.refresh_from_db()
        job_process = int(task.worker.rsplit(":", 1)[1])
        assert job_process != worker.pid and alive(job_process)
        worker.kill()
        wait_for(lambda: not alive(job_process), timeout=20, what="the job process to end with its worker")
        hung = [int(pid) for pid in pids.read_text().split()]
        wait_for(lambda: not any(alive(pid) for pid in hung), timeout=10, what=f"the job's ffmpegs {hung} to end")
    task.refresh_from_db()
    assert (task.status, task.attempt) == (S.PENDING, 0), (task.status, task.attempt, task.message)
    assert "worker was stopped" in task.message
