"""Work a language model does on a person's word: a shot rewritten on an instruction ("make it
night, closer on the cat": the multi-turn prompt optimiser, earlier turns going with the
request), the whole storyboard rewritten keeping the shots the person locked, a film's narration
translated, a story written from an idea. Each kind of job says how it is asked and how its
answer is read (``INSTRUCTIONS``); one runner asks an OpenAI-compatible server or a local chat
model. The answer is untrusted text, held to the same strict shape, caps and cleaning as the
storyboard's, and an unusable one changes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, TypeVar

from inference.constrained import storyboard_schema
from inference.errors import EngineError
from inference.models import Runtime
from inference.sentences import asking
from inference.storyboard import (
    MAX_CHARACTERS,
    MAX_SHOTS,
    LocalChat,
    capped_text,
    covers_story,
    first_json_object,
    openai_chat,
    parse_storyboard,
)
from inference.styles import CAMERA_ANGLES, SHOT_SIZES
from inference.text import clean_text, has_cjk, split_sentences
from inference.types import Progress, ShotPlan, no_progress

T = TypeVar("T")

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
    personalities: dict[str, str] = field(default_factory=dict)  # the shot's characters' (name: how they behave)


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
        f"{narration}{in_character(job.personalities)} Answer with one JSON object "
        '{"prompt": str, "narration": str} and nothing else.'
    )
    messages = [{"role": "system", "content": system}]
    for turn in job.history:
        messages.append({"role": "user", "content": _request(turn.before, turn.instruction)})
        messages.append({"role": "assistant", "content": json.dumps(asdict(turn.after), ensure_ascii=False)})
    messages.append({"role": "user", "content": _request(job.shot, job.instruction)})
    return messages


def in_character(personalities: dict[str, str]) -> str:
    """The system message's sentence keeping the characters in character ("" when none is said)."""
    said = "; ".join(f"{name}: {how}" for name, how in personalities.items() if how.strip())
    return f" Keep the characters in character ({said})." if said else ""


def _request(shot: ShotText, instruction: str) -> str:
    return f"Shot: {json.dumps(asdict(shot), ensure_ascii=False)}\nInstruction: {instruction}"


def refine_schema(job: RefineJob) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "minLength": 1, "maxLength": PROMPT_LIMIT},
            "narration": {"type": "string", "maxLength": NARRATION_LIMIT},
        },
        "required": ["prompt", "narration"],
    }


def parse_refined(answer: str, job: RefineJob, *, backend: str, model: str) -> Refined:
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
    refined = ShotText(prompt=prompt, narration=narration or job.shot.narration)
    problem = refine_problem(job.shot, refined, job.instruction)
    if problem:
        raise ValueError(problem)
    return Refined(refined, backend, model)


# Words of an instruction that say how, not what: the answer need not contain them.
_HOW_WORDS = frozenset(
    """a an the it its this that these those them they he she him her his their is are be was
    make made turn change changed add put set use let keep give show shows showing want wants please
    more less much many very bit little lot too so also and or but than then instead rather again
    into onto to of in on at by for from with as up out over about like just only now
    shot picture image scene prompt narration text line sentence version one
    rewrite write say tell describe something anything everything better nicer different
    same new other look looks feel feels way""".split()  # noqa: SIM905 - a table of words
)
_WORD = re.compile(r"[a-z]+")


def _stems(text: str, *, leave_out: frozenset[str] = frozenset()) -> set[str]:
    """The words of an English text, each cut to its first five letters ("closer" and "close-up"
    meet at "close", "rainy" and "rain" at "rain")."""
    return {word[:5] for word in _WORD.findall(text.lower()) if len(word) > 2 and word not in leave_out}


