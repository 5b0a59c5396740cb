"""Debian's Chromium as the editor tests and bench/editor.py drive it (Playwright's own browser
download does not work here), and the fixtures of the browser tests: one live ASGI server on
loopback and one Chromium for the whole run (of each xdist worker), and for each test a
Playwright connection to that Chromium and a page that keeps a screenshot of a failed test.

Playwright's sync API runs an event loop in the thread that starts it, as long as it runs: a
connection held for the whole run would refuse every other test's ``asyncio.run`` and make the
ORM refuse this thread. So each test opens its own short connection (over the DevTools protocol)
to the one Chromium, and closes it at its end."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.workers import ROOT, wait_for, worker_env

ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "a-long-test-password"  # the factories' password

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _browser_test(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("browser") is None:
        raise AssertionError("This test drives the browser: mark it @pytest.mark.browser.")


@pytest.fixture(scope="session")
def _server(django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web server of the whole run, on the test database."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path_factory.mktemp("server") / "daphne.log", "wb")  # noqa: SIM115 - open for the life of the server
    process = subprocess.Popen(
        # Daphne drops a socket the application has not accepted within 5 s (make run's uvicorn:
        # 10 s); on a machine loaded past its cores, 200 watchers connecting at once
        # (tests/test_live.py) wait longer than that for their turn at the database, and the test
        # is of what every watcher ends with, not of how fast a socket opens.
        [
            sys.executable,
            "-m",
            "daphne",
            "--websocket_connect_timeout",
            "120",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "storyvideo.asgi:application",
        ],
        cwd=ROOT,
        env=worker_env(ALLOWED_HOSTS="127.0.0.1,localhost"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return urllib.request.urlopen(f"{base}/api/v1/health", timeout=1).status == 200  # noqa: S310 - loopback
        except OSError:
            return False

    try:
        wait_for(up, timeout=60, what="the web server")
        yield base
    finally:
        process.kill()
        process.wait()
        log.close()


@pytest.fixture
def server(_server: str, transactional_db: None) -> str:
    """The web server, for a test whose data it must see: the test commits."""
    return _server


@pytest.fixture(scope="session")
def _chromium() -> Iterator[str]:
    """One headless Chromium for the whole run; its DevTools address."""
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [CHROMIUM, *ARGS, "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its renderers and helpers go with it
        )
        assert process.stderr is not None
        address = ""
        for line in process.stderr:
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                address = found.group(1)
                break
        process.stderr.close()
        try:
            if not address:
                raise RuntimeError(f"Chromium did not start (exit status {process.wait(timeout=10)})")
            yield address
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def browser(_chromium: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    _browser_test(request)
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the test makes
    # beside it are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.connect_over_cdp(_chromium)
        opened = list(chromium.contexts)
        try:
            yield chromium
        finally:
            for context in chromium.contexts:  # what the test opened, not Chromium's own
                if context not in opened:
                    context.close()
            chromium.close()  # the connection; Chromium itself goes on for the next test


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: page.console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/projects/")


def shot_menu(card: Any) -> Any:
    """A storyboard card with its menu open: everything of the shot but its picture, narration,
    Approved box and Save sits behind that one menu."""
    if not card.locator(".more").evaluate("menu => menu.open"):
        card.locator(".more > summary").click()
    return card
