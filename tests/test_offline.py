"""Weights that cannot be had cost one try per worker process, not one per job (issue 11, item 3):
the process remembers, and the next job's draft starts at once. The model hub is faked by a real
HTTP server on loopback (it is outside the project); the engine runs in a fresh process, since
huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE when it is imported."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.workers import ROOT

SCRIPT = """
import sys, time
from pathlib import Path
from inference import engines
from inference.models import Runtime

runtime = Runtime(device="cpu", models_dir=Path(sys.argv[1]))
for attempt in (1, 2):
    started = time.time()
    board = engines.storyboard(
        "transformers:someorg/some-model", "A cat sat. The moon rose.",
        shot_count=2, language="en", style="storybook", runtime=runtime,
    )
    print(started, len(board.shots), board.notes[0], sep="\t", flush=True)
"""


@pytest.fixture
def hub() -> Iterator[tuple[str, list[float]]]:
    """A model hub that has no such model: every request answers 404, and its time is kept."""
    asked: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(time.time())
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.send_header("X-Error-Code", "RepositoryNotFound")
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()


def run(tmp_path: Path, endpoint: str) -> list[tuple[float, int, str]]:
    """Two storyboards in one process: (when each started, its shots, its first note)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf"), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "models")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = [line.split("\t") for line in done.stdout.splitlines()]
    return [(float(started), int(shots), note) for started, shots, note in jobs]


def test_weights_the_hub_lacks_are_asked_for_once_then_remembered(tmp_path: Path, hub: tuple[str, list[float]]) -> None:
    endpoint, asked = hub
    first, second = run(tmp_path, endpoint)
    assert first[1] == second[1] == 2, "the draft made both storyboards"
    assert "could not be downloaded" in first[2] and "run `python manage.py fetch_models`" in first[2]
    assert asked and all(when >= first[0] for when in asked), "the first job asked the hub"
    assert not [when for when in asked if when >= second[0]], "the second job did not ask again"
    assert second[2] == first[2], "and says the same"


def test_an_unreachable_hub_is_known_at_once(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening: refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first, second = run(tmp_path, f"http://127.0.0.1:{port}")
    assert first[1] == second[1] == 2
    assert f"the model hub (http://127.0.0.1:{port}) cannot be reached" in first[2]
