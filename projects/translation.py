"""A film in another language: the storyboard's language model translates the title and every
narration line; once it has, a new project is made with the pictures and clips reused and the
narration spoken again in the new language's voice. The film it came from is not touched, and a
translation that fails makes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from core.engines import runtime
from core.errors import ApplicationError
from inference import engines
from inference.errors import EngineError
from inference.refine import Translated, TranslateJob
from inference.sentences import Sentence
from inference.speech import voice_language
from inference.styles import LANGUAGE_LABELS
from projects.conversation import can_follow_instructions
from projects.models import Project
from projects.pipeline import compose_create, shots_regenerate
from projects.selectors import film_id, film_of, project_lock
from projects.services import project_duplicate
from shots.models import Shot
from shots.stages import SPEECH
from tasks.models import Task
from tasks.registry import Progress, SupersededError
from tasks.services import task_create, task_finish, task_keep, task_kept, tasks_cancel

TRANSLATE = "translate"  # the kind of task that makes a translation

# The film in the old language is the old project's, not the translation's.
NO_FILM: dict[str, Any] = {
    **dict.fromkeys(
        ("render_video", "render_srt", "render_vtt", "render_poster", "render_timeline", "render_hash"), ""
    ),
    "render_duration": None,
    "render_manifest": {},
    "rendered_at": None,
}


@transaction.atomic
def project_translate(*, project: Project, language: str) -> Task:
    """Queue the translation of the project into ``language``; its task's result names the new
    project. An earlier translation still waiting is superseded."""
    if language == project.language:
        raise ApplicationError(f"The project is already in {language!r}.", field="language")
    can_follow_instructions(TRANSLATE)
    project = project_lock(project_id=project.pk)
    if not project.shots.exists():
        raise ApplicationError("The project has no shots to translate yet.", code="conflict")
    tasks_cancel(
        tasks=project.tasks.filter(kind=TRANSLATE, status__in=Task.UNFINISHED),
        reason="Superseded by a newer translation.",
    )
    return task_create(kind=TRANSLATE, project=project, params={"language": language})


@dataclass
class Translation:
    translated: Translated
    narrations: list[str]  # what was translated, to check it is still what the shots say


def translate_run(task: Task, progress: Progress) -> Translation:
    """The title and narration translated TRANSLATE_LINES_AT_ONCE lines at a time, each group kept
    with the task as it is done: an attempt after a timeout or an error goes on from the next
    group (where the lines and the model are still those), not from the first line."""
    project = film_of(task)
    narrations = list(project.shots.order_by("order").values_list("narration", flat=True))
    model, total = settings.STORYBOARD_MODEL, len(narrations)
    asked = [project.title, narrations, task.params["language"], model]
    kept = task_kept(task, asked)
    title, lines = str(kept.get("title", "")), [str(line) for line in kept.get("narrations", [])]
    backend, used = str(kept.get("backend", "")), str(kept.get("model", ""))
    if lines:
        progress(
            len(lines) / total,
            Sentence(
                "resumed",
                "Going on from line %(line)s of %(lines)s (the lines before were translated by an earlier attempt).",
                line=len(lines) + 1,
                lines=total,
            ),
        )
    while len(lines) < total:
        done, group = len(lines), narrations[len(lines) : len(lines) + settings.TRANSLATE_LINES_AT_ONCE]
        job = TranslateJob(
            title=project.title if done == 0 else "",
            narrations=group,
            source=project.language,
            target=task.params["language"],
            api_key=settings.OPENAI_API_KEY,
            constrained=settings.STORYBOARD_CONSTRAINED,
        )

        def part(share: float, message: str, done: int = done, size: int = len(group)) -> None:
            progress((done + share * size) / total, message)

        translated = engines.instruct(model, job, runtime=runtime(), progress=part)
        assert isinstance(translated, Translated)
        title = translated.title if done == 0 else title
        lines += translated.narrations
        backend, used = translated.backend, translated.model
        task_keep(
            task=task, inputs=asked, kept={"title": title, "narrations": lines, "backend": backend, "model": used}
        )
    return Translation(Translated(title, lines, backend, used), narrations)


def translate_apply(task: Task, output: Translation) -> str:
    """The new project: a copy (characters, shots, pictures, clips, history) in the new language,
    each shot's narration translated and its original kept for bilingual subtitles, characters'
    voices of the old language dropped (the narrator's voice follows the new language), and
    every line spoken again; the film is remade from them."""
    project = project_lock(project_id=film_id(task))
    shots = list(project.shots.order_by("order"))
    if [shot.narration for shot in shots] != output.narrations:
        raise EngineError(
            "The narration was edited while it was being translated; nothing was made. Translate again.",
            permanent=True,
        )
    language = task.params["language"]
    copy = project_duplicate(project=project)
    title = output.translated.title or f"{project.title} ({LANGUAGE_LABELS[language]})"
    Project.objects.filter(pk=copy.pk).update(language=language, voice="", title=title[:200], **NO_FILM)
    copy.render_segments.all().delete()  # the old language's film's; still held by the project it came from
    copy.refresh_from_db()
    for character in copy.characters.exclude(voice=""):
        if voice_language(character.voice) not in (None, language):
            character.voice = ""
            character.save(update_fields=["voice"])
    copies = list(copy.shots.order_by("order"))
    for shot, line in zip(copies, output.translated.narrations, strict=True):
        shot.original_narration, shot.narration = shot.narration, line
        shot.save(update_fields=["original_narration", "narration"])
    Shot.objects.filter(project=copy).update(
        **SPEECH.cleared(), speech_duration=None, speech_sentences=[]
    )  # no line is ever heard in the old language under the new subtitles
    shots_regenerate(shots=copies, stages={SPEECH})
    if project.render_video or copy.auto_render:
        compose_create(project=copy)
    result = {
        "projectId": str(copy.id),
        "language": language,
        "backend": output.translated.backend,
        "model": output.translated.model,
    }
    message = Sentence(
        "translated",
        "Translated into %(language)s: “%(title)s”, its voices are being made.",
        language=LANGUAGE_LABELS[language],
        title=copy.title,
    )
    if not task_finish(task=task, result=result, message=message):
        raise SupersededError
    return "translate"
