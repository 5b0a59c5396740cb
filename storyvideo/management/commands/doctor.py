"""``manage.py doctor``: is this installation able to make films, and if not, how to fix it.

Checks the database, Redis, live workers per queue, ffmpeg, the CJK font, free disk space, the
voices and each stage's model weights; prints one line per check with what to do, and exits 1
when something that stops films from being made is wrong (a draft back end standing in for a model is a
warning: films are made, by the draft)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core.disk import disk_space
from core.engines import configured_specs
from core.redis import get_redis
from inference.errors import EngineError
from inference.fonts import cjk_font_path
from inference.registry import configured_report
from tasks.queues import QUEUES, live_workers


@dataclass
class Finding:
    check: str
    level: str  # ok | warning | error
    detail: str
    fix: str = ""


def _database() -> list[Finding]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return [Finding("database", "ok", f"{connection.vendor} answers")]
    except Exception as exc:
        return [Finding("database", "error", str(exc)[:200], "check DATABASE_URL and that the server runs")]


def _redis() -> list[Finding]:
    try:
        get_redis().ping()
    except Exception as exc:
        fix = "start Redis, or check REDIS_URL" if not settings.EMBEDDED_REDIS else "remove var/redis* and start again"
        return [Finding("redis", "error", str(exc)[:200], fix)]
    return [Finding("redis", "ok", "answers")]


def _workers() -> list[Finding]:
    try:
        alive = live_workers()
    except Exception:
        return []  # said by the Redis check
    found = []
    for queue in QUEUES:
        live = alive[queue]  # said they are alive within WORKER_PRESENCE_TTL_S
        if live:
            found.append(Finding(f"workers ({queue})", "ok", f"{len(live)} live"))
        else:
            found.append(
                Finding(
                    f"workers ({queue})",
                    "error",
                    "no live worker: its tasks wait",
                    f"run `python manage.py worker {queue}` (make run starts one per queue)",
                )
            )
    return found


def _programs() -> list[Finding]:
    found = []
    for program, package in (("ffmpeg", "ffmpeg"), ("ffprobe", "ffmpeg"), ("espeak-ng", "espeak-ng")):
        if shutil.which(program):
            found.append(Finding(program, "ok", shutil.which(program) or ""))
        else:
            found.append(Finding(program, "error", "not installed", f"apt-get install {package}"))
    try:
        found.append(Finding("CJK font", "ok", str(cjk_font_path())))
    except EngineError as exc:
        found.append(Finding("CJK font", "error", str(exc), "apt-get install fonts-noto-cjk"))
    return found


def _models() -> list[Finding]:
    found = []
    for entry in configured_report(configured_specs(), settings.MODELS_DIR):
        stage = {"image": "image, the fast tier", "image.quality": "image, the quality tier"}.get(entry["stage"])
        name = f"model ({stage or entry['stage']})"
        if entry["runs"] == entry["spec"]:
            found.append(Finding(name, "ok", entry["spec"]))
        else:
            found.append(
                Finding(
                    name,
                    "warning",
                    f"{entry['spec']} cannot run here ({entry['reason']}); {entry['runs']} runs instead",
                    "python manage.py fetch_models (where the network is reachable)",
                )
            )
    return found


def _disk() -> list[Finding]:
    found = []
    for space in disk_space():
        detail = f"{space.free / 1024**3:.1f} GiB free for {space.path}"
        if space.low:
            minimum = settings.DISK_FREE_MIN_BYTES / 1024**3
            fix = f"free space there (at least {minimum:.1f} GiB: DISK_FREE_MIN_BYTES); renders wait until then"
            found.append(Finding("disk", "error", detail, fix))
        else:
            found.append(Finding("disk", "ok", detail))
    return found


CHECKS: list[Callable[[], list[Finding]]] = [_database, _redis, _workers, _programs, _disk, _models]


class Command(BaseCommand):
    help = "Check that this installation can make films, and say how to fix what it cannot."

    def handle(self, *args: Any, **options: Any) -> None:
        findings = [finding for check in CHECKS for finding in check()]
        marks = {
            "ok": self.style.SUCCESS("ok  "),
            "warning": self.style.WARNING("warn"),
            "error": self.style.ERROR("FAIL"),
        }
        for finding in findings:
            line = f"{marks[finding.level]} {finding.check}: {finding.detail}"
            self.stdout.write(line + (f"\n       fix: {finding.fix}" if finding.fix else ""))
        errors = sum(f.level == "error" for f in findings)
        warnings = sum(f.level == "warning" for f in findings)
        self.stdout.write(f"{len(findings)} checks: {errors} to fix, {warnings} warnings.")
        if errors:
            raise CommandError(f"{errors} problem(s) stop films from being made; see the fixes above.")