def refine_problem(before: ShotText, after: ShotText, instruction: str) -> str:
    """What makes a rewrite useless, in words for the task's message; empty when it is usable.
    A rewrite that changes nothing, that repeats the shot's text or itself, or in which none of
    the instruction's new words (those the shot did not have: "night" in "make it night") shows,
    is refused. Removal ("no cat", "without the dog") cannot be checked so, nor an instruction
    in a script the prompt is not written in."""
    if (after.prompt, after.narration) == (before.prompt, before.narration):
        return "the answer changes nothing"
    for old in (before.prompt, before.narration):
        if len(old) >= 12 and after.prompt.count(old) + after.narration.count(old) >= 2:
            return "the answer repeats the shot's text"
    clauses = [c.strip().lower() for c in re.split(r"[.,;:!?]+", after.prompt) if len(c.split()) >= 3]
    if len(clauses) != len(set(clauses)):
        return "the answer repeats itself"
    words = _WORD.findall(instruction.lower())
    negated = any(w in ("no", "not", "without", "remove", "delete", "drop", "fewer", "less") for w in words)
    if has_cjk(instruction) or negated:
        return ""
    asked = _stems(instruction, leave_out=_HOW_WORDS) - _stems(before.prompt + " " + before.narration)
    written = f"{after.prompt} {after.narration}".lower()
    if asked and not any(stem in written for stem in asked):
        return f"the answer leaves out what was asked ({', '.join(sorted(asked))})"
    return ""


def _usable(
    ask: Callable[[int], str], parse: Callable[[str], T], *, model: str, attempts: int, progress: Progress
) -> T:
    """The first answer ``parse`` can use, of up to ``attempts``; else a clear, permanent failure
    (nothing is changed: no draft can stand in for an instruction)."""
    problems = []
    for attempt in range(1, attempts + 1):
        progress((attempt - 1) / attempts, asking(model, attempt))
        try:
            return parse(ask(attempt))
        except ValueError as exc:
            problems.append(str(exc))
    raise EngineError(
        f"{model} gave no usable answer in {attempts} attempts ({'; '.join(problems)}). "
        "Nothing was changed: try again, or put the instruction another way.",
        permanent=True,
    )


# --- the whole storyboard -------------------------------------------------------------------
@dataclass
class BoardShot:
    """A shot as the rewrite sees it: ``ref`` names it ("s1", "s2", …) so the answer can keep it."""

    ref: str
    prompt: str
    narration: str
    camera: str
    transition: str
    characters: list[str]
    speaker: str
    locked: bool
    shot_size: str = ""
    camera_angle: str = ""


@dataclass
class BoardTurn:
    instruction: str
    summary: str  # what it made of the storyboard, in a line


@dataclass
class RewriteJob:
    story: str
    shots: list[BoardShot]
    characters: list[str]
    instruction: str
    language: str
    history: list[BoardTurn] = field(default_factory=list)
    api_key: str = ""
    constrained: bool = True
    personalities: dict[str, str] = field(default_factory=dict)  # name: how the character behaves


@dataclass
class Rewritten:
    shots: list[ShotPlan]  # in order; one that is an existing shot carries its ref
    backend: str
    model: str
    notes: list[str]


JSON_NAMES = {"shot_size": "shotSize", "camera_angle": "cameraAngle"}  # as the answer writes them


def rewrite_messages(job: RewriteJob) -> list[dict[str, str]]:
    language = LANGUAGE_NAMES.get(job.language, job.language)
    system = (
        "You rewrite a storyboard as the person asks: shots may be merged, split, reordered, added or removed. "
        f"Each shot has an English picture prompt and a narration in {language}; together the narrations tell "
        "the whole story in order. A shot marked locked must come back exactly as it is, with its id. A shot "
        "you keep or change keeps its id; a new shot has no id. Answer with one JSON object "
        '{"shots": [{"id": str, "prompt": str, "narration": str, "camera": str, "transition": str, '
        '"shotSize": str, "cameraAngle": str, "characters": [names], "speaker": name or ""}]} and nothing else.'
        f"{in_character(job.personalities)}"
    )
    messages = [{"role": "system", "content": system}]
    for turn in job.history:
        messages.append({"role": "user", "content": f"Instruction: {turn.instruction}"})
        messages.append({"role": "assistant", "content": turn.summary})
    board = {
        "characters": job.characters,
        "shots": [
            {JSON_NAMES.get(key, key): value for key, value in asdict(shot).items() if key != "ref"} | {"id": shot.ref}
            for shot in job.shots
        ],
    }
    messages.append(
        {
            "role": "user",
            "content": f"Story:\n{job.story}\n\nStoryboard: {json.dumps(board, ensure_ascii=False)}\n"
            f"Instruction: {job.instruction}",
        }
    )
    return messages


