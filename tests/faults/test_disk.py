"""Finding 8 and the scratch-folder part of 6: a full disk during composition is retried with
backoff, keeps the previous film, says the film is out of date, and leaves no files behind."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from projects.models import Project
from projects.pipeline import project_render
from tasks.models import Task
from tasks.reconciler import reconcile
from tests.workers import ROOT, wait_for, worker_env, workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
S = Task.Status


def run_media_worker_on_a_full_disk(tmp_path: Path) -> str:
    """One burst of the media worker whose scratch folder (var/work) is a 64 KiB tmpfs of its own
    mount namespace, so the film cannot be written. Needs no root: a user namespace maps us."""
    work = settings.VAR_DIR / "work"
    work.mkdir(parents=True, exist_ok=True)
    script = 'mount -t tmpfs -o size=64k tmpfs "$0" && exec "$@"'
    command = [sys.executable, str(ROOT / "manage.py"), "worker", "media", "--burst"]
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, str(work), *command],
        cwd=ROOT,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_a_full_disk_is_retried_keeps_the_film_and_says_it_is_out_of_date(rendered: Project, tmp_path: Path) -> None:
    film = rendered.render_video.name
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    shot.pinned_duration = 4.0  # an edit the next render is to show
    shot.save()
    task = project_render(project=rendered)
    Task.objects.filter(pk=task.pk).update(max_attempts=2)

    log = run_media_worker_on_a_full_disk(tmp_path)
    task.refresh_from_db()
    assert task.status == S.PENDING and task.attempt == 1, (task.status, task.message, log[-2000:])
    assert "disk is full" in task.message and "retrying in" in task.message
    assert task.run_after is not None

    run_media_worker_on_a_full_disk(tmp_path)  # the second and last attempt meets a full disk too
    wait_for(lambda: Task.objects.get(pk=task.pk).status == S.FAILED, timeout=30, what="the last attempt to fail")
    # The project's line is derived once the job has settled its tasks, just after the task's own commit.
    stale = lambda: "out of date" in Project.objects.get(pk=rendered.pk).status_message  # noqa: E731
    wait_for(stale, timeout=30, what="the warning")
    rendered.refresh_from_db()
    assert rendered.render_video.name == film and Path(rendered.render_video.path).is_file()
    assert rendered.status == Project.Status.RENDERED
    assert rendered.status_message.startswith("The film is out of date: its last render failed (The disk is full")

    # With space again, rendering again makes the edited film and the warning goes.
    with workers(tmp_path, "media"):
        again = project_render(project=rendered)
        wait_for(lambda: Task.objects.get(pk=again.pk).status == S.FINISHED, timeout=120, what="the render")
        wait_for(lambda: Project.objects.get(pk=rendered.pk).status_message == "", timeout=30, what="the warning to go")
    rendered.refresh_from_db()
    assert rendered.render_video.name != film and rendered.status_message == ""
    scratch = {p.name for p in (settings.VAR_DIR / "work").iterdir()}
    assert not scratch & {str(t.id) for t in rendered.tasks.all()}, "no task of the project leaves its scratch folder"


def test_the_reconciler_removes_scratch_folders_of_jobs_that_died(db: None) -> None:
    work = settings.VAR_DIR / "work"
    dead = work / str(uuid.uuid4())
    fresh = work / str(uuid.uuid4())
    for folder in (dead, fresh):
        folder.mkdir(parents=True)
        (folder / "film.mp4").write_bytes(b"partial")
    os.utime(dead, (0, 0))
    assert reconcile().folders_removed == 1
    assert not dead.exists() and fresh.exists()
