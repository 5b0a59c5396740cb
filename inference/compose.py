"""Shots -> film. Each shot becomes a cached segment; the film joins them by stream copy.

This is the first, honest form: a still keyframe held for the shot's duration with its
narration, joined at cuts, with SRT/WebVTT subtitles. Camera moves, transitions and music
come with the composition engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from inference.errors import EngineError
from inference.media import probe, run_ffmpeg
from inference.types import Progress, no_progress

FPS = 24
SAMPLE_RATE = 44100


@dataclass
class SegmentSpec:
    image: Path
    audio: Path | None
    duration: float
    narration: str = ""


@dataclass
class FilmResult:
    video: Path
    srt: Path
    vtt: Path
    poster: Path
    duration: float
    digest: str
    encoded_segments: int
    cues: list[tuple[float, float, str]] = field(default_factory=list)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_input(path: Path, what: str) -> None:
    if not path.is_file() or path.stat().st_size == 0:
        raise EngineError(f"The {what} {path.name} is missing or empty; regenerate it.", permanent=True)


def segment_key(spec: SegmentSpec, *, width: int, height: int) -> str:
    parts = {
        "image": _file_digest(spec.image),
        "audio": _file_digest(spec.audio) if spec.audio else "",
        "duration": round(spec.duration, 3),
        "size": [width, height],
        "fps": FPS,
        "v": 1,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def encode_segment(spec: SegmentSpec, *, width: int, height: int, path: Path) -> None:
    """One shot: the keyframe fitted to the frame, held for ``duration``, with its narration
    (or silence) padded to the same length."""
    _check_input(spec.image, "keyframe")
    if spec.audio is not None:
        _check_input(spec.audio, "narration audio")
        from inference.speech import wav_info

        wav_info(spec.audio)  # a truncated or broken WAV fails here, with its name
    audio_input = (
        ["-i", str(spec.audio)] if spec.audio else ["-f", "lavfi", "-i", f"anullsrc=r={SAMPLE_RATE}:cl=stereo"]
    )
    video_filter = (
        f"[0:v]scale={width}:{height}:force_original_aspect_ratio=decrease,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p[v];"
        f"[1:a]aresample={SAMPLE_RATE},aformat=channel_layouts=stereo,apad[a]"
    )
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    run_ffmpeg(
        ["-loop", "1", "-framerate", str(FPS), "-i", str(spec.image), *audio_input,
         "-filter_complex", video_filter, "-map", "[v]", "-map", "[a]", "-t", f"{spec.duration:.3f}",
         "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-r", str(FPS),
         "-c:a", "aac", "-b:a", "128k", "-ar", str(SAMPLE_RATE), "-ac", "2", str(tmp)]
    )  # fmt: skip
    os.replace(tmp, path)


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def write_subtitles(cues: list[tuple[float, float, str]], srt: Path, vtt: Path) -> None:
    srt_lines, vtt_lines = [], ["WEBVTT", ""]
    for index, (start, end, text) in enumerate(cues, 1):
        srt_lines += [str(index), f"{_timestamp(start, ',')} --> {_timestamp(end, ',')}", text, ""]
        vtt_lines += [f"{_timestamp(start, '.')} --> {_timestamp(end, '.')}", text, ""]
    srt.write_text("\n".join(srt_lines), encoding="utf-8")
    vtt.write_text("\n".join(vtt_lines), encoding="utf-8")


def compose_film(
    segments: list[SegmentSpec],
    *,
    width: int,
    height: int,
    cache_dir: Path,
    out_dir: Path,
    progress: Progress = no_progress,
) -> FilmResult:
    """Encode the segments not in the cache, join them, probe the film, and only then move it
    and its subtitles and poster into ``out_dir``. A failure leaves no temporary file."""
    if not segments:
        raise EngineError("There are no shots to compose.", permanent=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".compose-", dir=out_dir))
    try:
        paths, encoded = [], 0
        for index, spec in enumerate(segments):
            path = cache_dir / f"{segment_key(spec, width=width, height=height)}.mp4"
            if not path.exists():
                encode_segment(spec, width=width, height=height, path=path)
                encoded += 1
            paths.append(path)
            progress(0.8 * (index + 1) / len(segments), f"Segment {index + 1} of {len(segments)}")
        listing = work / "segments.txt"
        listing.write_text("".join(f"file '{p.resolve()}'\n" for p in paths))
        film = work / "film.mp4"
        run_ffmpeg(
            ["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart", str(film)]
        )
        progress(0.9, "Checking the film")
        expected = sum(spec.duration for spec in segments)
        found = probe(film)
        if found.video_streams != 1 or found.audio_streams != 1 or abs(found.duration - expected) > 0.5:
            raise EngineError(
                f"The composed film failed its check ({found.video_streams} video and {found.audio_streams} audio "
                f"streams, {found.duration:.2f} s of an expected {expected:.2f} s).",
                permanent=False,
            )
        cues, start = [], 0.0
        for spec in segments:
            if spec.narration.strip():
                cues.append((start, start + spec.duration, spec.narration.strip()))
            start += spec.duration
        poster = work / "poster.jpg"
        run_ffmpeg(["-ss", "0.5", "-i", str(film), "-frames:v", "1", "-q:v", "3", str(poster)])
        srt, vtt = work / "film.srt", work / "film.vtt"
        write_subtitles(cues, srt, vtt)
        digest = _file_digest(film)
        final = {
            name: out_dir / f"{digest[:16]}{Path(name).suffix}"
            for name in ("film.mp4", "film.srt", "film.vtt", "poster.jpg")
        }
        for name, target in final.items():
            os.replace(work / name, target)
        progress(1.0, "Film ready")
        return FilmResult(
            video=final["film.mp4"], srt=final["film.srt"], vtt=final["film.vtt"], poster=final["poster.jpg"],
            duration=found.duration, digest=digest, encoded_segments=encoded, cues=cues,
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
