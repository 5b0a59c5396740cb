"""Rewriting with the language model: a person's instruction on a shot ("make it night, closer
on the cat") becomes a task on the inference queue; the model rewrites the shot's picture
prompt (and, if asked, its narration) and only what changed is made again. Each exchange is a
turn of the project's conversation, and the next instruction on the shot goes with the earlier
ones, so it builds on them (the multi-turn prompt optimiser)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from inference import engines
from inference.errors import EngineError
from inference.refine import Refined, RefineJob, ShotText
from inference.refine import Turn as TurnText
from inference.registry import DraftStoryboard, parse_spec
from inference.types import Progress
from projects.models import Project, Turn
from projects.selectors import project_lock
from shots.models import Shot
from shots.services import shot_update
from storyvideo.engines import runtime
from storyvideo.errors import ApplicationError
from tasks.models import Task
from tasks.registry import SupersededError
from tasks.services import task_create, task_finish, tasks_cancel

HISTORY_TURNS = 6  # earlier turns on the shot sent with an instruction


def _text_of(shot: Shot) -> dict[str, str]:
    return {"prompt": shot.prompt, "narration": shot.narration}


@transaction.atomic
def shot_refine(*, shot: Shot, instruction: str, narration: bool = False) -> Task:
    """Queue the model's rewrite of one shot on the person's instruction; an earlier rewrite of
    the shot still waiting is superseded. The draft storyboard back end cannot follow an
    instruction: that is said at once (409), not after a wait."""
    if parse_spec("storyboard", settings.STORYBOARD_MODEL).backend == DraftStoryboard.name:
        raise ApplicationError(DraftStoryboard.CANNOT_REFINE, code="conflict")
    project = project_lock(project_id=shot.project_id)
    shot = Shot.objects.select_for_update().get(pk=shot.pk)
    tasks_cancel(
        tasks=shot.tasks.filter(kind=Task.Kind.REFINE, status__in=Task.UNFINISHED),
        reason="Superseded by a newer instruction.",
    )
    params = {"instruction": instruction, "narration": narration, "before": _text_of(shot)}
    return task_create(kind=Task.Kind.REFINE, project=project, shot=shot, params=params)


def turn_list(*, project: Project, shot_id: Any = None) -> QuerySet[Turn]:
    turns = project.turns.all()
    return turns.filter(shot_id=shot_id) if shot_id else turns


def _unedited_shot(task: Task, *, lock: bool = False) -> Shot:
    """The task's shot, refused if it changed after the instruction was sent: the person's own
    edit wins, and they can ask again on the new text."""
    if task.shot_id is None:
        raise SupersededError
    shots = Shot.objects.select_for_update() if lock else Shot.objects.select_related("project")
    shot = shots.filter(pk=task.shot_id).first()
    if shot is None:
        raise SupersededError
    if _text_of(shot) != task.params["before"]:
        raise EngineError(
            f"Shot {shot.order + 1} was edited after the instruction was sent; nothing was changed. "
            "Send the instruction again to rewrite the new text.",
            permanent=True,
        )
    return shot


def refine_run(task: Task, progress: Progress) -> Refined:
    shot = _unedited_shot(task)
    history = [
        TurnText(turn.instruction, ShotText(**turn.before), ShotText(**turn.after))
        for turn in reversed(shot.turns.order_by("-created_at")[:HISTORY_TURNS])
    ]
    job = RefineJob(
        shot=ShotText(**task.params["before"]),
        instruction=task.params["instruction"],
        language=shot.project.language,
        narration=bool(task.params["narration"]),
        history=history,
        api_key=settings.OPENAI_API_KEY,
        constrained=settings.STORYBOARD_CONSTRAINED,
    )
    return engines.refine(settings.STORYBOARD_MODEL, job, runtime=runtime(), progress=progress)


WHAT_CHANGED = {
    ("prompt",): "Rewrote the picture prompt; the picture is made again.",
    ("narration",): "Rewrote the narration; it is spoken again.",
    ("narration", "prompt"): "Rewrote the picture prompt and the narration; both are made again.",
    (): "The model kept the shot as it was.",
}


OWN_KEPT = (("image", "prompt", "picture"), ("speech", "narration", "recording"))


def refine_apply(task: Task, refined: Refined) -> str:
    """Record the turn and apply the rewrite as an edit: only what changed is made again."""
    shot = _unedited_shot(task, lock=True)
    after = asdict(refined.shot)
    changes = {key: value for key, value in after.items() if getattr(shot, key) != value}
    changed = sorted(changes)
    Turn.objects.create(
        project_id=task.project_id,
        shot=shot,
        task=task,
        instruction=task.params["instruction"],
        before=task.params["before"],
        after=after,
        changed=changed,
        backend=refined.backend,
        model=refined.model,
    )
    result = {"changed": changed, **after, "backend": refined.backend, "model": refined.model}
    message = WHAT_CHANGED[tuple(changed)]
    kept = [what for stage, field, what in OWN_KEPT if field in changes and shot.is_own(stage)]
    if kept:
        message += f" Your own {' and '.join(kept)} stays: regenerate it to use the new text."
    if not task_finish(task=task, result=result, message=message):
        raise SupersededError
    if changes:
        shot_update(shot=shot, changes=changes)
    return "refine"