def parse_rewrite(answer: str, job: RewriteJob, *, backend: str, model: str) -> Rewritten:
    """The model's storyboard, parsed like a storyboard (shape, caps, cleaning; shots may name
    only the project's characters), then held to the person's locks: a locked shot comes back
    exactly as it was, and where it was (after the shot it followed) if the answer dropped it.
    An id that names no shot, or one already taken, is a new shot."""
    board = parse_storyboard(
        answer, story="", shot_count=len(job.shots), backend=backend, model=model, cast=job.characters
    )
    known = {shot.ref: shot for shot in job.shots}
    plans: list[ShotPlan] = []
    for plan in board.shots:
        if plan.ref not in known or any(p.ref == plan.ref for p in plans):
            plan.ref = ""
        plans.append(plan)
    for index, shot in enumerate(job.shots):
        if not shot.locked:
            continue
        refs = [plan.ref for plan in plans]
        if shot.ref in refs:
            plans[refs.index(shot.ref)] = _plan_of(shot)
            continue
        after = next((s.ref for s in reversed(job.shots[:index]) if s.ref in refs), None)
        plans.insert(refs.index(after) + 1 if after is not None else 0, _plan_of(shot))
    notes = list(board.notes)
    if not covers_story(job.story, [plan.narration for plan in plans]):
        notes.append("the rewritten narration leaves out some of the story's sentences")
    return Rewritten(plans, backend, model, notes)


def _plan_of(shot: BoardShot) -> ShotPlan:
    return ShotPlan(
        prompt=shot.prompt,
        narration=shot.narration,
        camera=shot.camera,
        transition=shot.transition,
        characters=list(shot.characters),
        speaker=shot.speaker,
        ref=shot.ref,
        shot_size=shot.shot_size,
        camera_angle=shot.camera_angle,
    )


# --- a translation --------------------------------------------------------------------------
@dataclass
class TranslateJob:
    title: str
    narrations: list[str]
    source: str  # language codes
    target: str
    api_key: str = ""
    constrained: bool = True


@dataclass
class Translated:
    title: str
    narrations: list[str]
    backend: str
    model: str


def translate_messages(job: TranslateJob) -> list[dict[str, str]]:
    source = LANGUAGE_NAMES.get(job.source, job.source)
    target = LANGUAGE_NAMES.get(job.target, job.target)
    system = (
        f"You translate a film's title and narration from {source} into {target}, line by line: as many "
        "narration lines as given, in the same order, each the translation of its own line (an empty line "
        'stays empty). Answer with one JSON object {"title": str, "narrations": [str]} and nothing else.'
    )
    body = json.dumps({"title": job.title, "narrations": job.narrations}, ensure_ascii=False)
    return [{"role": "system", "content": system}, {"role": "user", "content": body}]


def translate_schema(job: TranslateJob) -> dict[str, Any]:
    count = len(job.narrations)
    line = {"type": "string", "maxLength": NARRATION_LIMIT}
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 200},
            "narrations": {"type": "array", "minItems": count, "maxItems": count, "items": line},
        },
        "required": ["title", "narrations"],
    }


def parse_translated(answer: str, job: TranslateJob, *, backend: str, model: str) -> Translated:
    """The model's translation: one cleaned, capped line per narration line, in order, and no
    line left untranslated that had words; else a ValueError saying what was wrong."""
    data = first_json_object(answer)
    if not isinstance(data, dict) or not isinstance(data.get("narrations"), list):
        raise ValueError("the answer has no list of narration lines")
    lines = [capped_text(line, NARRATION_LIMIT) for line in data["narrations"]]
    if len(lines) != len(job.narrations):
        raise ValueError(f"the answer has {len(lines)} narration lines for {len(job.narrations)}")
    if any(source.strip() and not line for source, line in zip(job.narrations, lines, strict=True)):
        raise ValueError("the answer leaves a narration line empty")
    return Translated(capped_text(data.get("title"), 200), lines, backend, model)


def rewrite_schema(job: RewriteJob) -> dict[str, Any]:
    return storyboard_schema(
        shot_count=len(job.shots),
        max_shots=MAX_SHOTS,
        max_characters=MAX_CHARACTERS,
        text_limit=NARRATION_LIMIT,
        rewrite=True,
    )


# --- a story from an idea -------------------------------------------------------------------
LENGTHS = {"short": "8 to 12 sentences", "medium": "20 to 30 sentences"}
STORY_LIMIT = 8000


@dataclass
class StoryJob:
    idea: str
    language: str
    genre: str = ""
    length: str = "short"
    api_key: str = ""
    constrained: bool = True


