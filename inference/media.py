"""Running ffmpeg and probing its output."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from inference.errors import EngineError


def file_digest(path: Path) -> str:
    """SHA-256 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def ffmpeg_exe() -> str:
    """The ffmpeg binary that imageio-ffmpeg ships (the same build everywhere)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(args: list[str], *, timeout: float = 1200, cwd: Path | None = None) -> None:
    completed = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        capture_output=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )
    if completed.returncode != 0:
        tail = completed.stderr.decode("utf-8", "replace").strip()[-600:]
        raise EngineError(f"ffmpeg failed: {tail}", permanent=True)


@dataclass
class Probe:
    duration: float
    video_streams: int
    audio_streams: int
    width: int
    height: int


def probe(path: Path) -> Probe:
    """Streams, size and duration of a media file, read by Debian's ffprobe."""
    executable = shutil.which("ffprobe")
    if executable is None:
        raise EngineError("ffprobe is not installed: apt-get install ffmpeg.", permanent=True)
    completed = subprocess.run(
        [
            executable,
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type,width,height",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise EngineError(f"{path.name} is not a readable media file.", permanent=True)
    data = json.loads(completed.stdout or b"{}")
    streams = data.get("streams", [])
    video = [s for s in streams if s.get("codec_type") == "video"]
    return Probe(
        duration=float(data.get("format", {}).get("duration") or 0.0),
        video_streams=len(video),
        audio_streams=sum(1 for s in streams if s.get("codec_type") == "audio"),
        width=int(video[0].get("width", 0)) if video else 0,
        height=int(video[0].get("height", 0)) if video else 0,
    )
