"""The film's own kinds of work, declared into the task engine (``tasks.registry``): what each
runs, on which queue, for how long; the work itself is in the module each one names. The shots'
stages are declared in ``shots/kinds.py``. The tasks app imports this module at start-up.

Also registered here: what follows every job that settled tasks of a project (its status, then
the webhook of a render that ended).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings

from core.engines import runtime
from inference import engines
from inference.policy import ENGINES
from projects import conversation, likeness, match, prompts, render, stories, storyboards, translation, webhooks
from projects.models import Project
from projects.pipeline import COMPOSE, REFINE, STORY, STORYBOARD, project_status_refresh
from tasks.models import Task
from tasks.queues import INFERENCE, LANGUAGE, MEDIA
from tasks.registry import Kind, Progress, on_tasks_settled, on_tasks_started, register


class LanguageModelWork(Kind):
    """Work of the storyboard's language model (STORYBOARD_MODEL), on a queue of its own."""

    queue = LANGUAGE
    policy = ENGINES

    def timeout_s(self) -> int:
        return int(settings.TASK_TIMEOUT_STORYBOARD_S)

    def cannot_run(self) -> str | None:
        """Work only the model can do (no draft stands in) cannot run where its weights are not."""
        return conversation.why_the_model_cannot_run()

    def configuration(self) -> str:
        return str(settings.STORYBOARD_MODEL)


@register
class StoryboardWork(LanguageModelWork):
    """The story cut into shots and characters; its media are queued when it lands."""

    name = STORYBOARD
    standard_type = "text"  # the standard contract's word

    def run(self, task: Task, progress: Progress) -> Any:
        return storyboards.storyboard_run(task, progress)

    def apply(self, task: Task, output: Any) -> str:
        return storyboards.storyboard_apply(task, output)

    def warm_up(self) -> str:
        return engines.warm("storyboard", settings.STORYBOARD_MODEL, runtime=runtime())

    def cannot_run(self) -> None:
        return None  # the draft storyboard stands in where the model cannot run


@register
class RefineWork(LanguageModelWork):
    """A shot's prompt (and narration), or the whole storyboard, rewritten on an instruction."""

    name = REFINE

    def run(self, task: Task, progress: Progress) -> Any:
        return conversation.refine_run(task, progress)

    def apply(self, task: Task, output: Any) -> str:
        return conversation.refine_apply(task, output)


@register
class TranslateWork(LanguageModelWork):
    """The narration translated: a new project in another language."""

    name = translation.TRANSLATE

    def run(self, task: Task, progress: Progress) -> Any:
        return translation.translate_run(task, progress)

    def apply(self, task: Task, output: Any) -> str:
        return translation.translate_apply(task, output)


@register
class StoryWork(LanguageModelWork):
    """A story written from an idea, for the person to edit."""

    name = STORY

    def run(self, task: Task, progress: Progress) -> Any:
        return stories.story_run(task, progress)

    def apply(self, task: Task, output: Any) -> str:
        return stories.story_apply(task, output)


@register
class OptimizeWork(LanguageModelWork):
    """A request for a picture read into its parts, for the prompt optimiser's template."""

    name = prompts.OPTIMIZE

    def run(self, task: Task, progress: Progress) -> Any:
        return prompts.optimize_run(task, progress)

    def apply(self, task: Task, output: Any) -> str:
        return prompts.optimize_apply(task, output)


@register
class LikenessWork(Kind):
    """How alike a character's pictures are (a CLIP image encoder, on the inference queue)."""

    name = likeness.LIKENESS
    queue = INFERENCE
    policy = ENGINES

    def run(self, task: Task, progress: Progress) -> Any:
        return likeness.likeness_run(task, progress)

    def apply(self, task: Task, output: Any) -> str:
        return likeness.likeness_apply(task, output)

    def configuration(self) -> str:
        return str(settings.LIKENESS_MODEL)


@register
class MatchWork(Kind):
    """How well each picture of a render matches its words (CLIP, where one is installed), for
    its film check; on the inference queue, where the models are."""

    name = match.MATCH
    queue = INFERENCE
    policy = ENGINES

    def run(self, task: Task, progress: Progress) -> Any:
        return match.match_run(task, progress)

    def apply(self, task: Task, output: Any) -> str:
        return match.match_apply(task, output)

    def configuration(self) -> str:
        return str(settings.LIKENESS_MODEL)

    def cannot_run(self) -> str | None:
        return match.why_no_clip_here()


@register
class ComposeWork(Kind):
    """The film's render."""

    name = COMPOSE
    standard_type = "video"  # the standard contract's word
    queue = MEDIA
    policy = ENGINES

    def run(self, task: Task, progress: Progress) -> Any:
        return render.compose_run(task, progress)

    def apply(self, task: Task, output: Any) -> str:
        return render.compose_apply(task, output)


@register
class ClipsWork(Kind):
    """A render's clips for an editor (each shot's core and transition handles), after its film."""

    name = render.CLIPS
    queue = MEDIA
    policy = ENGINES

    def run(self, task: Task, progress: Progress) -> Any:
        return render.clips_run(task, progress)

    def apply(self, task: Task, output: Any) -> str:
        return render.clips_apply(task, output)


@register
class WebhookWork(Kind):
    """A signed call to the project's webhook after a render ended."""

    name = webhooks.WEBHOOK
    queue = MEDIA
    policy = ENGINES

    def run(self, task: Task, progress: Progress) -> Any:
        return webhooks.webhook_run(task, progress)

    def apply(self, task: Task, output: Any) -> str:
        return webhooks.webhook_apply(task, output)


def _status(project_id: uuid.UUID) -> None:
    project_status_refresh(project_id=project_id)


def _status_if_waiting(project_id: uuid.UUID) -> None:
    """A task started: the status line said the work waits, and now it runs (one cheap read
    when it said nothing of waiting, as while a batch or a film is under way)."""
    parts = Project.objects.filter(pk=project_id).values_list("status_parts", flat=True).first() or []
    if any(str(part.get("code", "")).endswith("_waiting") for part in parts):
        project_status_refresh(project_id=project_id)


def _webhook(project_id: uuid.UUID) -> None:
    webhooks.webhook_due_of(project_id=project_id)


on_tasks_settled(_status)  # first: the webhook's call says the status
on_tasks_settled(_webhook)
on_tasks_started(_status_if_waiting)
