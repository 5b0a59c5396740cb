"""The prompt optimiser: what a person asks a picture to show is read into its parts (intent,
subjects, setting, time of day, mood, shot size, camera angle) by the storyboard's language
model under a strict schema, and a template of the style (``PromptTemplate``, which staff edit)
writes an English picture prompt from them. What was not said comes back as questions; the
person's answers fill those parts and the prompt is written again (the dialogue, kept with the
draft and, for a shot, listed with the shot). A 1-5 rating of a draft rates its template: the
person's best-rated templates are used first next time. On the draft back end no model reads the
request: it is the subject as written, a time of day and a shot size it names are picked out by
their words, and the template alone writes the prompt, saying that a model would do more."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Q, QuerySet

from core.engines import runtime
from core.errors import ApplicationError
from inference import engines
from inference.refine import ENTITY_NAMES, Entities, OptimizeJob, Read
from inference.registry import DraftStoryboard, parse_spec
from inference.sentences import Sentence, said
from inference.styles import CAMERA_ANGLES, SHOT_LANGUAGE_ALIASES, SHOT_SIZES
from projects.conversation import can_follow_instructions
from projects.models import PromptDraft, PromptTemplate
from shots.models import Shot
from tasks.models import Task
from tasks.registry import Progress, SupersededError
from tasks.services import task_create, task_finish

OPTIMIZE = "optimize"
RESULT_LIMIT = 2000
ENTITY_KEYS = ("subjects", "setting", "timeOfDay", "mood", "shotSize", "cameraAngle")
PLACEHOLDER = re.compile(r"\{(\w*)\}")
NEUTRAL = 3.0  # an unrated template ranks as a middling one
DRAFT_NOTE = (
    "The draft back end reads no language: your words are the subject as written, and only a time of day and a "
    "shot size it knows by name were picked out. A language model (STORYBOARD_MODEL) would read the setting, the "
    "mood and the rest."
)
# What the optimiser asks where a part was not said, in the order it asks.
QUESTIONS = (
    ("subjects", "Who or what is in the picture?"),
    ("setting", "Where does it take place?"),
    ("timeOfDay", "What time of day is it?"),
    ("mood", "What mood should it have?"),
    ("shotSize", "How close is the camera?"),
)
# Words the draft reading knows: a time of day (English and Chinese) and the shot sizes' names.
TIMES = {
    "dawn": "dawn", "sunrise": "sunrise", "morning": "morning", "noon": "noon", "afternoon": "afternoon",
    "dusk": "dusk", "sunset": "sunset", "evening": "evening", "night": "night", "midnight": "midnight",
    "黎明": "dawn", "清晨": "early morning", "早晨": "morning", "早上": "morning", "中午": "noon", "下午": "afternoon",
    "黄昏": "dusk", "傍晚": "evening", "日落": "sunset", "夜晚": "night", "夜里": "night", "晚上": "night",
    "深夜": "late night", "午夜": "midnight",
}  # fmt: skip
SIZE_WORDS = {
    **{words: key for key, words in SHOT_SIZES.items()},
    **{"close-up": "close_up", "close up": "close_up", "medium close-up": "medium_close_up", "long shot": "wide"},
    **{alias: key for alias, key in SHOT_LANGUAGE_ALIASES.items() if key in SHOT_SIZES and not alias.isascii()},
}


def template_problem(text: str) -> str:
    """What is wrong with a template's text ("" when nothing is)."""
    names = set(PLACEHOLDER.findall(text))
    unknown = sorted(names - set(ENTITY_KEYS))
    if unknown:
        return f"Unknown part {{{unknown[0]}}}: use {', '.join('{' + key + '}' for key in ENTITY_KEYS)}."
    if "subjects" not in names:
        return "A template must name {subjects} somewhere: a picture shows someone or something."
    return ""


def _said_words(entities: dict[str, Any], *, framing: bool) -> dict[str, str]:
    """Each part in the words a prompt uses (the subjects joined, the framing in the image
    model's words; left out for a shot, whose own fields carry its framing)."""
    subjects = [s for s in entities.get("subjects") or [] if s]
    joined = " and ".join(subjects) if len(subjects) <= 2 else f"{', '.join(subjects[:-1])} and {subjects[-1]}"
    words = {key: str(entities.get(key) or "").strip() for key in ("setting", "timeOfDay", "mood")}
    words["subjects"] = joined
    words["shotSize"] = SHOT_SIZES.get(entities.get("shotSize") or "", "") if framing else ""
    words["cameraAngle"] = CAMERA_ANGLES.get(entities.get("cameraAngle") or "", "") if framing else ""
    return words


