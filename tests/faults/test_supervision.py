"""Finding 3: `make run` supervises its processes; a worker that dies is started again."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workers import ROOT, wait_for, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def status(env: dict[str, str]) -> dict[str, tuple[str, int]]:
    """supervisorctl's view: program -> (state, pid)."""
    out = subprocess.run(
        [str(Path(env["BIN"]) / "supervisorctl"), "-c", "deploy/supervisord.conf", "status"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found = {}
    for line in out.splitlines():
        match = re.match(r"^(\w+)\s+(\w+)(?:\s+pid (\d+))?", line)
        if match:
            found[match[1]] = (match[2], int(match[3] or 0))
    return found


def test_the_supervisor_restarts_a_worker_that_was_killed(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = worker_env(
        ROOT=str(ROOT),
        BIN=str(Path(sys.executable).parent),
        RUN_DIR=str(tmp_path),
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_WORKERS="1",
    )
    log = open(tmp_path / "supervisord.log", "wb")  # noqa: SIM115 - closed below
    supervisor = subprocess.Popen(
        [str(Path(env["BIN"]) / "supervisord"), "-c", "deploy/supervisord.conf"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        running = wait_for(
            lambda: (
                (s := status(env)) and all(s.get(p, ("",))[0] == "RUNNING" for p in ("web", "inference", "media")) and s
            ),
            timeout=60,
            what="the three programs to run",
        )
        killed = running["inference"][1]
        os.kill(killed, signal.SIGKILL)
        again = wait_for(
            lambda: (s := status(env)).get("inference", ("", 0))[0] == "RUNNING" and s["inference"][1] != killed and s,
            timeout=60,
            what="the inference worker to be started again",
        )
        assert again["web"] == running["web"] and again["media"] == running["media"], "only the dead one restarts"
    finally:
        os.killpg(supervisor.pid, signal.SIGTERM)
        supervisor.wait(timeout=60)
        log.close()
    output = (tmp_path / "supervisord.log").read_text(errors="replace")
    assert "exited: inference (terminated by SIGKILL" in output, output[-3000:]
