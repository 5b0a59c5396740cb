"""Back ends keyed by (stage, name), with whether each can run on this machine.

Checking a back end imports nothing heavy: packages are looked up with importlib.util.find_spec.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Backend:
    stage: str
    name: str
    description: str
    check: Callable[[], str | None]  # None when it can run here, else why not


def _module(name: str) -> Callable[[], str | None]:
    return lambda: None if importlib.util.find_spec(name) else f"the Python package {name!r} is not installed"


def _binary(name: str) -> Callable[[], str | None]:
    return lambda: None if shutil.which(name) else f"the program {name!r} is not installed (apt-get install {name})"


def _always() -> str | None:
    return None


BACKENDS: dict[tuple[str, str], Backend] = {
    (b.stage, b.name): b
    for b in (
        Backend("storyboard", "draft", "Sentence segmentation grouped into shots (offline).", _always),
        Backend("storyboard", "transformers", "A local chat model through transformers.", _module("transformers")),
        Backend("storyboard", "openai", "Any OpenAI-compatible server (Ollama, vLLM).", _always),
        Backend("image", "draft", "A drawn title card from the prompt (offline).", _always),
        Backend("image", "diffusers", "Text-to-image through diffusers.", _module("diffusers")),
        Backend("motion", "kenburns", "A camera move over the still, at composition.", _always),
        Backend("motion", "diffusers", "Stable Video Diffusion through diffusers.", _module("diffusers")),
        Backend("speech", "espeak", "espeak-ng (English; Mandarin through its pinyin voice).", _binary("espeak-ng")),
        Backend("speech", "piper", "Piper neural voices.", _module("piper")),
        Backend("speech", "transformers", "VITS / MMS-TTS models through transformers.", _module("transformers")),
    )
}


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
