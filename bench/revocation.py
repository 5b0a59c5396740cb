"""How soon a right taken away closes the sockets that relied on it (issue 25, finding 1).

A real web server (daphne, as under ``make run``) holds a viewer's WebSocket on a project; this
process removes the viewer (``projects.sharing.member_remove``, as the API's DELETE does) and
times the socket's close, through the real channel layer on Redis. N rounds; prints the median
and the slowest, writes bench/out/revocation.json. Usage: python bench/revocation.py [N]
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
os.environ.setdefault("STORYVIDEO_VAR_DIR", str(OUT / "var"))
os.environ["DJANGO_SETTINGS_MODULE"] = "storyvideo.settings"
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import aiohttp  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from projects.models import Member, Project  # noqa: E402
from projects.sharing import member_remove  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def one_round(server: str, cookie: str, project: Project, viewer_id: int) -> float:
    await sync_to_async(Member.objects.create)(project=project, user_id=viewer_id, role=Member.Role.VIEWER)
    headers = {"Origin": server, "Cookie": cookie}
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{server.replace('http', 'ws', 1)}/ws/projects/{project.id}/", headers=headers) as watching,
    ):
        assert (await watching.receive_json(timeout=10))["type"] == "hello"
        await sync_to_async(member_remove)(project=project, user_id=viewer_id)
        removed = time.monotonic()
        message = await watching.receive(timeout=10)
        took = time.monotonic() - removed
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), message
    assert watching.close_code == 4404, watching.close_code
    return took


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    OUT.mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    owner, _ = users.get_or_create(username="bench-owner")
    viewer, _ = users.get_or_create(username="bench-viewer")
    project = Project.objects.create(owner=owner, title="bench", story="bench.", language="en", auto_render=False)
    browser = Client()
    browser.force_login(viewer)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "storyvideo.asgi:application"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}"
        times = [asyncio.run(one_round(url, cookie, project, viewer.pk)) for _ in range(rounds)]
    finally:
        server.terminate()
        server.wait(timeout=10)
        project.delete()
    results = {
        "database": django.db.connection.vendor,
        "rounds": rounds,
        "close_after_removal_ms_median": round(statistics.median(times) * 1000, 1),
        "close_after_removal_ms_max": round(max(times) * 1000, 1),
    }
    (OUT / "revocation.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
