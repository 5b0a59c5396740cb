"""Text -> narration audio. The ``espeak`` back end (espeak-ng; Mandarin via its pinyin voice)."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

from inference.errors import EngineError
from inference.types import Progress, SpeechResult, no_progress

DEFAULT_ESPEAK_VOICES = {"en": "en-us", "zh": "cmn-latn-pinyin"}


def wav_info(path: Path) -> tuple[float, int]:
    """Duration in seconds and sample rate of a WAV file; a clear error when it is broken."""
    try:
        with wave.open(str(path), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
    except (wave.Error, EOFError, OSError) as exc:
        raise EngineError(f"The audio file {path.name} is not a readable WAV: {exc}", permanent=True) from None
    if rate <= 0 or frames <= 0:
        raise EngineError(f"The audio file {path.name} holds no sound.", permanent=True)
    return frames / rate, rate


def espeak(text: str, *, language: str, path: Path, voice: str = "", progress: Progress = no_progress) -> SpeechResult:
    """Speak ``text`` with espeak-ng into a WAV file. The text goes on stdin, never the command line."""
    executable = shutil.which("espeak-ng")
    if executable is None:
        raise EngineError("espeak-ng is not installed: apt-get install espeak-ng.", permanent=True)
    voice = voice or DEFAULT_ESPEAK_VOICES.get(language, "en-us")
    path.parent.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [executable, "-v", voice, "-s", "165" if language == "en" else "150", "-w", str(path), "--stdin"],
        input=text.encode("utf-8"),
        capture_output=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip()[:300]
        raise EngineError(f"espeak-ng failed (voice {voice}): {message}", permanent=True)
    duration, rate = wav_info(path)
    progress(1.0, "Spoken")
    return SpeechResult(path=str(path), duration=duration, sample_rate=rate, backend="espeak", model=voice)
