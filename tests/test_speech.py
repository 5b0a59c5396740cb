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


def test_lines_spoken_side_by_side_each_land_in_their_place_and_one_failure_stays_its_own(tmp_path: Path) -> None:
    """The lines of a project on two threads (piper, one CPU thread each): every result is its own
    line's, a line that cannot be spoken is its error in its place, and the usage meter (a
    context variable the threads copy) counts every second spoken."""
    from inference.engines import SpeechLine, speech_lines
    from inference.models import Runtime
    from inference.usage import metering

    texts = ["The lamp went dark.", "", "Mira climbed the stairs. She lit the wick.", "The ships came home."]
    lines = [
        SpeechLine("piper:en_US-joe-medium", text, "en", tmp_path / f"{index}.wav") for index, text in enumerate(texts)
    ]
    seen: list[float] = []
    with metering() as usage:
        results = speech_lines(
            lines, runtime=Runtime(models_dir=tmp_path), workers=2, progress=lambda f, m: seen.append(f)
        )
    failed = results[1]
    assert isinstance(failed, EngineError) and failed.permanent and "no narration" in str(failed)
    spoken = [results[0], results[2], results[3]]
    for line, result in zip([lines[0], lines[2], lines[3]], spoken, strict=True):
        assert not isinstance(result, EngineError)
        assert (result.backend, result.path) == ("piper", str(line.path))
        assert " ".join(text for _, _, text in result.sentences) == line.text
        assert wav_info(line.path)[0] == pytest.approx(result.duration)
    assert [len(r.sentences) for r in spoken if not isinstance(r, EngineError)] == [1, 2, 1]
    assert usage.audioSeconds == pytest.approx(sum(r.duration for r in spoken if not isinstance(r, EngineError)))
    assert seen == [0.25, 0.5, 0.75, 1.0]  # one report per line done, from the calling thread


def test_a_back_end_that_may_not_run_side_by_side_speaks_one_line_after_another(tmp_path: Path) -> None:
    """transformers' VITS shares one torch model: its lines run in turn, each line's progress
    scaled into the whole."""
    import threading

    from inference.engines import SpeechLine, speech_lines
    from inference.models import Runtime
    from tests.tiny_models import build_tts

    model = build_tts(tmp_path)
    threads: set[str] = set()

    def progress(fraction: float, message: str) -> None:
        threads.add(threading.current_thread().name)
        seen.append(fraction)

    seen: list[float] = []
    lines = [SpeechLine(f"transformers:{model}", f"line {n}.", "en", tmp_path / f"{n}.wav") for n in range(3)]
    results = speech_lines(lines, runtime=Runtime(models_dir=tmp_path), workers=4, progress=progress)
    assert all(not isinstance(r, EngineError) and r.backend == "transformers" for r in results)
    assert threads == {threading.current_thread().name}
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
