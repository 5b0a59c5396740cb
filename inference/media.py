"""Running ffmpeg and probing its output."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from inference.errors import DiskFullError, EngineError


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


# The ffmpegs this process has running, so that an attempt stopped midway (a timeout or a
# cancel, raised in the main thread) can end those its threads started, which would otherwise
# run on and keep the attempt's thread pools from shutting down.
_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()


def stop_running_ffmpeg() -> int:
    """Kill every ffmpeg this process has running; how many there were."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        process.kill()
    return len(running)


def run_ffmpeg(args: list[str], *, timeout: float = 1200, cwd: Path | None = None) -> None:
    _ffmpeg(args, timeout=timeout, cwd=cwd, loglevel="error")


def ffmpeg_log(args: list[str], *, timeout: float = 1200, cwd: Path | None = None) -> str:
    """Run ffmpeg and return what its filters logged (the measuring filters, ``ebur128``,
    ``silencedetect``, ``blackdetect``, write their findings there)."""
    return _ffmpeg(args, timeout=timeout, cwd=cwd, loglevel="info")


def _ffmpeg(args: list[str], *, timeout: float, cwd: Path | None, loglevel: str) -> str:
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", loglevel, "-y", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except BaseException:
        process.kill()
        process.communicate()
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
    if process.returncode != 0:
        tail = stderr.decode("utf-8", "replace").strip()[-600:]
        if "No space left on device" in tail:
            raise DiskFullError
        raise EngineError(f"ffmpeg failed: {tail}", permanent=True)
    return stderr.decode("utf-8", "replace")


@dataclass
class Probe:
    duration: float
    video_streams: int
    audio_streams: int
    width: int
    height: int
    format_name: str = ""
    video_duration: float = 0.0  # of the first video stream; 0 when there is none
    audio_duration: float = 0.0
    video_start: float = 0.0
    audio_start: float = 0.0


# Containers a person's or a bundle's media may come in. Never playlists or concat lists, whose
# demuxers open further files or URLs named inside them.
AUDIO_FORMATS = "wav,mp3,mov,mp4,m4a,ogg,flac,aac,matroska,webm"
VIDEO_FORMATS = "mov,mp4,m4a,matroska,webm"


def audio_suffix(format_name: str) -> str:
    """The file extension for audio ffprobe read as ``format_name``."""
    names = set(format_name.split(","))
    for names_of, suffix in (
        ({"wav"}, ".wav"),
        ({"mp3"}, ".mp3"),
        ({"ogg"}, ".ogg"),
        ({"flac"}, ".flac"),
        ({"aac"}, ".aac"),
        ({"mp4", "m4a", "mov"}, ".m4a"),
    ):
        if names & names_of:
            return suffix
    return ".mka"


def probe(path: Path, *, formats: str | None = None) -> Probe:
    """Streams, size and duration of a media file, read by Debian's ffprobe. ``formats``:
    the only demuxers it may be read with (ffmpeg's names, comma-separated); reading is
    confined to the file itself."""
    executable = shutil.which("ffprobe")
    if executable is None:
        raise EngineError("ffprobe is not installed: apt-get install ffmpeg.", permanent=True)
    allowed = ["-format_whitelist", formats] if formats else []
    completed = subprocess.run(
        [
            executable,
            "-v",
            "error",
            "-protocol_whitelist",
            "file",
            *allowed,
            "-show_entries",
            "format=duration,format_name:stream=codec_type,width,height,duration,start_time",
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
    audio = [s for s in streams if s.get("codec_type") == "audio"]

    def seconds(streams: list[dict[str, str]], key: str) -> float:
        try:
            return float(streams[0][key]) if streams else 0.0
        except (KeyError, ValueError):
            return 0.0

    return Probe(
        duration=float(data.get("format", {}).get("duration") or 0.0),
        video_streams=len(video),
        audio_streams=len(audio),
        width=int(video[0].get("width", 0)) if video else 0,
        height=int(video[0].get("height", 0)) if video else 0,
        format_name=str(data.get("format", {}).get("format_name") or ""),
        video_duration=seconds(video, "duration"),
        audio_duration=seconds(audio, "duration"),
        video_start=seconds(video, "start_time"),
        audio_start=seconds(audio, "start_time"),
    )
