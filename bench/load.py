"""Load on the storyboard read, against the production web command, from a second process.

Sets up a 60-shot project (each shot with a keyframe and narration, 3 rounds of task history:
361 tasks), starts the web server as `make serve` does (uvicorn, WEB_WORKERS processes), and
drives it over loopback with CONCURRENCY clients for SECONDS per phase:

- floor: ``GET /api/v1/health`` (the cheapest request of the same server: the framework's floor);
- full: the storyboard read, as a client without an ETag makes it;
- conditional: the same read with the last ETag (``If-None-Match``), answered 304.

Prints requests/s, p50 and p99 latencies per phase and writes bench/out/load.json.
Usage: python bench/load.py [CONCURRENCY] [SECONDS]
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
os.environ.setdefault("STORYVIDEO_VAR_DIR", str(OUT / "var-load"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storyvideo.settings")
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from accounts.tokens import token_create  # noqa: E402
from projects.models import Project  # noqa: E402
from shots.models import Shot  # noqa: E402
from tasks.models import Task  # noqa: E402

SHOTS, ROUNDS = 60, 3


def set_up() -> tuple[str, str]:
    """A user's token and the id of their 60-shot project (made once, kept between runs)."""
    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="load")
    token = token_create(user=user)  # a new one each run (only its digest is kept)
    project = Project.objects.filter(owner=user, title="load").first()
    if project is None:
        project = Project.objects.create(owner=user, title="load", story="A cat. " * SHOTS, language="en")
        shots = Shot.objects.bulk_create(
            Shot(
                project=project,
                order=i,
                prompt=f"a lighthouse on a rock at dusk, shot {i}",
                narration=f"The keeper climbed the stairs for the {i}th time.",
                seed=i,
                image_file=f"shots/image/{i:032x}.png",
                image_hash=f"{i:064x}",
                speech_file=f"shots/speech/{i:032x}.wav",
                speech_hash=f"{i:064x}",
                speech_duration=3.2,
            )
            for i in range(SHOTS)
        )
        tasks = [Task(kind="storyboard", project=project, owner=user, status="finished", progress=100)]
        for _ in range(ROUNDS):  # each edit round leaves a finished task per shot and stage
            for shot in shots:
                for kind in ("image", "speech"):
                    tasks.append(Task(kind=kind, project=project, shot=shot, owner=user, status="finished"))
        Task.objects.bulk_create(tasks)
    return token, str(project.id)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def phase(url: str, headers: dict[str, str], *, concurrency: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url, headers=headers) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "requests": len(latencies),
        "statuses": statuses,
    }


def main() -> None:
    concurrency = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20
    token, project_id = set_up()
    port = free_port()
    workers = os.environ.get("WEB_WORKERS", "2")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "storyvideo.asgi:application",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={workers}",
            "--no-access-log",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=dict(os.environ),
    )
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Token {token}"}
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        storyboard = f"{base}/api/v1/projects/{project_id}/storyboard"

        async def run() -> dict[str, Any]:
            async with aiohttp.ClientSession() as session, session.get(storyboard, headers=auth) as first:
                body = await first.read()
                etag = first.headers["ETag"]
            await phase(storyboard, auth, concurrency=concurrency, seconds=3)  # warm every worker
            return {
                "body_bytes": len(body),
                "floor": await phase(f"{base}/api/v1/health", {}, concurrency=concurrency, seconds=seconds),
                "full": await phase(storyboard, auth, concurrency=concurrency, seconds=seconds),
                "conditional": await phase(
                    storyboard, {**auth, "If-None-Match": etag}, concurrency=concurrency, seconds=seconds
                ),
            }

        results = asyncio.run(run())
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "database": str(settings.DATABASES["default"]["ENGINE"]).rsplit(".", 1)[-1],
        "web_workers": int(workers),
        "concurrency": concurrency,
        "seconds_per_phase": seconds,
        "shots": SHOTS,
        "tasks": Task.objects.filter(project_id=project_id).count(),
        **results,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "load.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
