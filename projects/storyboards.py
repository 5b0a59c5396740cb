"""The storyboard as a whole: written from the story by the language model (the storyboard
task), a snapshot of it before it is rewritten (or restored), bringing one back, and applying a
rewritten list of shots in place, so that every shot that is still there keeps its media and
only what changed is made again."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from core.engines import runtime
from core.errors import ApplicationError
from core.storage import release_on_commit
from inference import engines
from inference.sentences import Sentence, remade, said
from inference.styles import planned_framing
from inference.types import Resume, ShotPlan, Storyboard
from projects.models import Character, Project, SnapshotFile, StoryboardSnapshot
from projects.pipeline import (
    REFINE,
    compose_create,
    shots_generate_all,
    shots_regenerate,
    upfront_tasks,
    upfront_tasks_take,
)
from projects.selectors import film_id, film_of, project_lock
from shots import live
from shots.history import shot_file_names, version_record
from shots.kinds import made_by
from shots.models import Shot
from shots.services import new_seed, renumber, seed_follow_characters, speaking_voice
from shots.stages import IMAGE, SPEECH, STAGES, Stage, shaped_by
from tasks.models import Task
from tasks.registry import Progress, SupersededError
from tasks.services import task_finish, task_keep, task_kept, tasks_cancel

KEEP_EVERY_S = 5.0  # how often a local model's answer being written is kept with its task


def storyboard_run(task: Task, progress: Progress) -> Storyboard:
    """The storyboard from the language model. A local model's answer is kept with the task as
    it is written: an attempt after a timeout or a lost worker goes on from it (where the story,
    its settings and the model are still those) rather than from its first token."""
    project = film_of(task)
    asked = [project.story, project.shot_count, project.language, project.style, settings.STORYBOARD_MODEL]
    begun = str(task_kept(task, asked).get("answer", ""))
    return engines.storyboard(
        settings.STORYBOARD_MODEL,
        project.story,
        shot_count=project.shot_count,
        language=project.language,
        style=project.style,
        title=project.title,
        runtime=runtime(),
        api_key=settings.OPENAI_API_KEY,
        constrained=settings.STORYBOARD_CONSTRAINED,
        resume=Resume(
            answer=begun,
            keep=lambda answer: task_keep(task=task, inputs=asked, kept={"answer": answer}),
            every_s=KEEP_EVERY_S,
        ),
        progress=progress,
    )


def storyboard_apply(task: Task, board: Storyboard) -> str:
    """Replace the project's shots and characters with the storyboard's, then queue media."""
    project = Project.objects.select_for_update().get(pk=film_id(task))
    tasks_cancel(
        tasks=project.tasks.filter(status__in=Task.UNFINISHED).exclude(id=task.id).exclude(pk__in=upfront_tasks(task)),
        reason="Replaced by a new storyboard.",
    )
    release_on_commit(shot_file_names(project.shots.all()))
    project.shots.all().delete()
    project.characters.all().delete()
    characters = {
        plan.name: Character.objects.create(
            project=project, name=plan.name, description=plan.description, seed=new_seed()
        )
        for plan in board.characters
    }
    shots = [
        shot_from_plan(project=project, order=order, plan=plan, characters=characters)
        for order, plan in enumerate(board.shots)
    ]
    upfront_tasks_take(storyboard=task, shots=shots)
    result = {"backend": board.backend, "model": board.model, "shots": len(board.shots), "notes": board.notes}
    message = said(
        Sentence(
            "storyboard_made",
            "%(shots)s shots (%(by)s)",
            shots=len(board.shots),
            by=made_by(board.backend, board.model),
        ),
        *board.notes,
        sep="; ",
    )
    if board.title and not project.title:
        project.title = board.title[:200]
        project.save(update_fields=["title"])
    if not task_finish(task=task, result=result, message=message):
        raise SupersededError
    live.publish_storyboard_on_commit(project.id)
    shots_generate_all(project=project)
    return "storyboard"


# A shot's own fields a snapshot keeps (besides its characters, speaker and stage files).
SHOT_FIELDS = (
    "prompt",
    "negative_prompt",
    "narration",
    "camera",
    "transition",
    "shot_size",
    "camera_angle",
    "pinned_duration",
    "seed",
    "seed_pinned",
    "locked",
    "approved",
)


def _shot_data(shot: Shot) -> dict[str, Any]:
    data = {name: getattr(shot, name) for name in SHOT_FIELDS}
    data["characters"] = [character.name for character in shot.characters.all()]
    data["speaker"] = shot.speaker.name if shot.speaker else ""
    for stage in STAGES.values():
        result = shot.result(stage)
        data[stage.name] = {"file": result.file_name, "hash": result.hash, "source": result.source}
    data["speech"] |= {"duration": shot.speech_duration, "sentences": shot.speech_sentences}
    return data


def storyboard_snapshot(*, project: Project, reason: str) -> StoryboardSnapshot:
    """Keep the storyboard as it is now; the oldest beyond STORYBOARD_SNAPSHOTS_KEPT go, and
    their files with them where nothing else names them."""
    shots = project.shots.select_related("speaker").prefetch_related("characters").order_by("order")
    snapshot = StoryboardSnapshot.objects.create(
        project=project,
        reason=reason[:600],
        data={"shots": [_shot_data(shot) for shot in shots], "reasonParts": list(getattr(reason, "parts", []))},
    )
    names = {data[stage]["file"] for data in snapshot.data["shots"] for stage in STAGES if stage in data} - {""}
    SnapshotFile.objects.bulk_create([SnapshotFile(snapshot=snapshot, file=name) for name in sorted(names)])
    stale = list(project.snapshots.order_by("-created_at")[settings.STORYBOARD_SNAPSHOTS_KEPT :])
    if stale:
        released = list(SnapshotFile.objects.filter(snapshot__in=stale).values_list("file", flat=True))
        StoryboardSnapshot.objects.filter(pk__in=[s.pk for s in stale]).delete()
        release_on_commit(released)
    return snapshot


def _stop_work(project: Project, reason: str) -> None:
    tasks_cancel(tasks=project.tasks.filter(status__in=Task.UNFINISHED, kind__in=[*STAGES, REFINE]), reason=reason)


@transaction.atomic
def storyboard_restore(*, project: Project, snapshot_id: uuid.UUID) -> list[Shot]:
    """Bring back an earlier storyboard, its shots with their media as they were; the one it
    replaces is kept as a snapshot first (nothing is lost). Only stages that had no file are
    made; the film is recomposed if it had one."""
    project = project_lock(project_id=project.pk)
    snapshot = project.snapshots.filter(pk=snapshot_id).first()
    if snapshot is None:
        raise ApplicationError("Not an earlier storyboard of this project; re-read the list.", code="not_found")
    _stop_work(project, "The storyboard was restored.")
    earlier = remade(snapshot.reason, snapshot.data.get("reasonParts", []))
    storyboard_snapshot(project=project, reason=said(Sentence("before_restoring", "Before restoring:"), earlier))
    old = project.shots.all()
    release_on_commit(shot_file_names(old))
    old.delete()
    characters = {character.name: character for character in project.characters.all()}
    shots, missing = [], []
    for order, data in enumerate(snapshot.data["shots"]):
        shot = Shot(project=project, order=order, speaker=characters.get(data["speaker"]))
        for name in SHOT_FIELDS:
            if name in data:  # a snapshot older than the field keeps its default
                setattr(shot, name, data[name])
        for stage in STAGES.values():
            kept = data.get(stage.name, {"file": "", "hash": "", "source": ""})
            shot.result(stage).set(file=kept["file"], digest=kept["hash"], source=kept["source"])
        shot.speech_duration, shot.speech_sentences = data["speech"]["duration"], data["speech"]["sentences"]
        shot.save()
        shot.characters.set([characters[name] for name in data["characters"] if name in characters])
        for stage in STAGES.values():
            version_record(shot, stage)
        shots.append(shot)
        if not shot.result(IMAGE).file or (shot.narration.strip() and not shot.result(SPEECH).file):
            missing.append(shot)
    live.publish_storyboard_on_commit(project.pk)
    if missing:
        shots_regenerate(shots=missing, stages={IMAGE, SPEECH}, new=True)
    if project.render_video:
        compose_create(project=project)
    return shots


def shot_from_plan(*, project: Project, order: int, plan: ShotPlan, characters: dict[str, Any]) -> Shot:
    """A new shot as a storyboard's plan has it, with its characters and speaker by name (and,
    where the plan leaves them blank, the shot size and angle of its place in the sequence)."""
    planned = planned_framing(order)
    shot = Shot.objects.create(
        project=project,
        order=order,
        prompt=plan.prompt,
        narration=plan.narration,
        camera=plan.camera,
        transition=plan.transition,
        shot_size=plan.shot_size or planned[0],
        camera_angle=plan.camera_angle or planned[1],
        seed=new_seed(),
        speaker=characters.get(plan.speaker),
    )
    shot.characters.set([characters[name] for name in plan.characters if name in characters])
    if seed_follow_characters(shot):
        shot.save(update_fields=["seed"])
    return shot


def storyboard_replace(*, project: Project, plans: Sequence[tuple[uuid.UUID | None, ShotPlan]]) -> dict[str, int]:
    """Make the storyboard these shots, in this order: a plan with the id of one of its shots is
    that shot (its media kept; only the stages its changed text shapes are made again; a
    locked one is only moved), one without is a new shot, and a shot no plan names is
    deleted. Call under the project's lock, after a snapshot. Returns what happened, counted."""
    existing = {shot.id: shot for shot in project.shots.select_for_update(of=("self",)).select_related("speaker")}
    characters = {character.name: character for character in project.characters.all()}
    ordered: list[Shot] = []
    new: list[Shot] = []
    touched: dict[frozenset[Stage], list[Shot]] = {}
    recompose = False
    for order, (shot_id, plan) in enumerate(plans):
        shot = existing.pop(shot_id, None) if shot_id else None
        if shot is None:
            shot = shot_from_plan(project=project, order=order, plan=plan, characters=characters)
            new.append(shot)
        elif not shot.locked:
            stages, moved = _apply_plan(shot, plan, characters)
            recompose |= moved
            if stages:
                touched.setdefault(frozenset(stages), []).append(shot)
        ordered.append(shot)
    removed = list(existing.values())
    if removed:
        tasks_cancel(
            tasks=Task.objects.filter(shot__in=removed, status__in=Task.UNFINISHED), reason="Removed by a rewrite."
        )
        gone = Shot.objects.filter(pk__in=[shot.pk for shot in removed])
        release_on_commit(shot_file_names(gone))
        gone.delete()
    reordered = _reordered(ordered)
    renumber(ordered)
    live.publish_storyboard_on_commit(project.pk)
    if new:
        shots_regenerate(shots=new, stages=set(STAGES.values()), new=True)
    for shaped, shots in touched.items():
        shots_regenerate(shots=shots, stages=set(shaped))
    if project.render_video and (recompose or removed or new or touched or reordered):
        compose_create(project=project)
    kept = len(ordered) - len(new)
    return {"shots": len(ordered), "kept": kept, "new": len(new), "removed": len(removed)}