@dataclass
class Drafted:
    title: str
    story: str
    backend: str
    model: str


def story_messages(job: StoryJob) -> list[dict[str, str]]:
    language = LANGUAGE_NAMES.get(job.language, job.language)
    genre = f" Genre: {job.genre}." if job.genre else ""
    system = (
        f"You write short stories in {language} to be told as a narrated picture film: {LENGTHS[job.length]}, "
        "each one a thing that can be seen, in plain words, with a beginning, a turn and an end."
        f"{genre} Answer with one JSON object "
        '{"title": str, "story": str} and nothing else.'
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": f"Idea: {job.idea}"}]


def story_schema(job: StoryJob) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 200},
            "story": {"type": "string", "minLength": 1, "maxLength": STORY_LIMIT},
        },
        "required": ["title", "story"],
    }


def parse_story(answer: str, job: StoryJob, *, backend: str, model: str) -> Drafted:
    """The model's story: cleaned (paragraphs kept), capped, and at least two sentences."""
    data = first_json_object(answer)
    if not isinstance(data, dict) or not isinstance(data.get("story"), str):
        raise ValueError("the answer has no story")
    story = clean_text(data["story"]).strip()[:STORY_LIMIT]
    if len(split_sentences(story)) < 2:
        raise ValueError("the answer's story is not two sentences long")
    return Drafted(capped_text(data.get("title"), 200), story, backend, model)


# --- the prompt optimiser: intent and entities ------------------------------------------------
ENTITY_LIMIT = 200  # characters of one entity
SUBJECTS_MOST = 5


@dataclass
class OptimizeJob:
    """What a person asked for a picture, to be read into entities (``Entities``)."""

    prompt: str
    style: str
    context: str = ""  # the shot's narration, where the prompt is a shot's
    api_key: str = ""
    constrained: bool = True


@dataclass
class Entities:
    """What a picture prompt is made of: who or what is seen, where, when, the mood and the framing
    (``shot_size`` and ``camera_angle`` are keys of ``inference.styles``' tables, or "")."""

    subjects: list[str] = field(default_factory=list)
    setting: str = ""
    time_of_day: str = ""
    mood: str = ""
    shot_size: str = ""
    camera_angle: str = ""
    intent: str = ""  # what the person wants, in a sentence


@dataclass
class Read:
    entities: Entities
    backend: str
    model: str


ENTITY_NAMES = {"time_of_day": "timeOfDay", "shot_size": "shotSize", "camera_angle": "cameraAngle"}


def optimize_messages(job: OptimizeJob) -> list[dict[str, str]]:
    sizes, angles = ", ".join(SHOT_SIZES), ", ".join(CAMERA_ANGLES)
    system = (
        "You read what a person wants a picture to show and pick out its parts, in English (translate them if the "
        "request is in another language): the intent (what they want, in a sentence), the subjects (who or what "
        "is seen, each a short phrase), the setting (where), the time of day, the mood, the shot size "
        f'({sizes}) and the camera angle ({angles}). Leave a part empty ("" or []) where the request does not say '
        "it: never invent one. Answer with one JSON object "
        '{"intent": str, "subjects": [str], "setting": str, "timeOfDay": str, "mood": str, "shotSize": str, '
        '"cameraAngle": str} and nothing else.'
    )
    context = f"\nThe shot's narration: {job.context}" if job.context else ""
    return [{"role": "system", "content": system}, {"role": "user", "content": f"Request: {job.prompt}{context}"}]


def optimize_schema(job: OptimizeJob) -> dict[str, Any]:
    text = {"type": "string", "maxLength": ENTITY_LIMIT}
    return {
        "type": "object",
        "properties": {
            "intent": text,
            "subjects": {"type": "array", "maxItems": SUBJECTS_MOST, "items": text},
            "setting": text,
            "timeOfDay": text,
            "mood": text,
            "shotSize": {"type": "string", "enum": ["", *SHOT_SIZES]},
            "cameraAngle": {"type": "string", "enum": ["", *CAMERA_ANGLES]},
        },
        "required": ["intent", "subjects", "setting", "timeOfDay", "mood", "shotSize", "cameraAngle"],
    }


