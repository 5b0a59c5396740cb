"""Rewriting with the language model: a person's instruction on a shot ("make it night, closer
on the cat") or on the whole storyboard ("fewer shots, more suspense") becomes a task on the
inference queue; the model rewrites the shot's picture prompt (and, if asked, its narration), or
the storyboard keeping the shots the person locked, and only what changed is made again. Each
exchange is a turn of the project's conversation, and the next instruction goes with the earlier
ones, so it builds on them (the multi-turn prompt optimiser)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from core.engines import runtime
from core.errors import ApplicationError
from inference import engines
from inference.errors import EngineError
from inference.refine import BoardShot, BoardTurn, Refined, RefineJob, RewriteJob, Rewritten, ShotText
from inference.refine import Turn as TurnText
from inference.registry import DraftStoryboard, parse_spec, spec_problem
from inference.sentences import Sentence, said
from projects.models import Project, Turn
from projects.pipeline import REFINE, STORYBOARD
from projects.selectors import film_id, film_of, project_lock
from projects.storyboards import storyboard_replace, storyboard_snapshot
from shots.models import Shot
from shots.services import shot_update
from shots.stages import IMAGE, SPEECH
from tasks.models import Task
from tasks.queues import LANGUAGE, why_no_worker_can
from tasks.registry import Progress, SupersededError
from tasks.services import task_create, task_finish, tasks_cancel

HISTORY_TURNS = 6  # earlier turns on the shot sent with an instruction


def _text_of(shot: Shot) -> dict[str, str]:
    return {"prompt": shot.prompt, "narration": shot.narration}


@transaction.atomic
def shot_refine(*, shot: Shot, instruction: str, narration: bool = False) -> Task:
    """Queue the model's rewrite of one shot on the person's instruction; an earlier rewrite of
    the shot still waiting is superseded. The draft storyboard back end cannot follow an
    instruction: that is said at once (409), not after a wait."""
    can_follow_instructions(REFINE)
    project = project_lock(project_id=shot.project_id)
    shot = Shot.objects.select_for_update().get(pk=shot.pk)
    tasks_cancel(
        tasks=shot.tasks.filter(kind=REFINE, status__in=Task.UNFINISHED),
        reason="Superseded by a newer instruction.",
    )
    params = {"instruction": instruction, "narration": narration, "before": _text_of(shot)}
    return task_create(kind=REFINE, project=project, shot=shot, params=params)


@transaction.atomic
def storyboard_refine(*, project: Project, instruction: str) -> Task:
    """Queue the model's rewrite of the whole storyboard ("fewer shots, more suspense"); the
    shots the person locked come back as they are. An earlier rewrite still waiting is
    superseded; while the storyboard is being written there is nothing to rewrite yet (409)."""
    can_follow_instructions(REFINE)
    project = project_lock(project_id=project.pk)
    if project.tasks.filter(kind=STORYBOARD, status__in=Task.UNFINISHED).exists():
        raise ApplicationError("The storyboard is still being written; rewrite it once it is there.", code="conflict")
    if not project.shots.exists():
        raise ApplicationError("The storyboard has no shots to rewrite.", code="conflict")
    tasks_cancel(
        tasks=project.tasks.filter(kind=REFINE, shot__isnull=True, status__in=Task.UNFINISHED),
        reason="Superseded by a newer instruction.",
    )
    params = {"instruction": instruction, "board": _board_digest(project)}
    return task_create(kind=REFINE, project=project, params=params)


def can_follow_instructions(kind: str) -> None:
    """Refuse (409) work only a language model can do where none can do it: the draft is
    configured, or every live language worker said it cannot run the model (its weights are not
    on its disk). With no worker live, the work is taken and waits for one."""
    if parse_spec("storyboard", settings.STORYBOARD_MODEL).backend == DraftStoryboard.name:
        raise ApplicationError(DraftStoryboard.CANNOT_INSTRUCT, code="conflict")
    why = why_no_worker_can(queue=LANGUAGE, kind=kind, configuration=settings.STORYBOARD_MODEL)
    if why:
        raise ApplicationError(
            f"No language worker can run {settings.STORYBOARD_MODEL}: {why}. Fetch its weights on the "
            "workers' machine (python manage.py fetch_models), or set STORYBOARD_MODEL to a model they have.",
            code="conflict",
        )


def why_the_model_cannot_run() -> str | None:
    """Why this process cannot run the language model (``spec_problem``), or None."""
    return spec_problem(parse_spec("storyboard", settings.STORYBOARD_MODEL), settings.MODELS_DIR)


def _board(project: Project) -> list[Shot]:
    return list(project.shots.select_related("speaker").prefetch_related("characters").order_by("order"))


def _board_digest(project: Project) -> str:
    """What the model is shown of the storyboard, as a hash: the rewrite is applied only to the
    storyboard it was made for."""
    rows = [
        [
            str(s.id),
            s.prompt,
            s.narration,
            s.camera,
            s.transition,
            s.locked,
            str(s.speaker_id or ""),
            *sorted(c.name for c in s.characters.all()),
        ]
        for s in _board(project)
    ]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


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


def refine_run(task: Task, progress: Progress) -> Refined | BoardRewrite:
    if task.shot_id is None and "board" in task.params:
        return _board_run(task, progress)
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
        personalities={c.name: c.personality for c in shot.characters.all() if c.personality.strip()},
    )
    refined = engines.instruct(settings.STORYBOARD_MODEL, job, runtime=runtime(), progress=progress)
    assert isinstance(refined, Refined)
    return refined


WHAT_CHANGED = {
    ("prompt",): Sentence("rewrote_prompt", "Rewrote the picture prompt; the picture is made again."),
    ("narration",): Sentence("rewrote_narration", "Rewrote the narration; it is spoken again."),
    ("narration", "prompt"): Sentence(
        "rewrote_both", "Rewrote the picture prompt and the narration; both are made again."
    ),
    (): Sentence("rewrote_nothing", "The model kept the shot as it was."),
}
# What the message says of the person's own files the rewrite left in place.
OWN_STAYS = {
    ("picture",): Sentence("own_picture_stays", "Your own picture stays: regenerate it to use the new text."),
    ("recording",): Sentence("own_recording_stays", "Your own recording stays: regenerate it to use the new text."),
    ("picture", "recording"): Sentence(
        "own_both_stay", "Your own picture and recording stays: regenerate it to use the new text."
    ),
}


# The person's own files an edit of their text leaves in place: what the message calls them.
OWN_KEPT = ((IMAGE, "prompt", "picture"), (SPEECH, "narration", "recording"))


def refine_apply(task: Task, refined: Refined | BoardRewrite) -> str:
    """Record the turn and apply the rewrite as an edit: only what changed is made again."""
    if isinstance(refined, BoardRewrite):
        return _board_apply(task, refined)
    shot = _unedited_shot(task, lock=True)
    after = asdict(refined.shot)
    changes = {key: value for key, value in after.items() if getattr(shot, key) != value}
    changed = sorted(changes)
    Turn.objects.create(
        project_id=film_id(task),
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
    kept = tuple(what for stage, field, what in OWN_KEPT if field in changes and shot.result(stage).own)
    message = said(WHAT_CHANGED[tuple(changed)], OWN_STAYS[kept] if kept else "")
    if not task_finish(task=task, result=result, message=message):
        raise SupersededError
    if changes:
        shot_update(shot=shot, changes=changes)
    return "refine"


# --- the whole storyboard -----------------------------------------------------------------
@dataclass
class BoardRewrite:
    rewritten: Rewritten
    shot_ids: dict[str, str]  # the refs the model saw ("s1", …) -> shot ids


def _unedited_board(task: Task, project: Project) -> None:
    if _board_digest(project) != task.params["board"]:
        raise EngineError(
            "The storyboard was edited after the instruction was sent; nothing was changed. "
            "Send the instruction again to rewrite it as it is now.",
            permanent=True,
        )


def _board_run(task: Task, progress: Progress) -> BoardRewrite:
    project = film_of(task)
    _unedited_board(task, project)
    shots = _board(project)
    refs = {f"s{index}": shot for index, shot in enumerate(shots, 1)}
    history = [
        BoardTurn(turn.instruction, json.dumps(turn.after, ensure_ascii=False)[:4000])
        for turn in reversed(project.turns.filter(shot__isnull=True).order_by("-created_at")[:HISTORY_TURNS])
    ]
    job = RewriteJob(
        story=project.story,
        shots=[
            BoardShot(
                ref=ref,
                prompt=shot.prompt,
                narration=shot.narration,
                camera=shot.camera,
                transition=shot.transition,
                characters=[c.name for c in shot.characters.all()],
                speaker=shot.speaker.name if shot.speaker else "",
                locked=shot.locked,
                shot_size=shot.shot_size,
                camera_angle=shot.camera_angle,
            )
            for ref, shot in refs.items()
        ],
        characters=list(project.characters.values_list("name", flat=True)),
        instruction=task.params["instruction"],
        language=project.language,
        history=history,
        api_key=settings.OPENAI_API_KEY,
        constrained=settings.STORYBOARD_CONSTRAINED,
        personalities={c.name: c.personality for c in project.characters.all() if c.personality.strip()},
    )
    rewritten = engines.instruct(settings.STORYBOARD_MODEL, job, runtime=runtime(), progress=progress)
    assert isinstance(rewritten, Rewritten)
    return BoardRewrite(rewritten, {ref: str(shot.id) for ref, shot in refs.items()})


def _board_apply(task: Task, output: BoardRewrite) -> str:
    project = project_lock(project_id=film_id(task))
    _unedited_board(task, project)
    instruction = task.params["instruction"]
    before = [_text_of(shot) for shot in _board(project)]
    reason = Sentence("before_rewrite", "Before the rewrite “%(instruction)s”", instruction=instruction)
    snapshot = storyboard_snapshot(project=project, reason=reason)
    plans = [(uuid.UUID(output.shot_ids[p.ref]) if p.ref else None, p) for p in output.rewritten.shots]
    counts = storyboard_replace(project=project, plans=plans)
    after = [{"prompt": p.prompt, "narration": p.narration} for p in output.rewritten.shots]
    Turn.objects.create(
        project=project,
        task=task,
        instruction=instruction,
        before={"shots": before},
        after={"shots": after},
        changed=["storyboard"],
        backend=output.rewritten.backend,
        model=output.rewritten.model,
    )
    message = said(
        Sentence(
            "rewrote_storyboard",
            "Rewrote the storyboard: %(before)s shots became %(shots)s "
            "(%(kept)s kept, %(new)s new, %(removed)s removed).",
            before=len(before),
            **counts,
        ),
        *(Sentence("note", "Note: %(note)s.", note=note) for note in output.rewritten.notes),
        Sentence("restorable", "The earlier storyboard can be restored."),
    )
    result = {**counts, "snapshotId": str(snapshot.id), "notes": output.rewritten.notes}
    if not task_finish(task=task, result=result, message=message):
        raise SupersededError
    return "rewrite"
