"""Operations: `manage.py doctor` says what stops films and how to fix it; /metrics serves
Prometheus figures to staff or a token."""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
import zlib
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from rq import Worker

from core.redis import get_redis
from core.tracing import TraceFilter, trace
from storyvideo.observability import JsonFormatter
from tasks import services
from tasks.models import Task
from tests.factories import ProjectFactory, ShotFactory, UserFactory
from tests.workers import ROOT, wait_for, workers


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_doctor_names_what_is_missing_and_how_to_fix_it(tmp_path: Path) -> None:
    for stale in Worker.all(connection=get_redis()):  # workers earlier tests killed, not yet expired
        stale.register_death()
    for presence in get_redis().scan_iter(match="storyvideo:alive:*"):  # nor their word that they live
        get_redis().delete(presence)
    out = io.StringIO()
    with pytest.raises(CommandError, match="stop films from being made"):
        call_command("doctor", stdout=out)
    text = out.getvalue()
    assert "FAIL workers (inference): no live worker" in text
    assert "fix: run `python manage.py worker inference`" in text
    assert "ok   database" in text and "ok   redis" in text and "ok   ffmpeg" in text
    assert "warn model (image, the fast tier)" in text and "fetch_models" in text  # a draft stands in: films still come

    with workers(tmp_path, "inference language", "media"):
        wait_for(lambda: _doctor_passes(), timeout=60, what="the doctor to see both workers")


def _doctor_passes() -> bool:
    try:
        call_command("doctor", stdout=io.StringIO())
    except CommandError:
        return False
    return True


@pytest.mark.django_db
def test_metrics_are_for_staff_or_the_token(settings: Any, user: Any) -> None:
    settings.METRICS_TOKEN = "a-long-random-metrics-token"
    shot = ShotFactory(project=ProjectFactory(owner=user))
    task = services.task_create(kind="image", project=shot.project, shot=shot, params={"version": 1})
    Task.objects.filter(pk=task.pk).update(
        status="finished",
        backend="draft",
        started_at=task.created_at,
        finished_at=task.created_at + timedelta(seconds=3),
    )

    anonymous, member = Client(), Client()
    member.force_login(user)
    assert anonymous.get("/metrics").status_code == 403
    assert member.get("/metrics").status_code == 403
    assert anonymous.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    anonymous.get("/api/v1/health")  # a request to count

    staff = Client()
    staff.force_login(UserFactory(is_staff=True))
    for response in (
        staff.get("/metrics"),
        anonymous.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}"),
    ):
        assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
        assert samples[("storyvideo_tasks", (("backend", "draft"), ("kind", "image"), ("status", "finished")))] == 1
        assert samples[("storyvideo_engine_seconds_total", (("backend", "draft"), ("kind", "image")))] == 3.0
        assert ("storyvideo_queue_depth", (("queue", "inference"),)) in samples
        assert samples[("storyvideo_http_requests_total", (("method", "GET"), ("status", "2xx")))] >= 1


def test_json_logs_carry_the_trace_id_and_the_traceback() -> None:
    import json

    try:
        raise ValueError("the keyframe is broken")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "storyvideo.tasks", logging.ERROR, __file__, 1, "Task %s failed", ("t1",), sys.exc_info()
        )
    with trace("abc123"):
        TraceFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Task t1 failed" and line["trace_id"] == "abc123" and line["level"] == "ERROR"
    assert "ValueError: the keyframe is broken" in line["exception"]