def assemble(text: str, entities: dict[str, Any], *, framing: bool = True) -> str:
    """The template's prompt for these entities: each comma-separated part kept where every part
    it names was read (its first such ``|`` fallback), the rest left out."""
    words = _said_words(entities, framing=framing)
    parts = []
    for part in text.split(","):
        for option in part.split("|"):
            if all(words.get(name) for name in PLACEHOLDER.findall(option)):
                parts.append(" ".join(PLACEHOLDER.sub(lambda m: words[m.group(1)], option).split()))
                break
    return ", ".join(part for part in parts if part)[:RESULT_LIMIT]


def templates_ranked(*, owner_id: int, style: str) -> list[PromptTemplate]:
    """The active templates for the style (its own, then those for any style), the person's
    best-rated first (their mean rating of drafts it wrote; one they never rated as a middling
    one)."""
    found = (
        PromptTemplate.objects.filter(active=True)
        .filter(Q(style=style) | Q(style=""))
        .annotate(liked=Avg("drafts__rating", filter=Q(drafts__owner_id=owner_id)))
    )

    def rank(template: Any) -> tuple[float, bool, str]:
        liked = template.liked  # the annotation
        return (-(liked if liked is not None else NEUTRAL), template.style != style, template.name)

    return sorted(found, key=rank)


def draft_reading(prompt: str) -> dict[str, Any]:
    """What the draft back end makes of a request without a model: the words as the subject,
    and a time of day and a shot size it knows by name."""
    lowered = prompt.lower()
    time = next((said for word, said in TIMES.items() if _names(word, lowered)), "")
    size = next((SIZE_WORDS[word] for word in sorted(SIZE_WORDS, key=len, reverse=True) if _names(word, lowered)), "")
    return {"subjects": [" ".join(prompt.split())[:200]], "timeOfDay": time, "shotSize": size}


def _names(word: str, text: str) -> bool:
    """Whether the (lower-case) text has the word: an English one as a whole word ("night", not
    "knight"), a Chinese one anywhere."""
    return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text) is not None if word.isascii() else word in text


def _entities_json(read: Entities) -> dict[str, Any]:
    return {ENTITY_NAMES.get(key, key): value for key, value in vars(read).items()}


def seen(draft: PromptDraft) -> dict[str, Any]:
    """The entities as they stand: what was read, with the person's answers over it."""
    return {**draft.entities, **draft.answers}


def framing_on(draft: PromptDraft) -> bool:
    """A shot's framing is its own fields' (the editor sets them); a prompt alone says it in words."""
    return draft.shot_id is None


def questions(draft: PromptDraft) -> list[dict[str, Any]]:
    """What to ask for the parts not read or answered (none before the request was read)."""
    if not draft.entities:
        return []
    entities = seen(draft)
    asked = []
    for key, question in QUESTIONS:
        if entities.get(key) or (key == "shotSize" and not framing_on(draft)):
            continue
        choices = list(SHOT_SIZES) if key == "shotSize" else []
        asked.append({"field": key, "question": question, "choices": choices})
    return asked


def alternatives(draft: PromptDraft, *, most: int = 2) -> list[dict[str, str]]:
    """The prompt as the next-ranked templates would write it (others to choose from)."""
    if not draft.entities:
        return []
    ranked = [t for t in templates_ranked(owner_id=draft.owner_id, style=draft.style) if t.pk != draft.template_id]
    entities, framing = seen(draft), framing_on(draft)
    return [
        {"templateId": str(t.pk), "name": t.name, "result": assemble(t.text, entities, framing=framing)}
        for t in ranked[:most]
    ]


def status_of(draft: PromptDraft) -> str:
    """reading (the model has it), ready, or failed (the task's message says why)."""
    if draft.entities:
        return "ready"
    task = draft.task
    return "failed" if task is not None and task.status in (Task.Status.FAILED, Task.Status.CANCELLED) else "reading"


def _write(draft: PromptDraft, *, template: PromptTemplate | None = None) -> None:
    """Write the prompt from the entities with the template (the person's best-ranked where none
    is named); no template at all: the subjects and the rest, plainly."""
    if template is None:
        ranked = templates_ranked(owner_id=draft.owner_id, style=draft.style)
        template = ranked[0] if ranked else None
    text = template.text if template else "{subjects}, {setting}, {timeOfDay}, {mood}, {shotSize}, {cameraAngle}"
    draft.template = template
    draft.result = assemble(text, seen(draft), framing=framing_on(draft))


