"""Back ends keyed by (stage, name), spec strings, presets, and whether each can run here.

A spec is ``backend`` or ``backend:model`` — ``transformers:Qwen/Qwen2.5-0.5B-Instruct``,
``openai:http://127.0.0.1:11434/v1#qwen2.5``, ``diffusers:stabilityai/sd-turbo``, ``kenburns``,
``piper:en_US-joe-medium``, ``espeak:cmn-latn-pinyin``, ``transformers:facebook/mms-tts-eng``,
``draft``. Checking a back end imports nothing heavy (importlib.util.find_spec only).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STAGES = ("storyboard", "image", "motion", "speech")


@dataclass(frozen=True)
class Backend:
    stage: str
    name: str
    description: str
    check: Callable[[], str | None]  # None when it can run here, else why not
    needs_model: bool = False


def _module(*names: str) -> Callable[[], str | None]:
    def check() -> str | None:
        missing = [name for name in names if importlib.util.find_spec(name) is None]
        return f"the Python package {missing[0]!r} is not installed" if missing else None

    return check


def _binary(name: str) -> Callable[[], str | None]:
    return lambda: None if shutil.which(name) else f"the program {name!r} is not installed (apt-get install {name})"


def _always() -> str | None:
    return None


BACKENDS: dict[tuple[str, str], Backend] = {
    (b.stage, b.name): b
    for b in (
        Backend("storyboard", "draft", "Sentence segmentation grouped into shots (offline).", _always),
        Backend("storyboard", "transformers", "A local chat model through transformers.",
                _module("torch", "transformers"), needs_model=True),
        Backend("storyboard", "openai", "Any OpenAI-compatible server (Ollama, vLLM).", _always, needs_model=True),
        Backend("image", "draft", "A drawn title card from the prompt (offline).", _always),
        Backend("image", "diffusers", "Text-to-image through diffusers (sd-turbo: 1 step).",
                _module("torch", "diffusers", "transformers"), needs_model=True),
        Backend("motion", "kenburns", "A camera move over the still, at composition.", _always),
        Backend("motion", "diffusers", "Stable Video Diffusion through diffusers.",
                _module("torch", "diffusers", "transformers"), needs_model=True),
        Backend("speech", "espeak", "espeak-ng (English; Mandarin through its pinyin voice).", _binary("espeak-ng")),
        Backend("speech", "piper", "Piper neural voices (onnxruntime).", _module("piper"), needs_model=True),
        Backend("speech", "transformers", "VITS / MMS-TTS models through transformers.",
                _module("torch", "transformers"), needs_model=True),
    )
}  # fmt: skip

# The offline back end each stage falls back to, per story language where it matters.
DRAFT: dict[str, str] = {
    "storyboard": "draft",
    "image": "draft",
    "motion": "kenburns",
    "speech.en": "espeak:en-us",
    "speech.zh": "espeak:cmn-latn-pinyin",
}
PRESETS: dict[str, dict[str, str]] = {
    "default": {
        "storyboard": "transformers:Qwen/Qwen2.5-0.5B-Instruct",
        "image": "diffusers:stabilityai/sd-turbo",
        "motion": "diffusers:stabilityai/stable-video-diffusion-img2vid",  # only for projects that animate
        "speech.en": "piper:en_US-joe-medium",
        "speech.zh": "piper:zh_CN-huayan-medium",
    },
    "draft": DRAFT,
}


@dataclass(frozen=True)
class Spec:
    stage: str
    backend: str
    model: str = ""

    def __str__(self) -> str:
        return f"{self.backend}:{self.model}" if self.model else self.backend


def parse_spec(stage: str, text: str) -> Spec:
    """``backend[:model]`` for ``stage``; a ValueError naming the choices when it is not one."""
    stage_key = stage.split(".")[0]
    backend, _, model = text.strip().partition(":")
    entry = BACKENDS.get((stage_key, backend))
    if entry is None:
        names = ", ".join(name for (s, name) in BACKENDS if s == stage_key)
        raise ValueError(f"{text!r} is not a {stage_key} back end; use one of: {names} (as backend:model)")
    if entry.needs_model and not model:
        raise ValueError(f"{text!r} names no model; write it as {backend}:MODEL")
    if backend == "openai":
        url, _, name = model.partition("#")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{text!r}: write the OpenAI back end as openai:http(s)://HOST/v1#MODEL")
        model = f"{url}#{name or 'default'}"
    return Spec(stage_key, backend, model)


def draft_spec(stage: str, language: str = "en") -> Spec:
    key = f"{stage}.{language}" if stage == "speech" else stage
    return parse_spec(stage, DRAFT.get(key, DRAFT["speech.en"]))


def backend_report() -> list[dict[str, Any]]:
    """Every back end with whether it can run here and, if not, why."""
    report = []
    for backend in BACKENDS.values():
        reason = backend.check()
        report.append(
            {"stage": backend.stage, "backend": backend.name, "description": backend.description,
             "available": reason is None, "reason": reason or ""}
        )  # fmt: skip
    return report


def configured_report(specs: dict[str, str], models_dir: Path) -> list[dict[str, str]]:
    """For each stage (``speech.en`` and ``speech.zh`` apart): the configured spec, what will
    run (it, or the draft back end it falls back to), and why not the configured one."""
    report = []
    for key, text in specs.items():
        spec = parse_spec(key, text)
        problem = spec_problem(spec, models_dir)
        runs = str(draft_spec(spec.stage, key.partition(".")[2] or "en")) if problem else str(spec)
        report.append({"stage": key, "spec": str(spec), "runs": runs, "reason": problem or ""})
    return report


def spec_problem(spec: Spec, models_dir: Path) -> str | None:
    """Why ``spec`` cannot run here as configured (package missing, weights neither on disk nor
    downloadable), or None. Looks at the disk only; never downloads."""
    from inference.models import hub_offline, local_folder

    reason = BACKENDS[(spec.stage, spec.backend)].check()
    if reason:
        return reason
    if spec.backend == "piper":
        from inference.speech import piper_voice_files

        if piper_voice_files(spec.model, models_dir) is None and hub_offline():
            return f"the piper voice {spec.model} is not on disk and HF_HUB_OFFLINE is set"
        return None
    if spec.backend in {"transformers", "diffusers"} and local_folder(spec.model, models_dir) is None and hub_offline():
        return f"the weights of {spec.model} are not on disk and HF_HUB_OFFLINE is set"
    return None
