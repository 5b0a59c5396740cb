"""One entry point per stage: run the configured back end (a spec string), or — when its package
is missing or its weights are neither on disk nor downloadable — the stage's draft back end,
with a note that says which ran and how to get the real one. Never silently."""

from __future__ import annotations

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from inference.errors import EngineError, WeightsMissingError
from inference.image import ImagePrompt, KeyframeRequest
from inference.likeness import Likeness, clip_match
from inference.models import Runtime, pick_device
from inference.motion import MotionResult
from inference.refine import Job
from inference.registry import (
    ImageJob,
    LikenessJob,
    MotionJob,
    Spec,
    SpeechJob,
    StoryboardJob,
    draft_spec,
    parse_spec,
    spec_problem,
)
from inference.sentences import Sentence, said
from inference.types import ImageResult, Progress, Resume, SpeechResult, Storyboard, no_progress
from inference.usage import record


@dataclass(frozen=True)
class Fallback:
    """A draft back end ran instead of the configured one: kept in a task's result as its note
    ("draft ran instead of diffusers:stabilityai/sd-turbo — why"), and read back from it."""

    runs: str
    spec: str
    reason: str

    SEPARATORS: ClassVar[tuple[str, str]] = (" ran instead of ", " — ")

    def __str__(self) -> str:
        return f"{self.runs}{self.SEPARATORS[0]}{self.spec}{self.SEPARATORS[1]}{self.reason}"

    @classmethod
    def parse(cls, note: str) -> Fallback | None:
        runs, _, rest = note.partition(cls.SEPARATORS[0])
        spec, _, reason = rest.partition(cls.SEPARATORS[1])
        return cls(runs, spec, reason) if runs and spec and reason else None


def _run(stage: str, spec_text: str, language: str, job: Any, runtime: Runtime, progress: Progress) -> tuple[Any, str]:
    """The spec's back end's answer, or the draft back end's and the reason when the spec's
    cannot run here."""

    def run(spec: Spec) -> Any:
        result = spec.impl.run(spec.model, job, runtime=runtime, progress=progress)
        record(device=pick_device(runtime.device) if spec.impl.has_weights else "cpu")
        return result

    spec = parse_spec(stage, spec_text)
    fallback = draft_spec(stage, language)
    if spec.backend == fallback.backend:
        return run(spec), ""
    problem = spec.impl.check()
    if problem is None:
        try:
            return run(spec), ""
        except WeightsMissingError as exc:
            problem = str(exc)
    else:
        problem = f"{problem}: pip install -r requirements.txt"
    return run(fallback), str(Fallback(str(fallback), str(spec), problem))


def warm(stage: str, spec_text: str, *, runtime: Runtime) -> str:
    """Load a stage's configured model now, so that its first job does not wait for it (an
    inference worker's start-up). Says what happened; never raises: a model that cannot load
    here is its first job's to report (and to fall back from)."""
    try:
        spec = parse_spec(stage, spec_text)
        problem = spec_problem(spec, runtime.models_dir)  # on disk only: nothing imported for nothing
        if problem:
            return f"{spec}: not loaded ahead ({problem})"
        started = time.monotonic()
        if not spec.impl.warm(spec.model, runtime):
            return f"{spec}: nothing to load ahead"
        return f"{spec}: loaded ahead in {time.monotonic() - started:.1f} s"
    except Exception as exc:
        return f"{spec_text}: not loaded ahead ({type(exc).__name__}: {exc})"


def storyboard(
    spec: str,
    story: str,
    *,
    shot_count: int,
    language: str,
    style: str,
    title: str = "",
    runtime: Runtime,
    api_key: str = "",
    constrained: bool = True,
    resume: Resume | None = None,
    progress: Progress = no_progress,
) -> Storyboard:
    job = StoryboardJob(story, shot_count, language, style, title, api_key, constrained, resume)
    board: Storyboard
    board, note = _run("storyboard", spec, language, job, runtime, progress)
    if note:
        board.notes.insert(0, note)
    return board


def instruct(spec_text: str, job: Job, *, runtime: Runtime, progress: Progress = no_progress) -> Any:
    """Work that follows an instruction (a shot's or the storyboard's rewrite, a translation, a
    story from an idea),
    done by the storyboard's language model. No draft stands in (it cannot follow one): a back
    end that cannot run here says why, plainly."""
    spec = parse_spec("storyboard", spec_text)
    problem = spec.impl.check()
    if problem is not None:
        raise EngineError(f"{spec} cannot run here: {problem}: pip install -r requirements.txt", permanent=True)
    return spec.impl.instruct(spec.model, job, runtime=runtime, progress=progress)


