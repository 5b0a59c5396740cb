"""Issue 12, "many machines": the same code with the web process and the workers on machines that
share no disk, only PostgreSQL, Redis and an S3-compatible object store (moto's server, on
loopback). Each "machine" is a working directory of its own and a host name of its own (a UTS
namespace), so the only way one machine learns that another died is the one real machines have:
its heartbeat stops. A project renders through the web API, its media live only in the bucket
and reach the client through signed, expiring URLs, and when machine A dies mid-job machine B
takes the job over and renders the edit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.db import connection

from accounts.tokens import token_create
from inference.media import probe
from projects.models import Project
from tasks.models import Task
from tests.object_store import free_port, object_store, up
from tests.workers import ROOT, wait_for, worker_env

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="machines share no disk: needs PostgreSQL (CI)"),
]
S = Task.Status


class Machine:
    """Processes that share nothing with the others but the database, Redis and the bucket."""

    def __init__(self, name: str, root: Path, env: dict[str, str]) -> None:
        self.name, self.root, self.env = name, root, env
        self.var = root / name
        self.var.mkdir(parents=True)
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *command: str, **extra: str) -> subprocess.Popen[bytes]:
        log = open(self.var / f"{len(self.processes)}.log", "ab")  # noqa: SIM115 - kept for the process's life
        process = subprocess.Popen(
            # Its own host name: task rows say "machine-a:PID", as on a machine of its own.
            [
                "unshare",
                "--user",
                "--map-root-user",
                "--uts",
                "sh",
                "-c",
                'hostname "$0" && exec "$@"',
                self.name,
                *command,
            ],
            cwd=ROOT,
            env=worker_env(**self.env, **extra, STORYVIDEO_VAR_DIR=str(self.var)),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def workers(self) -> None:
        for queues in (("inference", "language"), ("media",)):
            self.start(sys.executable, str(ROOT / "manage.py"), "worker", *queues)

    def output(self) -> str:
        return "".join(log.read_text(errors="replace")[-3000:] for log in sorted(self.var.glob("*.log")))

    def die(self) -> None:
        """Power off: SIGKILL to everything, no clean-up."""
        for process in self.processes:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def files(self, folder: str) -> list[Path]:
        return [p for p in (self.var / folder).rglob("*") if p.is_file()]


def fetch(url: str) -> requests.Response:
    return requests.get(url, timeout=30)


def test_web_and_workers_on_machines_sharing_no_disk_render_and_take_over_from_a_dead_one(
    tmp_path: Path, user: Any
) -> None:
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token_create(user=user)}"
    with object_store(tmp_path) as store:
        machines = {**store, "TASK_STALE_S": "3"}  # a machine that stops beating is dead after 3 s
        web, a, b = (Machine(name, tmp_path, machines) for name in ("web-1", "machine-a", "machine-b"))
        try:
            port = free_port()
            web.start(sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "storyvideo.asgi:application")
            base = f"http://127.0.0.1:{port}/api/v1"
            wait_for(lambda: up(f"{base}/health"), timeout=30, what="the web machine")
            a.workers()

            created = api.post(
                f"{base}/projects",
                json={"story": "A keeper lit the lamp. A ship came home through the fog.", "shotCount": 2},
                timeout=30,
            )
            assert created.status_code == 202, created.text
            pid = created.json()["project"]["id"]
            rendered: Callable[[], Any] = lambda: Project.objects.filter(pk=pid, status="rendered").first()  # noqa: E731
            wait_for(rendered, timeout=240, what=f"the first render: {a.output()}")

            render = api.get(f"{base}/projects/{pid}", timeout=30).json()["render"]
            film_url = render["videoUrl"]
            assert film_url.startswith(f"{store['S3_ENDPOINT_URL']}/{store['S3_BUCKET']}/renders/"), film_url
            query = parse_qs(urlsplit(film_url).query)
            assert "X-Amz-Signature" in query and query["X-Amz-Expires"] == [str(settings.MEDIA_URL_TTL_S)]
            film = tmp_path / "film.mp4"
            film.write_bytes(fetch(film_url).content)
            first = probe(film)
            assert (first.video_streams, first.audio_streams) == (1, 1) and first.duration > 1
            unsigned = fetch(film_url.split("?")[0])
            assert unsigned.status_code == 403, "the bucket hands out media without a signature"
            # The media live in the bucket only: no machine keeps a copy of its own.
            assert not web.files("media") and not a.files("media") and not b.files("media")

            # Machine A dies while painting the edited shot's keyframe.
            shot = api.get(f"{base}/projects/{pid}/storyboard", timeout=30).json()["shots"][0]
            edited = api.patch(f"{base}/shots/{shot['id']}", json={"prompt": "test:sleep:60"}, timeout=30)
            assert edited.status_code == 200, edited.text
            image = Task.objects.filter(shot_id=shot["id"], kind="image").latest("created_at")
            wait_for(
                lambda: Task.objects.filter(pk=image.pk, worker__startswith="machine-a:", progress__gt=0).exists(),
                what=f"machine A to paint: {a.output()}",
            )
            a.die()
            b.workers()
            wait_for(
                lambda: Task.objects.filter(pk=image.pk, status=S.FINISHED).exists(),
                timeout=120,
                what=f"machine B to take the keyframe over: {b.output()}",
            )
            image.refresh_from_db()
            assert image.worker.startswith("machine-b:") and image.attempt == 2
            wait_for(
                lambda: (
                    Project.objects.filter(pk=pid, status="rendered").exclude(render_hash=render["version"]).first()
                ),
                timeout=120,
                what=f"machine B to render the edit: {b.output()}",
            )
            compose = Task.objects.filter(project_id=pid, kind="compose").latest("created_at")
            assert compose.worker.startswith("machine-b:") and compose.status == S.FINISHED

            wait_for(  # then the edited shot's clip for an editor, a task of its own after the film
                lambda: not Task.objects.filter(project_id=pid, status__in=Task.UNFINISHED).exists(),
                timeout=120,
                what=f"machine B to make the edit's clips: {b.output()}",
            )
            again = api.get(f"{base}/projects/{pid}", timeout=30).json()["render"]
            assert again["clipsReady"]
            film.write_bytes(fetch(again["videoUrl"]).content)
            second = probe(film)
            assert (second.video_streams, second.audio_streams) == (1, 1)
            assert not b.files("media") and not b.files("work")  # scratch removed; media in the bucket
        finally:
            for machine in (web, a, b):
                machine.die()