def _reordered(shots: list[Shot]) -> bool:
    return any(shot.order != index for index, shot in enumerate(shots))


def _apply_plan(shot: Shot, plan: ShotPlan, characters: dict[str, Any]) -> tuple[set[Stage], bool]:
    """Set a kept shot's text to the plan's; the stages to make again (not the person's own
    files), and whether only the composition changed."""
    stages: set[Stage] = set()
    for name in ("prompt", "narration", "shot_size", "camera_angle"):
        value = getattr(plan, name)
        kept = not value and name in ("shot_size", "camera_angle")  # a plan that leaves the framing out
        if value != getattr(shot, name) and not kept:
            setattr(shot, name, value)
            stages |= shaped_by(name)
    moved = (shot.camera, shot.transition) != (plan.camera, plan.transition)
    shot.camera, shot.transition = plan.camera, plan.transition
    speaker = characters.get(plan.speaker)
    if speaker != shot.speaker:
        if speaking_voice(shot.project, speaker) != speaking_voice(shot.project, shot.speaker):
            stages.add(SPEECH)
        shot.speaker = speaker
        moved |= shot.project.subtitle_speakers  # the subtitles name the speaker
    cast = [characters[name] for name in plan.characters if name in characters]
    if {c.pk for c in cast} != set(shot.characters.values_list("pk", flat=True)):
        shot.characters.set(cast)
        stages |= shaped_by("character_ids")
        seed_follow_characters(shot)
    shot.save()
    own = {stage for stage in stages if shot.result(stage).own}
    return stages - own, moved or bool(own)