def _uses_a_model() -> bool:
    return parse_spec("storyboard", settings.STORYBOARD_MODEL).backend != DraftStoryboard.name


@transaction.atomic
def prompt_optimize(*, owner_id: int, prompt: str, style: str = "", shot: Shot | None = None) -> PromptDraft:
    """Read the request and write its prompt: at once on the draft back end, else on the
    language model's queue (the draft is "reading" until its task lands; 409 where no language
    worker can run the model). For a shot, the film's style where none is given."""
    style = style or (shot.project.style if shot is not None else "")
    draft = PromptDraft(owner_id=owner_id, shot=shot, prompt=prompt, style=style)
    if not _uses_a_model():
        draft.entities, draft.backend, draft.note = draft_reading(prompt), "draft", DRAFT_NOTE
        _write(draft)
        draft.save()
        return draft
    can_follow_instructions(OPTIMIZE)
    draft.save()
    project = shot.project if shot is not None else None
    draft.task = task_create(
        kind=OPTIMIZE, project=project, owner_id=owner_id, shot=shot, params={"draft": str(draft.pk)}
    )
    draft.save(update_fields=["task"])
    return draft


def prompt_list(*, owner_id: int, shot_id: uuid.UUID | None = None) -> QuerySet[PromptDraft]:
    drafts = PromptDraft.objects.filter(owner_id=owner_id).select_related("task", "template")
    return drafts.filter(shot_id=shot_id) if shot_id is not None else drafts


def prompt_get(*, owner_id: int, draft_id: uuid.UUID | str) -> PromptDraft:
    draft = prompt_list(owner_id=owner_id).filter(pk=draft_id).first()
    if draft is None:
        raise ApplicationError("No such prompt draft of yours.", code="not_found")
    return draft


@transaction.atomic
def prompt_answer(*, draft: PromptDraft, answers: dict[str, Any], template_id: uuid.UUID | None = None) -> PromptDraft:
    """The person's answers to the questions (and, optionally, another of their templates): the
    prompt is written again from them."""
    draft = PromptDraft.objects.select_for_update().get(pk=draft.pk)
    if not draft.entities:
        raise ApplicationError("The request is still being read; answer once it is ready.", code="conflict")
    template = None
    if template_id is not None:
        template = next(
            (t for t in templates_ranked(owner_id=draft.owner_id, style=draft.style) if t.pk == template_id), None
        )
        if template is None:
            raise ApplicationError("No active template for this style has that id.", field="templateId")
    draft.answers = {**draft.answers, **answers}
    _write(draft, template=template or draft.template)  # an answer keeps the template the person chose
    draft.save()
    return draft


def prompt_rate(*, draft: PromptDraft, rating: int) -> PromptDraft:
    """Rate the draft 1-5: it ranks the template that wrote it for this person."""
    if status_of(draft) != "ready":
        raise ApplicationError("Rate the prompt once it is written.", code="conflict")
    PromptDraft.objects.filter(pk=draft.pk).update(rating=rating)
    draft.rating = rating
    return draft


# --- the task: the language model reads the request -------------------------------------------
def optimize_run(task: Task, progress: Progress) -> Read:
    draft = PromptDraft.objects.select_related("shot").filter(pk=task.params["draft"]).first()
    if draft is None:
        raise SupersededError
    job = OptimizeJob(
        prompt=draft.prompt,
        style=draft.style,
        context=draft.shot.narration if draft.shot is not None else "",
        api_key=settings.OPENAI_API_KEY,
        constrained=settings.STORYBOARD_CONSTRAINED,
    )
    read = engines.instruct(settings.STORYBOARD_MODEL, job, runtime=runtime(), progress=progress)
    assert isinstance(read, Read)
    return read


def optimize_apply(task: Task, read: Read) -> str:
    draft = PromptDraft.objects.select_for_update().filter(pk=task.params["draft"]).first()
    if draft is None:
        raise SupersededError
    draft.entities, draft.backend, draft.model = _entities_json(read.entities), read.backend, read.model
    _write(draft)
    draft.save()
    message = said(Sentence("prompt_written", "Read the request and wrote the prompt (%(by)s).", by=read.model))
    if not task_finish(task=task, result={"promptId": str(draft.pk), "result": draft.result}, message=message):
        raise SupersededError
    return OPTIMIZE
