"""``manage.py make_video STORY_FILE...``: the whole pipeline through the queue, from the
command line. Starts one worker per queue unless ``--no-workers`` (workers already running),
waits for the film, and prints where it is and what produced each stage.

Several story files, folders of them (``*.txt``) or a ``--manifest`` (JSON: a list of
``{"file": ..., "shots", "style", "aspect_ratio", "resolution", "title"}``, files relative to
the manifest) make a batch: every story is checked before any project is made, the films are
made side by side through the same workers, one progress bar each, then a table; the command
exits non-zero naming the films that failed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.styles import ASPECT_RATIOS, RESOLUTIONS, STYLE_MAX_CHARS, STYLES, style_key
from projects.models import Project
from projects.render import check_summary
from projects.selectors import stages_last_ran
from projects.services import projects_create_batch
from tasks.models import Task
from tasks.queues import QUEUES

SETTINGS = {"shots", "style", "aspect_ratio", "resolution", "title"}


@dataclass
class Story:
    path: Path
    text: str
    settings: dict[str, Any] = field(default_factory=dict)


def _read(project: Project) -> list[Task]:
    """The film's tasks, then the film read again: in this order, a render applied between the
    two reads (its task finished with the film's row, in one transaction) is seen on the film
    too. The other order once reported a made film as failed."""
    tasks = list(project.tasks.all())
    project.refresh_from_db()
    return tasks


def _ended(project: Project, tasks: list[Task]) -> bool:
    """Whether the film's work is over: made, or failed with nothing left to run."""
    return (
        bool(tasks)
        and not any(t.status in Task.UNFINISHED for t in tasks)
        and project.status != Project.Status.STORYBOARDING
    )


class Command(BaseCommand):
    help = "Turn story files into films through the task queue and print where the MP4s are."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stories", type=Path, nargs="*", help="Story files, or folders of .txt stories.")
        parser.add_argument("--manifest", type=Path, help="A JSON list of stories with their own settings.")
        parser.add_argument("--shots", type=int, default=8)
        parser.add_argument(
            "--style", default="storybook", help=f"a preset ({', '.join(STYLES)}) or a style's own words"
        )
        parser.add_argument("--aspect-ratio", choices=sorted(ASPECT_RATIOS), default="16:9")
        parser.add_argument("--resolution", choices=sorted(RESOLUTIONS), default="720p")
        parser.add_argument("--user", default="demo", help="Owner of the projects (created if missing).")
        parser.add_argument("--no-workers", action="store_true", help="Use workers that are already running.")
        parser.add_argument("--timeout", type=float, default=3600)

    def handle(self, *args: Any, **options: Any) -> None:
        defaults = {name: options[name] for name in ("shots", "style", "aspect_ratio", "resolution")}
        stories = self._stories(options["stories"], options["manifest"], defaults)
        owner, _ = get_user_model().objects.get_or_create(username=options["user"])
        workers = [] if options["no_workers"] else [self._start(queue) for queue in QUEUES]
        try:
            made = projects_create_batch(owner=owner, items=[self._item(story) for story in stories])
            projects = [project for project, _ in made]
            if len(projects) == 1:
                project = projects[0]
                self.stdout.write(f"Project {project.id}: {project.title!r} ({project.language})")
                project = self._wait(project, options["timeout"])
            else:
                projects = self._wait_all(projects, [story.path for story in stories], options["timeout"])
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
        if len(projects) == 1:
            self._report(projects[0])
        else:
            self._table(projects, [story.path for story in stories])

    def _stories(self, paths: list[Path], manifest: Path | None, defaults: dict[str, Any]) -> list[Story]:
        """Every story read and checked before anything is made; all the problems at once."""
        wanted: list[tuple[Path, dict[str, Any]]] = []
        problems: list[str] = []
        for path in paths:
            if path.is_dir():
                found = sorted(path.glob("*.txt"))
                wanted += [(story, {}) for story in found]
                if not found:
                    problems.append(f"{path}: no .txt stories in this folder.")
            else:
                wanted.append((path, {}))
        if manifest is not None:
            try:
                entries = json.loads(manifest.read_text(encoding="utf-8"))
                if not isinstance(entries, list) or not all(isinstance(e, dict) and "file" in e for e in entries):
                    raise ValueError('a JSON list of {"file": ...} objects is expected')
            except (OSError, ValueError) as exc:
                raise CommandError(f"{manifest}: {exc}") from None
            for entry in entries:
                unknown = sorted(set(entry) - SETTINGS - {"file"})
                if unknown:
                    problems.append(f"{manifest}: {entry['file']}: unknown settings {', '.join(unknown)}.")
                wanted.append((manifest.parent / str(entry["file"]), {k: v for k, v in entry.items() if k in SETTINGS}))
        if not wanted and not problems:
            raise CommandError("Name at least one story file, folder or --manifest.")
        stories = []
        for path, own in wanted:
            story = Story(path, "", {**defaults, **own})
            try:
                story.text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"Cannot read {path}: {exc}")
                continue
            problems += [f"{path}: {problem}" for problem in self._check(story)]
            stories.append(story)
        if problems:
            raise CommandError("Nothing was made:\n  " + "\n  ".join(problems))
        return stories

    @staticmethod
    def _check(story: Story) -> list[str]:
        settings_ = story.settings
        problems = []
        if not story.text.strip() or len(story.text) > 20_000:
            problems.append("a story must have 1 to 20,000 characters.")
        if not isinstance(settings_["shots"], int) or not 1 <= settings_["shots"] <= 60:
            problems.append("shots must be between 1 and 60.")
        style = settings_["style"]
        if not isinstance(style, str) or not style.strip() or len(style) > STYLE_MAX_CHARS or "\n" in style:
            problems.append(
                f"style must be a preset ({', '.join(STYLES)}) or one line of at most {STYLE_MAX_CHARS} characters."
            )
        for name, choices in (("aspect_ratio", ASPECT_RATIOS), ("resolution", RESOLUTIONS)):
            if settings_[name] not in choices:
                problems.append(f"{name} must be one of {', '.join(sorted(choices))}.")
        if not isinstance(settings_.get("title", ""), str) or len(settings_.get("title", "")) > 200:
            problems.append("title must be text of at most 200 characters.")
        return problems

    @staticmethod
    def _item(story: Story) -> dict[str, Any]:
        chosen = story.settings
        return {
            "story": story.text,
            "title": chosen.get("title", ""),
            "shot_count": chosen["shots"],
            "style": style_key(chosen["style"]) or " ".join(chosen["style"].split()),
            "aspect_ratio": chosen["aspect_ratio"],
            "resolution": chosen["resolution"],
            "auto_render": True,
        }

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
            tasks = _read(project)
            busy = [t for t in tasks if t.status in Task.UNFINISHED]
            line = f"{project.status}: {sum(t.status == 'finished' for t in tasks)} of {len(tasks)} tasks done"
            running = next((t for t in busy if t.status == Task.Status.PROCESSING), None)
            if running:
                line += f" — {running.kind} {running.progress}% {running.message}"
            if line != last:
                self.stdout.write(line)
                last = line
            if _ended(project, tasks):
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
        check = (project.render_manifest or {}).get("check")
        if check:
            out(f"  {'Check':<11} {check_summary(check)}")
            if check["findings"]:  # the worst first; the preview page and GET …/check have them all
                first = check["findings"][0]
                out(f"  {'':<11} {first['severity']}: {first['message']}"[:118])
        name = project.owner.get_username()
        out(f"  {'Open it':<11} make run, then http://localhost:8000/projects/{project.id}/ as {name}")
        if not project.owner.password or not project.owner.has_usable_password():
            out(f"  {'':<11} (give {name} a password first: python manage.py changepassword {name})")
        if any(entry["draft"] for entry in ran):
            out(self.style.WARNING("Drafts stood in: python manage.py fetch_models where the network is reachable."))

    def _wait_all(self, projects: list[Project], paths: list[Path], timeout: float) -> list[Project]:
        """One progress bar per film, redrawn in place on a terminal (a line when one changes
        otherwise), until every film is made or has failed."""
        deadline = time.monotonic() + timeout
        tty = self.stdout.isatty()
        drawn: list[str] = []
        while time.monotonic() < deadline:
            lines, done = [], 0
            for project, path in zip(projects, paths, strict=True):
                tasks = _read(project)
                finished = sum(t.status == Task.Status.FINISHED for t in tasks)
                done += _ended(project, tasks)
                filled = round(20 * finished / len(tasks)) if tasks else 0
                bar = "#" * filled + "-" * (20 - filled)
                lines.append(f"[{bar}] {finished:>3}/{len(tasks):<3} {path.name[:40]:<40} {project.status}")
            if tty and drawn:
                self.stdout.write(f"\x1b[{len(drawn)}A", ending="")
                self.stdout.write("\n".join(f"\x1b[2K{line}" for line in lines))
            elif tty:
                self.stdout.write("\n".join(lines))
            else:
                for index, line in enumerate(lines):
                    if not drawn or drawn[index] != line:
                        self.stdout.write(line)
            drawn = lines
            if done == len(projects):
                return projects
            time.sleep(0.5)
        raise CommandError(f"Timed out after {timeout:.0f} s; the projects' tasks go on in the background.")

    def _table(self, projects: list[Project], paths: list[Path]) -> None:
        """One row per film: its story, status, shots, length and where the MP4 is; then the
        failures, and a non-zero exit naming them."""
        out = self.stdout.write
        out(f"\n{'Story':<32} {'Status':<9} {'Shots':>5} {'Length':>7}  Film")
        failed = []
        for project, path in zip(projects, paths, strict=True):
            if project.render_video:
                out(
                    f"{path.name[:32]:<32} {'made':<9} {project.shots.count():>5} "
                    f"{project.render_duration or 0:>6.1f}s  {Path(project.render_video.path)}"
                )
            else:
                failed.append(path.name)
                reason = next(iter(project.tasks.filter(status=Task.Status.FAILED)), None)
                why = reason.message[:100] if reason else project.status_message[:100]
                out(f"{path.name[:32]:<32} {'failed':<9} {project.shots.count():>5} {'':>7}  {why}")
        if failed:
            raise CommandError(f"{len(failed)} of {len(projects)} films failed: {', '.join(failed)}.")
        out(self.style.SUCCESS(f"{len(projects)} films made."))