def keyframes(
    spec: str,
    requests: list[KeyframeRequest],
    *,
    width: int,
    height: int,
    style: str,
    runtime: Runtime,
    steps: int = 1,
    guidance: float = 0.0,
    image_prompt: ImagePrompt | None = None,
    progress: Progress = no_progress,
) -> list[ImageResult]:
    results: list[ImageResult]
    job = ImageJob(requests, width, height, style, steps, guidance, image_prompt)
    results, note = _run("image", spec, "en", job, runtime, progress)
    for result in results:
        result.note = said(note, result.note)
    drawn = sum(result.backend != "draft" for result in results)  # a drawn card takes no steps
    record(images=len(results), steps=steps * drawn)
    return results


def speech(
    spec: str,
    text: str,
    *,
    language: str,
    path: Path,
    runtime: Runtime,
    seed: int = 0,
    progress: Progress = no_progress,
) -> SpeechResult:
    result: SpeechResult
    result, note = _run("speech", spec, language, SpeechJob(text, language, path, seed), runtime, progress)
    result.note = note
    record(audioSeconds=result.duration)
    return result


@dataclass(frozen=True)
class SpeechLine:
    spec: str
    text: str
    language: str
    path: Path
    seed: int = 0


def speech_lines(
    lines: list[SpeechLine], *, runtime: Runtime, workers: int, progress: Progress = no_progress
) -> list[SpeechResult | EngineError]:
    """Several narration lines: side by side on up to ``workers`` threads (each model call on one
    CPU thread) where every line's back end allows it, else one after another. A line that fails
    has its EngineError in its place; the other lines still count."""

    def one(line: SpeechLine, line_runtime: Runtime, line_progress: Progress) -> SpeechResult | EngineError:
        try:
            return speech(
                line.spec,
                line.text,
                language=line.language,
                path=line.path,
                runtime=line_runtime,
                seed=line.seed,
                progress=line_progress,
            )
        except EngineError as exc:
            return exc

    count = len(lines)
    if workers < 2 or count < 2 or not all(parse_spec("speech", line.spec).impl.side_by_side for line in lines):
        results: list[SpeechResult | EngineError] = []
        for index, line in enumerate(lines):

            def line_progress(fraction: float, message: str, index: int = index) -> None:
                progress((index + fraction) / count, message)

            results.append(one(line, runtime, line_progress))
        return results
    one_thread = replace(runtime, threads=1)
    with ThreadPoolExecutor(max_workers=min(workers, count), thread_name_prefix="speech") as pool:
        futures = [pool.submit(contextvars.copy_context().run, one, line, one_thread, no_progress) for line in lines]
        try:
            for done, _ in enumerate(as_completed(futures), start=1):
                progress(
                    done / count, Sentence("lines_spoken", "%(done)s of %(count)s lines spoken", done=done, count=count)
                )
        except BaseException:  # cancelled: the lines not begun are not spoken
            for future in futures:
                future.cancel()
            raise
    return [future.result() for future in futures]


def likeness(
    spec: str, pictures: list[Path], reference: Path | None, *, runtime: Runtime, progress: Progress = no_progress
) -> tuple[Likeness, str]:
    """How alike the pictures are (each against the reference, or against the rest); and the
    note saying why the draft measure (the difference hash) stood in for the model, if it did."""
    measured: Likeness
    measured, note = _run("likeness", spec, "en", LikenessJob(pictures, reference), runtime, progress)
    return measured, note


def matcher(spec: str, *, models_dir: Path) -> str | None:
    """The model that scores pictures against their words, where one is installed: the likeness
    stage's, when it is a CLIP through transformers whose weights are on disk (nothing is
    downloaded for it, and no draft stands in: a difference hash knows no words). Else None."""
    parsed = parse_spec("likeness", spec)
    if parsed.backend != "transformers" or parsed.impl.check():
        return None
    return parsed.model if parsed.impl.weights_on_disk(parsed.model, models_dir) is not None else None


def match(
    model: str, pictures: list[Path], texts: list[str], *, runtime: Runtime, progress: Progress = no_progress
) -> list[float]:
    """How well each picture matches its text (``matcher``'s model)."""
    scores = clip_match(pictures, texts, model=model, runtime=runtime, progress=progress)
    record(device=pick_device(runtime.device))
    return scores


def motion(
    spec: str, job: MotionJob, *, runtime: Runtime, progress: Progress = no_progress
) -> tuple[MotionResult | None, str]:
    """A clip, or None where the camera move (made at composition) animates the shot; and the
    note saying why the camera move stands in for the configured model, if it does."""
    clip: MotionResult | None
    clip, note = _run("motion", spec, "en", job, runtime, progress)
    if clip is not None:
        record(videoSeconds=clip.frames / clip.fps)
    return clip, note
