"""One shot rewritten by a language model on a person's instruction ("make it night, closer on
the cat"): the multi-turn prompt optimiser. Earlier turns on the shot go with the request, so
an instruction builds on the last. The answer is untrusted text, held to the same strict shape,
caps and cleaning as the storyboard's."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from inference.errors import EngineError
from inference.models import Runtime
from inference.storyboard import LocalChat, capped_text, first_json_object, openai_chat
from inference.types import Progress, no_progress

PROMPT_LIMIT = 500
NARRATION_LIMIT = 2000
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}


@dataclass
class ShotText:
    prompt: str
    narration: str


@dataclass
class Turn:
    """An earlier instruction on the shot and what it made of it."""

    instruction: str
    before: ShotText
    after: ShotText


@dataclass
class RefineJob:
    shot: ShotText
    instruction: str
    language: str
    narration: bool = False  # whether the narration may be rewritten too
    history: list[Turn] = field(default_factory=list)
    api_key: str = ""
    constrained: bool = True


@dataclass
class Refined:
    shot: ShotText
    backend: str
    model: str


def refine_messages(job: RefineJob) -> list[dict[str, str]]:
    language = LANGUAGE_NAMES.get(job.language, job.language)
    narration = (
        f"Rewrite the narration too, in {language}, where the instruction asks for it; else keep it as it is."
        if job.narration
        else "Keep the narration exactly as it is."
    )
    system = (
        "You rewrite one shot of a storyboard as the person asks. The picture prompt is English, for an image "
        "model: who and what is seen, the setting, the light, the framing, in one or two sentences. "
        f"{narration} Answer with one JSON object "
        '{"prompt": str, "narration": str} and nothing else.'
    )
    messages = [{"role": "system", "content": system}]
    for turn in job.history:
        messages.append({"role": "user", "content": _request(turn.before, turn.instruction)})
        messages.append({"role": "assistant", "content": json.dumps(asdict(turn.after), ensure_ascii=False)})
    messages.append({"role": "user", "content": _request(job.shot, job.instruction)})
    return messages


def _request(shot: ShotText, instruction: str) -> str:
    return f"Shot: {json.dumps(asdict(shot), ensure_ascii=False)}\nInstruction: {instruction}"


def refine_schema(text_limit: int = NARRATION_LIMIT) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "minLength": 1, "maxLength": min(text_limit, PROMPT_LIMIT)},
            "narration": {"type": "string", "maxLength": min(text_limit, NARRATION_LIMIT)},
        },
        "required": ["prompt", "narration"],
    }


def parse_refined(answer: str, job: RefineJob) -> ShotText:
    """The model's answer as a shot's text: a JSON object with a picture prompt (cleaned of
    control characters and markup line breaks, capped); the narration is taken only where the
    person allowed it and the answer has one. A ValueError says what was unusable."""
    data = first_json_object(answer)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    prompt = capped_text(data.get("prompt"), PROMPT_LIMIT)
    if not prompt:
        raise ValueError("the answer has no picture prompt")
    narration = capped_text(data.get("narration"), NARRATION_LIMIT) if job.narration else ""
    return ShotText(prompt=prompt, narration=narration or job.shot.narration)


def _refine(
    ask: Callable[[int], str], job: RefineJob, *, backend: str, model: str, attempts: int, progress: Progress
) -> Refined:
    problems = []
    for attempt in range(1, attempts + 1):
        progress((attempt - 1) / attempts, f"Asking {model} (attempt {attempt})")
        try:
            return Refined(parse_refined(ask(attempt), job), backend, model)
        except ValueError as exc:
            problems.append(str(exc))
    raise EngineError(
        f"{model} gave no usable rewrite in {attempts} attempts ({'; '.join(problems)}). "
        "Nothing was changed: try again, or put the instruction another way.",
        permanent=True,
    )


def openai_refine(
    job: RefineJob,
    *,
    base_url: str,
    model: str,
    timeout: float = 120.0,
    attempts: int = 2,
    progress: Progress = no_progress,
) -> Refined:
    messages = refine_messages(job)

    def ask(attempt: int) -> str:
        return openai_chat(messages, base_url=base_url, model=model, api_key=job.api_key, timeout=timeout)

    return _refine(ask, job, backend="openai", model=model, attempts=attempts, progress=progress)


def transformers_refine(
    job: RefineJob,
    *,
    model: str,
    runtime: Runtime,
    attempts: int = 2,
    max_new_tokens: int | None = None,
    text_limit: int = NARRATION_LIMIT,
    progress: Progress = no_progress,
) -> Refined:
    """A shot rewritten by a local chat model; ``constrained`` (the job's) keeps the answer inside
    the rewrite's JSON schema while it is written, with strings of at most ``text_limit``."""
    chat = LocalChat(model, runtime)
    messages = refine_messages(job)
    budget = max_new_tokens or min(2048, 2 * chat.tokens(job.shot.prompt + job.shot.narration) + 160)
    schema = refine_schema(text_limit) if job.constrained else None

    def ask(attempt: int) -> str:
        return chat.ask(
            messages,
            attempt=attempt,
            attempts=attempts,
            budget=budget,
            schema=schema,
            what="Rewriting the shot",
            progress=progress,
        )

    return _refine(ask, job, backend="transformers", model=model, attempts=attempts, progress=progress)
