"""Finding 8 and the scratch-folder part of 6 (and issue 25's finding 5): a full disk during
composition waits for space without using its attempts, keeps the previous film, says the disk
is full, goes on by itself once space is back, fails saying so when it never is, and leaves no
files behind."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from rq.job import Job

from core.redis import get_redis
from projects.models import Project
from projects.pipeline import project_render
from tasks.models import Task
from tasks.reconciler import reconcile
from tests.workers import ROOT, wait_for, worker_env, workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
S = Task.Status
FULL = "The disk is full (no space left to write the output): free some space"


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


def _state(task: Task, log: str) -> Callable[[], str]:
    """What the test waited on, as it stands: the project's tasks, their jobs and the burst's words."""

    def said() -> str:
        rows = Task.objects.filter(project_id=task.project_id).order_by("created_at")
        fields = ("kind", "status", "attempt", "job_id", "run_after", "waiting_since", "message")
        jobs = [Job.fetch(row.job_id, connection=get_redis()) for row in rows.exclude(job_id="")]
        where = [(job.id, job.get_status(), job.get_position()) for job in jobs]  # position None: taken
        return f"{list(rows.values_list(*fields))}\njobs: {where}\nthe burst said: {log[-3000:]}"

    return said


def test_a_full_disk_waits_for_space_says_so_and_goes_on_by_itself(rendered: Project, tmp_path: Path) -> None:
    """A full disk once spent the render's three attempts in ~90 s, then failed for good while its
    message said "it is tried again", and the page said all was ready. Now the render waits for
    space without using its attempts, the page says the disk is full, and it goes on by itself."""
    film = rendered.render_video.name
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    shot.pinned_duration = 4.0  # an edit the next render is to show
    shot.save()
    task = project_render(project=rendered)
    Task.objects.filter(pk=task.pk).update(max_attempts=1)

    for _ in range(2):  # more full-disk attempts than it has attempts
        log = run_media_worker_on_a_full_disk(tmp_path)
        wait_for(lambda: Task.objects.get(pk=task.pk).status == S.PENDING, timeout=30, what="the task to wait")
    task.refresh_from_db()
    assert task.attempt == 0 and task.waiting_since is not None, (task.status, task.message, log[-2000:])
    assert task.message.startswith(f"{FULL}. It is tried again by itself")
    rendered.refresh_from_db()
    assert rendered.status == Project.Status.RENDERING
    assert rendered.status_message.startswith(f"{FULL}. The work goes on by itself once it is put right.")
    assert rendered.render_video.name == film and Path(rendered.render_video.path).is_file()

    # Space again: the render goes on without being asked for again.
    with workers(tmp_path, "media"):
        wait_for(lambda: Task.objects.get(pk=task.pk).status == S.FINISHED, timeout=120, what="the render")
        wait_for(lambda: Project.objects.get(pk=rendered.pk).status_message == "", timeout=30, what="the line to clear")
        # The render's follow-up work (the clips for an editor) ends too, so the bursts below find
        # the next render alone: an owner has one place on the media queue.
        settled = lambda: not rendered.tasks.filter(status__in=Task.UNFINISHED).exists()  # noqa: E731
        wait_for(settled, timeout=60, what=_state(task, ""))
    rendered.refresh_from_db()
    assert rendered.render_video.name != film
    film = rendered.render_video.name

    # A disk that stays full past TASK_WAIT_FOR_RESOURCE_S: the render fails for good, saying so.
    shot.pinned_duration = 5.0
    shot.save()
    task = project_render(project=rendered)
    log = run_media_worker_on_a_full_disk(tmp_path)
    waits = lambda: Task.objects.get(pk=task.pk).status == S.PENDING  # noqa: E731
    wait_for(waits, timeout=30, what=_state(task, log))
    Task.objects.filter(pk=task.pk).update(waiting_since=timezone.now() - timedelta(minutes=31), run_after=None)
    log = run_media_worker_on_a_full_disk(tmp_path)
    failed = lambda: Task.objects.get(pk=task.pk).status == S.FAILED  # noqa: E731
    wait_for(failed, timeout=30, what=_state(task, log))
    task.refresh_from_db()
    assert task.message == f"{FULL}. It stayed so for 31 min; try again once it is put right."
    # The project's line is derived once the job has settled its tasks, just after the task's own commit.
    stale = lambda: "out of date" in Project.objects.get(pk=rendered.pk).status_message  # noqa: E731
    wait_for(stale, timeout=30, what="the warning")
    rendered.refresh_from_db()
    assert rendered.render_video.name == film and Path(rendered.render_video.path).is_file()
    assert rendered.status == Project.Status.RENDERED
    assert rendered.status_message.startswith(f"The film is out of date: its last render failed ({FULL}. It stayed")
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
    assert reconcile().folders_removed >= 1  # this one, and any an earlier test's killed job left
    assert not dead.exists() and fresh.exists()
