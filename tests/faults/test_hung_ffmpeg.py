"""Issue 12's fault suite, one point of it: ffmpeg hangs. The attempt ends at the task's timeout,
no hung ffmpeg outlives it (those the composition's threads started included), the film that was
there stays and the project says why the new one is missing. ffmpeg is outside the project: the
one that hangs is a script put in its place through imageio-ffmpeg's IMAGEIO_FFMPEG_EXE."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from projects.models import Project
from projects.pipeline import project_render
from tasks.models import Task
from tests.workers import wait_for, workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def wait_for_or_none(condition: Any, timeout: float) -> Any:
    try:
        return wait_for(condition, timeout=timeout)
    except AssertionError:
        return None


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"  # a zombie is gone


def test_a_hung_ffmpeg_ends_at_the_timeout_and_leaves_nothing_running(
    rendered: Project, tmp_path: Path, settings: Any
) -> None:
    pids = tmp_path / "pids"
    hang = tmp_path / "ffmpeg-that-hangs"
    hang.write_text(f'#!/bin/sh\necho $$ >> "{pids}"\nexec sleep 600\n')
    hang.chmod(0o755)
    film = rendered.render_video.name
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    shot.pinned_duration = 4.0  # an edit: the render has a segment and the sound to make
    shot.save()
    settings.TASK_TIMEOUT_S = 5  # the compose's timeout, taken when it is created and enqueued
    task = project_render(project=rendered)
    Task.objects.filter(pk=task.pk).update(max_attempts=1)

    with workers(tmp_path, "media", IMAGEIO_FFMPEG_EXE=str(hang)) as (worker,):
        wait_for(lambda: pids.is_file() and pids.read_text().split(), timeout=60, what="ffmpeg to hang")
        ended = lambda: Task.objects.get(pk=task.pk).status == Task.Status.FAILED  # noqa: E731
        assert wait_for_or_none(ended, 60), worker.output()[-3000:]
        hung = [int(pid) for pid in pids.read_text().split()]
        wait_for(lambda: not any(running(pid) for pid in hung), timeout=10, what=f"the hung ffmpegs {hung} to end")
    task.refresh_from_db()
    assert task.message == "Timed out after 5 s.", task.message
    rendered.refresh_from_db()
    assert rendered.render_video.name == film and Path(rendered.render_video.path).is_file()
    wait_for(lambda: "Timed out after 5 s" in Project.objects.get(pk=rendered.pk).status_message, timeout=10)