def parse_entities(answer: str, job: OptimizeJob, *, backend: str, model: str) -> Read:
    """The model's entities: each cleaned and capped; a shot size or angle outside the tables is
    left empty; an answer with no subject and no setting read nothing (ValueError)."""
    data = first_json_object(answer)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    subjects = data.get("subjects")
    listed = [capped_text(s, ENTITY_LIMIT) for s in subjects] if isinstance(subjects, list) else []
    found = Entities(
        subjects=[s for s in listed if s][:SUBJECTS_MOST],
        **{
            key: capped_text(data.get(ENTITY_NAMES.get(key, key)), ENTITY_LIMIT)
            for key in ("setting", "time_of_day", "mood", "intent")
        },
    )
    size, angle = data.get("shotSize"), data.get("cameraAngle")
    found.shot_size = size if isinstance(size, str) and size in SHOT_SIZES else ""
    found.camera_angle = angle if isinstance(angle, str) and angle in CAMERA_ANGLES else ""
    if not found.subjects and not found.setting:
        raise ValueError("the answer names no subject and no setting")
    return Read(found, backend, model)


# --- asking the model -----------------------------------------------------------------------
@dataclass(frozen=True)
class Instruction:
    """How one kind of job is asked and its answer read."""

    messages: Callable[[Any], list[dict[str, str]]]
    parse: Callable[..., Any]  # (answer, job, *, backend, model) -> the result; ValueError when unusable
    schema: Callable[[Any], dict[str, Any]]  # the answer's JSON shape, for constrained decoding
    budget: Callable[[Any, Callable[[str], int]], int]  # new tokens, given a token counter
    what: str


INSTRUCTIONS: dict[type, Instruction] = {
    RefineJob: Instruction(
        refine_messages,
        parse_refined,
        refine_schema,
        lambda job, tokens: 2 * tokens(job.shot.prompt + job.shot.narration) + 160,
        "Rewriting the shot",
    ),
    RewriteJob: Instruction(
        rewrite_messages,
        parse_rewrite,
        rewrite_schema,
        lambda job, tokens: 2 * tokens("".join(s.prompt + s.narration for s in job.shots)) + 80 * len(job.shots) + 200,
        "Rewriting the storyboard",
    ),
    TranslateJob: Instruction(
        translate_messages,
        parse_translated,
        translate_schema,
        lambda job, tokens: 3 * tokens(job.title + "".join(job.narrations)) + 20 * len(job.narrations) + 100,
        "Translating",
    ),
    OptimizeJob: Instruction(
        optimize_messages,
        parse_entities,
        optimize_schema,
        lambda job, tokens: 2 * tokens(job.prompt) + 200,
        "Reading the request",
    ),
    StoryJob: Instruction(
        story_messages,
        parse_story,
        story_schema,
        lambda job, tokens: 900 if job.length == "short" else 2400,
        "Writing the story",
    ),
}

Job = RefineJob | RewriteJob | TranslateJob | StoryJob | OptimizeJob


def openai_instruct(
    job: Job, *, base_url: str, model: str, timeout: float = 300.0, attempts: int = 2, progress: Progress = no_progress
) -> Any:
    """The job done by an OpenAI-compatible chat server."""
    kind = INSTRUCTIONS[type(job)]
    messages = kind.messages(job)

    def ask(attempt: int) -> str:
        return openai_chat(messages, base_url=base_url, model=model, api_key=job.api_key, timeout=timeout)

    parse = partial(kind.parse, job=job, backend="openai", model=model)
    return _usable(ask, parse, model=model, attempts=attempts, progress=progress)


def transformers_instruct(
    job: Job,
    *,
    model: str,
    runtime: Runtime,
    attempts: int = 2,
    max_new_tokens: int | None = None,
    progress: Progress = no_progress,
) -> Any:
    """The job done by a local chat model; with ``job.constrained`` the answer is kept inside
    the job's JSON shape while it is written."""
    kind = INSTRUCTIONS[type(job)]
    chat = LocalChat(model, runtime)
    messages = kind.messages(job)
    budget = max_new_tokens or min(8192, kind.budget(job, chat.tokens))
    schema = kind.schema(job) if job.constrained else None

    def ask(attempt: int) -> str:
        return chat.ask(
            messages,
            attempt=attempt,
            attempts=attempts,
            budget=budget,
            schema=schema,
            what=kind.what,
            progress=progress,
        )

    parse = partial(kind.parse, job=job, backend="transformers", model=model)
    return _usable(ask, parse, model=model, attempts=attempts, progress=progress)