def test_errors_reach_sentry_with_their_trace_id(tmp_path: Path) -> None:
    """SENTRY_DSN pointed at a server on loopback that speaks the envelope endpoint."""
    received: list[bytes] = []

    class Sentry(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            elif self.headers.get("Content-Encoding") == "deflate":
                body = zlib.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sentry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = (
        "import django, sentry_sdk; django.setup()\n"
        "from core.tracing import trace\n"
        "with trace('trace42'):\n"
        "    try:\n"
        "        raise RuntimeError('the render failed')\n"
        "    except RuntimeError as exc:\n"
        "        sentry_sdk.capture_exception(exc)\n"
        "sentry_sdk.flush(5)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "storyvideo.settings",
        "SENTRY_DSN": f"http://public@127.0.0.1:{server.server_port}/1",
        "STORYVIDEO_VAR_DIR": str(tmp_path),
        "REDIS_URL": settings.REDIS_URL,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for body in received for line in body.splitlines() if b'"exception"' in line]
    assert events, received
    event = events[0]
    assert event["exception"]["values"][0]["type"] == "RuntimeError"
    assert event["tags"]["trace_id"] == "trace42"


def test_processes_starting_side_by_side_read_one_whole_secret_key(tmp_path: Path) -> None:
    """The zero-setup key is made by whichever process starts first; the others, starting at
    the same moment, must read that key whole (never an empty or half-written file), and it is
    its owner's alone."""
    import stat

    from storyvideo.env import secret_key_file

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads change hands as often as they can: the race, if any, shows
    try:
        for attempt in range(30):
            path = tmp_path / f"var{attempt}" / "secret_key"
            start = threading.Barrier(8)
            keys: list[str] = []

            def read(path: Path = path, start: threading.Barrier = start, keys: list[str] = keys) -> None:
                start.wait()
                keys.append(secret_key_file(path))

            threads = [threading.Thread(target=read) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) >= 50, keys
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert [p.name for p in path.parent.iterdir()] == ["secret_key"], "no draft is left behind"
    finally:
        sys.setswitchinterval(switch)


def test_a_command_stops_the_embedded_redis_it_started_unless_another_process_uses_it(tmp_path: Path) -> None:
    from core.embedded import _answers, ensure_redis, leave_redis, socket_path

    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
    env |= {"STORYVIDEO_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "storyvideo.settings"}

    def command() -> None:
        done = subprocess.run(
            [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr

    command()
    assert (tmp_path / "redis.log").exists(), "the command started its own Redis"
    assert not _answers(socket_path(tmp_path)), "and stopped it as it ended"

    ensure_redis(tmp_path)  # this process uses it: a command that ends leaves it running
    try:
        command()
        assert _answers(socket_path(tmp_path))
    finally:
        assert leave_redis(tmp_path), "the last one to leave stops it"
    assert not _answers(socket_path(tmp_path))


def test_runserver_is_daphnes_asgi_server_and_no_other_process_loads_twisted() -> None:
    """Daphne's app starts Twisted's reactor as it loads: every worker and command paid for it."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}

    def run(*args: str, **extra: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env | extra, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "--websocket_handshake_timeout" in run("manage.py", "runserver", "--help")
    loaded = "print(sorted(m for m in sys.modules if m.startswith(('daphne', 'twisted'))))"
    code = f"import django, sys; django.setup(); {loaded}"
    assert run("-c", code, DJANGO_SETTINGS_MODULE="storyvideo.settings").strip() == "[]"


@pytest.mark.parametrize("ending", ["os._exit", "kill -9"])
def test_the_embedded_redis_stops_when_its_last_user_ends_without_its_exit_hooks(tmp_path: Path, ending: str) -> None:
    """`make typecheck` left a redis-server running for hours: mypy's Django plugin starts the
    app, which starts the embedded Redis, and mypy ends with os._exit, which skips the hook that
    would have stopped it. A process killed outright skips it too."""
    from core.embedded import _answers, socket_path

    code = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from core.embedded import ensure_redis\n"
        "ensure_redis(Path(sys.argv[1]))\n"
        "print('joined', flush=True)\n"
        "os._exit(0) if sys.argv[2] == 'os._exit' else time.sleep(600)\n"
    )
    user = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), ending], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert user.stdout is not None and user.stdout.readline() == b"joined\n"
        assert _answers(socket_path(tmp_path)), "it started the server"
    finally:
        if ending == "kill -9":
            user.kill()
        user.wait(timeout=60)
    wait_for(lambda: not _answers(socket_path(tmp_path)), timeout=60, what="the server to stop")
    assert not (tmp_path / "redis.pid").exists(), "it was shut down, not left behind"


@pytest.mark.browser  # the web server is a process of its own
@pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="counts PostgreSQL clients")
def test_a_burst_of_requests_leaves_no_database_connections_behind(server: str, user: Any) -> None:
    """Each request runs on a thread of its own under ASGI: connections kept past their request
    piled up under a burst until PostgreSQL refused more clients (500s)."""
    import asyncio

    import aiohttp
    from django.db import connection

    from accounts.tokens import token_create

    project = ProjectFactory(owner=user)
    headers = {"Authorization": f"Token {token_create(user=user)}"}

    async def burst() -> list[int]:
        async with aiohttp.ClientSession() as session:

            async def read() -> int:
                async with session.get(f"{server}/api/v1/projects/{project.id}", headers=headers) as answer:
                    return answer.status

            return await asyncio.gather(*(read() for _ in range(60)))

    assert set(asyncio.run(burst())) == {200}
    # A request's connections close after its answer is sent: wait for the server to catch up.
    deadline = time.monotonic() + 20
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name <> current_setting('application_name')"
            )
            (others,) = cursor.fetchone()
        if others <= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert others <= 5, f"{others} connections are left open by the web server"


def test_the_web_servers_connection_closing_leaves_the_test_clients_requests_alone(api: Any, user: Any) -> None:
    """Loading the ASGI application (as the live and WebSocket tests do) once closed every
    connection at the end of every request, the test client's too: each later request of a test
    in a transaction failed with "connection already closed"."""
    import storyvideo.asgi  # noqa: F401 - connects the web server's request_finished handler

    project = ProjectFactory(owner=user)
    for _ in range(2):
        assert api.get(f"/api/v1/projects/{project.id}").status_code == 200
    assert type(project).objects.filter(id=project.id).exists()
