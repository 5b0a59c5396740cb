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
    trim_silence(path)
    duration, rate = wav_info(path)
    progress(1.0, "Spoken")
    return SpeechResult(path=str(path), duration=duration, sample_rate=rate, backend="espeak", model=voice)


def trim_silence(path: Path, *, threshold_db: float = -50.0, keep_s: float = 0.05) -> None:
    """Cut leading and trailing silence from a 16-bit WAV in place, keeping ``keep_s`` of it on
    each side, so a shot's length is its speech and the pads the composer adds."""
    import numpy as np

    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        raw = wav.readframes(params.nframes)
    if params.sampwidth != 2 or not params.nframes:
        return
    samples = np.frombuffer(raw, dtype=np.int16).reshape(-1, params.nchannels)
    loud = np.nonzero(np.abs(samples).max(axis=1) > 32768 * 10 ** (threshold_db / 20))[0]
    if not len(loud):
        return
    keep = int(keep_s * params.framerate)
    start, end = max(0, loud[0] - keep), min(len(samples), loud[-1] + keep + 1)
    if start == 0 and end == len(samples):
        return
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(params.nchannels)
        wav.setsampwidth(params.sampwidth)
        wav.setframerate(params.framerate)
        wav.writeframes(samples[start:end].tobytes())
