"""One entry point per stage: run the configured back end (a spec string), or — when its package
is missing or its weights are neither on disk nor downloadable — the stage's draft back end,
with a note that says which ran and how to get the real one. Never silently."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from inference.errors import WeightsMissingError
from inference.image import KeyframeRequest, diffusers_keyframes, draft_card
from inference.models import Runtime
from inference.motion import MotionResult, svd_clip
from inference.registry import BACKENDS, Spec, draft_spec, parse_spec
from inference.speech import espeak, piper, vits
from inference.storyboard import draft_storyboard, openai_storyboard, transformers_storyboard
from inference.types import ImageResult, Progress, SpeechResult, Storyboard, no_progress

T = TypeVar("T")


def _with_fallback(
    stage: str, spec_text: str, language: str, real: Callable[[Spec], T], draft: Callable[[Spec], T]
) -> tuple[T, str]:
    """``real(spec)``, or ``draft(draft spec)`` and the reason when the real one cannot run here."""
    spec = parse_spec(stage, spec_text)
    fallback = draft_spec(stage, language)
    if spec.backend == fallback.backend:
        return real(spec), ""
    problem = BACKENDS[(spec.stage, spec.backend)].check()
    if problem is None:
        try:
            return real(spec), ""
        except WeightsMissingError as exc:
            problem = str(exc)
    else:
        problem = f"{problem}: pip install -r requirements.txt"
    return draft(fallback), f"{fallback} ran instead of {spec} — {problem}"


def storyboard(
    spec: str, story: str, *, shot_count: int, language: str, style: str, title: str = "", runtime: Runtime,
    api_key: str = "", constrained: bool = True, progress: Progress = no_progress,
) -> Storyboard:  # fmt: skip
    def real(s: Spec) -> Storyboard:
        if s.backend == "openai":
            base_url, _, model = s.model.partition("#")
            return openai_storyboard(story, base_url=base_url, model=model, shot_count=shot_count, language=language,
                                     style=style, api_key=api_key, progress=progress)  # fmt: skip
        if s.backend == "transformers":
            return transformers_storyboard(story, model=s.model, runtime=runtime, shot_count=shot_count,
                                           language=language, style=style, constrained=constrained,
                                           progress=progress)  # fmt: skip
        return draft_storyboard(story, shot_count=shot_count, title=title, progress=progress)

    board, note = _with_fallback("storyboard", spec, language, real, real)
    if note:
        board.notes.insert(0, note)
    return board


def keyframes(
    spec: str, requests: list[KeyframeRequest], *, width: int, height: int, style: str, runtime: Runtime,
    steps: int = 1, guidance: float = 0.0, progress: Progress = no_progress,
) -> list[ImageResult]:  # fmt: skip
    def real(s: Spec) -> list[ImageResult]:
        if s.backend == "diffusers":
            return diffusers_keyframes(requests, model=s.model, runtime=runtime, width=width, height=height,
                                       style=style, steps=steps, guidance=guidance, progress=progress)  # fmt: skip
        return draft(s)

    def draft(s: Spec) -> list[ImageResult]:
        return [draft_card(r.prompt, width=width, height=height, style=style, seed=r.seed, path=r.path,
                           progress=progress) for r in requests]  # fmt: skip

    results, note = _with_fallback("image", spec, "en", real, draft)
    for result in results:
        result.note = note
    return results


def speech(
    spec: str, text: str, *, language: str, path: Path, runtime: Runtime, seed: int = 0,
    progress: Progress = no_progress,
) -> SpeechResult:  # fmt: skip
    def real(s: Spec) -> SpeechResult:
        if s.backend == "piper":
            return piper(text, voice=s.model, models_dir=runtime.models_dir, path=path, progress=progress)
        if s.backend == "transformers":
            return vits(text, model=s.model, runtime=runtime, path=path, seed=seed, progress=progress)
        return espeak(text, language=language, voice=s.model, path=path, progress=progress)

    result, note = _with_fallback("speech", spec, language, real, real)
    result.note = note
    return result


def motion(
    spec: str, image: Path, *, path: Path, seed: int, runtime: Runtime, frames: int = 14, steps: int = 25,
    progress: Progress = no_progress,
) -> tuple[MotionResult | None, str]:  # fmt: skip
    """A clip, or None where the camera move (made at composition) animates the shot; and the
    note saying why the camera move stands in for the configured model, if it does."""

    def real(s: Spec) -> MotionResult | None:
        if s.backend == "diffusers":
            return svd_clip(image, model=s.model, runtime=runtime, path=path, seed=seed, frames=frames, steps=steps,
                            progress=progress)  # fmt: skip
        return None

    return _with_fallback("motion", spec, "en", real, real)
