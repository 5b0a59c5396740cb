"""``manage.py make_video STORY_FILE``: the whole pipeline through the queue, from the
command line. Starts one worker per queue unless ``--no-workers`` (workers already running),
waits for the film, and prints where it is and what produced each stage."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.styles import ASPECT_RATIOS, RESOLUTIONS, STYLES
from projects.models import Project
from projects.services import project_create
from tasks.models import Task
from tasks.selectors import stages_last_ran


class Command(BaseCommand):
    help = "Turn a story file into a film through the task queue and print where the MP4 is."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("story_file", type=Path)
        parser.add_argument("--shots", type=int, default=8)
        parser.add_argument("--style", choices=sorted(STYLES), default="storybook")
        parser.add_argument("--aspect-ratio", choices=sorted(ASPECT_RATIOS), default="16:9")
        parser.add_argument("--resolution", choices=sorted(RESOLUTIONS), default="720p")
        parser.add_argument("--user", default="demo", help="Owner of the project (created if missing).")
        parser.add_argument("--no-workers", action="store_true", help="Use workers that are already running.")
        parser.add_argument("--timeout", type=float, default=3600)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["story_file"]
        try:
            story = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None
        if not story.strip() or len(story) > 20_000:
            raise CommandError(f"{path}: a story must have 1 to 20,000 characters.")
        if not 1 <= options["shots"] <= 60:
            raise CommandError("--shots must be between 1 and 60.")
        owner, _ = get_user_model().objects.get_or_create(username=options["user"])
        workers = [] if options["no_workers"] else [self._start(queue) for queue in ("inference", "media")]
        try:
            project, _ = project_create(
                owner=owner,
                story=story,
                shot_count=options["shots"],
                style=options["style"],
                aspect_ratio=options["aspect_ratio"],
                resolution=options["resolution"],
                auto_render=True,
            )
            self.stdout.write(f"Project {project.id}: {project.title!r} ({project.language})")
            project = self._wait(project, options["timeout"])
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
        self._report(project)

    def _start(self, queue: str) -> subprocess.Popen[bytes]:
        log = open(settings.VAR_DIR / f"make_video-{queue}.log", "ab")  # noqa: SIM115 - the worker's log
        return subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker", queue],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def _wait(self, project: Project, timeout: float) -> Project:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            project.refresh_from_db()
            tasks = list(project.tasks.all())
            busy = [t for t in tasks if t.status in Task.UNFINISHED]
            line = f"{project.status}: {sum(t.status == 'finished' for t in tasks)} of {len(tasks)} tasks done"
            running = next((t for t in busy if t.status == Task.Status.PROCESSING), None)
            if running:
                line += f" — {running.kind} {running.progress}% {running.message}"
            if line != last:
                self.stdout.write(line)
                last = line
            if tasks and not busy and project.status != Project.Status.STORYBOARDING:
                return project
            time.sleep(0.5)
        raise CommandError(f"Timed out after {timeout:.0f} s; the project's tasks go on in the background.")

    def _report(self, project: Project) -> None:
        """One short summary: what ran per stage (from what the workers recorded), the film, the
        subtitles, and how to open the project in the browser."""
        for task in project.tasks.filter(status=Task.Status.FAILED):
            self.stderr.write(f"{task.kind} failed: {task.message[:200]}")
        if not project.render_video:
            raise CommandError("No film was made; see the failures above.")
        out = self.stdout.write
        out(self.style.SUCCESS(f"\n{project.title} — {project.shots.count()} shots, {project.render_duration:.1f} s"))
        ran = stages_last_ran(tasks=project.tasks.all())
        for entry in ran:
            instead = f", instead of {entry['spec']} (not available here)" if entry["draft"] else ""
            out(f"  {entry['stage'].capitalize():<11} {entry['runs']}{instead}")
        if not project.animate:
            out(f"  {'Motion':<11} camera moves")
        out(f"  {'Film':<11} {Path(project.render_video.path)}")
        out(f"  {'Subtitles':<11} {Path(project.render_srt.path)}")
        name = project.owner.get_username()
        out(f"  {'Open it':<11} make run, then http://localhost:8000/projects/{project.id}/ as {name}")
        if not project.owner.password or not project.owner.has_usable_password():
            out(f"  {'':<11} (give {name} a password first: python manage.py changepassword {name})")
        if any(entry["draft"] for entry in ran):
            out(self.style.WARNING("Drafts stood in: python manage.py fetch_models where the network is reachable."))
