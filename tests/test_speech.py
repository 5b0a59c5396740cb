"""Speech through espeak-ng: real audio in English and Mandarin, trimmed of silence."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from inference.errors import EngineError
from inference.speech import espeak, wav_info


def samples(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


@pytest.mark.parametrize(
    ("language", "text", "voice"),
    [("en", "The great lamp roared back to life.", "en-us"), ("zh", "月亮上住着一只白色的小兔子。", "cmn-latn-pinyin")],
)
def test_espeak_speaks_english_and_mandarin(tmp_path: Path, language: str, text: str, voice: str) -> None:
    result = espeak(text, language=language, path=tmp_path / "speech.wav")
    assert (result.backend, result.model) == ("espeak", voice)
    duration, rate = wav_info(Path(result.path))
    assert result.duration == pytest.approx(duration) and 1.0 < duration < 8.0
    assert rate == result.sample_rate == 22050
    audio = samples(Path(result.path))
    assert np.abs(audio).max() > 3000, "not silence"
    edge = int(0.02 * rate)  # trimmed: sound within 50 ms of both ends
    assert np.abs(audio[: edge * 4]).max() > 300 and np.abs(audio[-edge * 4 :]).max() > 300


def test_a_truncated_wav_is_a_clear_permanent_error(tmp_path: Path) -> None:
    result = espeak("Hello there.", language="en", path=tmp_path / "speech.wav")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(Path(result.path).read_bytes()[:40])
    with pytest.raises(EngineError) as error:
        wav_info(broken)
    assert error.value.permanent and "broken.wav" in str(error.value)
