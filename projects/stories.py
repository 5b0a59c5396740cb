"""From an idea to a story: the storyboard's language model writes a story from a person's idea
into a new project, which waits, story in hand, for the person to edit it and ask for its
storyboard. The draft storyboard back end cannot write one, and says so at once."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from core.engines import runtime
from core.errors import ApplicationError
from inference import engines
from inference.errors import EngineError
from inference.refine import Drafted, StoryJob
from inference.sentences import Sentence
from projects import live
from projects.conversation import can_follow_instructions
from projects.models import Project
from projects.pipeline import STORY, STORYBOARD, pipeline_start, project_status_derive
from projects.selectors import film_id, film_of, project_lock
from projects.storyboards import storyboard_snapshot
from projects.throttles import new_projects_take
from tasks.models import Task
from tasks.registry import Progress, SupersededError
from tasks.services import task_create, task_finish


@transaction.atomic
def story_draft(
    *, owner: Any, idea: str, language: str, genre: str = "", length: str = "short"
) -> tuple[Project, Task]:
    """A new project whose story the model writes from ``idea`` (a task, with progress)."""
    can_follow_instructions(STORY)
    new_projects_take(owner_id=owner.pk)
    project = Project.objects.create(owner=owner, title=idea[:60], story="", language=language)
    task = task_create(kind=STORY, project=project, params={"idea": idea, "genre": genre, "length": length})
    project_status_derive(project=project)
    return project, task


def story_run(task: Task, progress: Progress) -> Drafted:
    job = StoryJob(
        idea=task.params["idea"],
        language=film_of(task).language,
        genre=task.params["genre"],
        length=task.params["length"],
        api_key=settings.OPENAI_API_KEY,
        constrained=settings.STORYBOARD_CONSTRAINED,
    )
    drafted = engines.instruct(settings.STORYBOARD_MODEL, job, runtime=runtime(), progress=progress)
    assert isinstance(drafted, Drafted)
    return drafted


def story_apply(task: Task, drafted: Drafted) -> str:
    project = project_lock(project_id=film_id(task))
    if project.story.strip():
        raise EngineError("A story was written into the project meanwhile; it was kept as it is.", permanent=True)
    project.story = drafted.story
    project.title = drafted.title or project.title
    project.save(update_fields=["story", "title", "updated_at"])
    result = {"title": project.title, "backend": drafted.backend, "model": drafted.model}
    if not task_finish(
        task=task,
        result=result,
        message=Sentence("story_ready", "The story is written: edit it, then make the storyboard."),
    ):
        raise SupersededError
    live.publish_project_on_commit(project.pk)
    return "story"


@transaction.atomic
def storyboard_start(*, project: Project, again: bool = False) -> list[Task]:
    """Cut the project's story into shots: a story drafted from an idea once the person has
    edited it, or a story whose storyboard failed, once more. ``again``: a project that has a
    storyboard has it made again from its (edited) story; the storyboard it has now is kept
    among the earlier ones first, to restore."""
    project = project_lock(project_id=project.pk)
    made = project.shots.exists()
    if made and not again:
        raise ApplicationError(
            "The project already has a storyboard: make it again from the story (again: true; the one it has "
            "now is kept among the earlier storyboards), or rewrite it on an instruction (POST …/storyboard/refine).",
            code="conflict",
        )
    if project.tasks.filter(kind__in=[STORY, STORYBOARD], status__in=Task.UNFINISHED).exists():
        raise ApplicationError("The story or its storyboard is still being written; wait for it.", code="conflict")
    if not project.story.strip():
        raise ApplicationError("The story is empty: write it first.", field="story")
    if made:
        reason = Sentence("before_again", "Before the storyboard was made again from the story.")
        storyboard_snapshot(project=project, reason=reason)
    return pipeline_start(project=project)
