from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit
from core.errors import ApplicationError
from core.storage import release_on_commit
from shots import live
from shots.film import film
from shots.history import shot_file_names, version_record, version_retext
from shots.models import Shot
from shots.stages import IMAGE, MOTION, SPEECH, STAGES, Stage, shaped_by
from tasks.models import Task
from tasks.services import tasks_cancel


def new_seed() -> int:
    return secrets.randbelow(2**32)


def seed_follow_characters(shot: Shot) -> bool:
    """A shot that shows characters is painted with its first character's seed (so that
    character looks alike from shot to shot), unless its seed is pinned. True when it changed."""
    first = shot.characters.order_by("created_at", "name").first()
    if first is None or shot.seed_pinned or shot.seed == first.seed:
        return False
    shot.seed = first.seed
    return True


def _speaker(shot: Shot, character_id: uuid.UUID | None) -> Any:
    """The project's character of that id (None: the narrator), or a clear error."""
    if character_id is None:
        return None
    speaker = shot.project.characters.filter(id=character_id).first()
    if speaker is None:
        raise ApplicationError(f"Not a character of this project: {character_id}.", field="speakerId")
    return speaker


def speaking_voice(project: Any, speaker: Any) -> str:
    """The voice a shot's lines are spoken in: its speaker's own, else the narrator's (the
    project's; blank: its language's)."""
    return str((speaker.voice if speaker is not None else "") or project.voice)


def _set_characters(shot: Shot, character_ids: Sequence[uuid.UUID]) -> None:
    characters = list(shot.project.characters.filter(id__in=character_ids))
    missing = {str(i) for i in character_ids} - {str(c.id) for c in characters}
    if missing:
        raise ApplicationError(f"Not characters of this project: {', '.join(sorted(missing))}.", field="characterIds")
    shot.characters.set(characters)


@transaction.atomic
def shot_create(
    *,
    project_id: uuid.UUID,
    prompt: str,
    after_shot_id: uuid.UUID | None = None,
    generate: bool = True,
    **fields: Any,
) -> Shot:
    """Insert a shot after ``after_shot_id`` (or at the end) and queue its media."""
    project = film().project_lock(project_id=project_id)
    shots = list(project.shots.order_by("order", "created_at"))
    position = len(shots)
    if after_shot_id is not None:
        index = next((i for i, s in enumerate(shots) if s.id == after_shot_id), None)
        if index is None:
            raise ApplicationError("Not a shot of this project.", field="afterShotId")
        position = index + 1
    character_ids = fields.pop("character_ids", None)
    speaker_id = fields.pop("speaker_id", None)
    shot = Shot(project_id=project.pk, order=position, prompt=prompt, **fields)
    shot.speaker = _speaker(shot, speaker_id)
    if shot.seed is None:
        shot.seed = new_seed()
    elif "seed_pinned" not in fields:
        shot.seed_pinned = True  # a seed the person gave is the one they want
    shot.save()
    shots.insert(position, shot)
    renumber(shots)
    if character_ids:
        _set_characters(shot, character_ids)
        if seed_follow_characters(shot):
            shot.save(update_fields=["seed"])
    live.publish_storyboard_on_commit(project.id)
    if generate:
        film().shots_regenerate(shots=[shot], stages=set(STAGES.values()), new=True)
    return shot


@transaction.atomic
def shot_update(*, shot: Shot, changes: dict[str, Any]) -> Shot:
    """Apply an edit and re-run only what it touches: prompt, seed, characters, shot size or
    camera angle regenerate the image (and motion); narration, or a speaker with another voice,
    the speech; camera, transition, duration or a speaker with the same voice only the
    composition (the fields no stage is shaped by); locked, approved and a pinned seed nothing.
    The in-flight work of a touched stage is superseded. A seed the person sets is pinned
    (unless they say otherwise): a new picture keeps it."""
    film().project_lock(project_id=shot.project_id)
    current = Shot.objects.select_for_update().filter(pk=shot.pk).first()
    if current is None:  # deleted since it was read (a delete racing this edit)
        raise ApplicationError("The shot was deleted meanwhile: read the storyboard again.", code="not_found")
    shot = current
    touched: set[Stage] = set()
    composition = False
    if "seed" in changes and changes["seed"] != shot.seed:
        changes.setdefault("seed_pinned", True)
    character_ids = changes.pop("character_ids", None)
    if character_ids is not None:
        before = set(shot.characters.values_list("id", flat=True))
        if before != set(character_ids):
            _set_characters(shot, character_ids)
            touched |= shaped_by("character_ids")
            if "seed" not in changes and seed_follow_characters(shot):
                touched |= shaped_by("seed")
    if "speaker_id" in changes and changes["speaker_id"] != shot.speaker_id:
        speaker = _speaker(shot, changes.pop("speaker_id"))
        if speaking_voice(shot.project, speaker) != speaking_voice(shot.project, shot.speaker):
            touched.add(SPEECH)
        composition |= shot.project.subtitle_speakers  # the subtitles name the speaker
        shot.speaker = speaker
    changes.pop("speaker_id", None)
    changed = {key for key, value in changes.items() if getattr(shot, key) != value}
    for key, value in changes.items():
        if key in changed:
            setattr(shot, key, value)
            if shaped_by(key):
                touched |= shaped_by(key)
            elif key not in ("locked", "seed_pinned", "approved"):  # they shape nothing, only what comes later
                composition = True
    if MOTION in touched and not _clip_changes(shot, changed):
        touched.discard(MOTION)
        composition = True
    own = {stage for stage in touched if shot.result(stage).own}
    if own:  # the person's own picture or voice stays; the new text reaches the film's subtitles
        touched -= own
        composition = True
    shot.save()
    for stage in own:
        version_retext(shot, stage)
    live.publish_shot_on_commit(shot)
    if touched:
        film().shots_regenerate(shots=[shot], stages=touched)
    elif composition:
        film().project_recompose_if_rendered(project=shot.project)
    return shot


def _clip_changes(shot: Shot, changed: set[str]) -> bool:
    """Whether an edit of these fields changes the shot's animated clip: only where the project
    animates, and a new camera move only where it is in the clip's prompt (the person wrote none)."""
    return shot.project.animate and ("motion_prompt" in changed or not shot.motion_prompt.strip())


@transaction.atomic
def shot_delete(*, shot: Shot) -> None:
    project = film().project_lock(project_id=shot.project_id)
    tasks_cancel(tasks=shot.tasks.filter(status__in=Task.UNFINISHED), reason="The shot was deleted.")
    names = shot_file_names(Shot.objects.filter(pk=shot.pk))
    audit("shot_deleted", target=f"project {shot.project_id}", shot=str(shot.pk), number=shot.order + 1)
    shot.delete()
    renumber(list(project.shots.order_by("order", "created_at")))
    release_on_commit(names)
    live.publish_storyboard_on_commit(project.id)
    film().project_recompose_if_rendered(project=project)


@transaction.atomic
def shots_reorder(*, project_id: uuid.UUID, shot_ids: Sequence[uuid.UUID]) -> list[Shot]:
    """Put the shots in the given order. The list must name every shot of the project once:
    a duplicate is a bad request, a mismatch means the storyboard changed meanwhile (409)."""
    if len(set(shot_ids)) != len(shot_ids):
        raise ApplicationError("A shot is named more than once.", field="shotIds")
    project = film().project_lock(project_id=project_id)
    shots = {shot.id: shot for shot in project.shots.all()}
    if set(shots) != set(shot_ids):
        raise ApplicationError(
            "The list does not name exactly this project's shots; the storyboard changed. "
            "Re-read the storyboard and send the full order again.",
            code="conflict",
        )
    ordered = [shots[shot_id] for shot_id in shot_ids]
    if renumber(ordered):
        live.publish_storyboard_on_commit(project.id)
        film().project_recompose_if_rendered(project=project)
    return ordered


@transaction.atomic
def shot_generate(*, shot: Shot, stage: Stage, force: bool = False) -> Task:
    """Regenerate one stage of one shot on request (motion too where the project does not
    animate by default), and what is made from it. The person's own file is replaced only when
    they say so (``force``). A new picture is a new one: it draws a new seed unless the shot's
    seed is pinned."""
    if shot.result(stage).own and not force:
        raise ApplicationError(
            f"Shot {shot.order + 1}'s {stage.own_word} is your own upload; regenerating replaces it."
            ' Send {"force": true} to go ahead.',
            code="conflict",
        )
    if stage is SPEECH and not shot.narration.strip():
        raise ApplicationError("This shot has no narration to speak; write some first.", field="stage")
    if stage is IMAGE:
        film().project_lock(project_id=shot.project_id)  # the project, then the shot
        shot = Shot.objects.select_for_update().get(pk=shot.pk)
        if not shot.seed_pinned:
            shot.seed = new_seed()
            shot.save(update_fields=["seed", "updated_at"])
            live.publish_shot_on_commit(shot)
    tasks = film().shots_regenerate(shots=[shot], stages={stage}, explicit=True)
    return next(task for task in tasks if task.kind == stage.name)


@transaction.atomic
def shots_generate_batch(*, shots: Sequence[Shot], stage: Stage, force: bool = False) -> list[Task]:
    """One stage of many shots (of one or several projects), each as ``shot_generate`` makes it:
    all or none. A shot that cannot be (its own upload without ``force``, no narration to speak)
    is named by its place in the list (``shotIds[2]``) and nothing is made. Locks are taken in
    one order (project, then shot) whatever the list's."""
    placed = sorted(enumerate(shots), key=lambda item: (str(item[1].project_id), item[1].order))
    made: dict[int, Task] = {}
    for index, shot in placed:
        try:
            made[index] = shot_generate(shot=shot, stage=stage, force=force)
        except ApplicationError as error:
            raise ApplicationError(error.message, code=error.code, field=f"shotIds[{index}]") from None
    return [made[index] for index in range(len(shots))]


def shot_result_put(
    *, shot: Shot, stage: Stage, name: str, digest: str, source: str, extra: dict[str, Any], why: str
) -> Shot:
    """Make a stored file the stage's result on the shot, as a new version of it (the person's
    own file, a chosen candidate). Work in flight for that stage is superseded; a new picture
    takes the clip animated from the old one with it (a new clip is made where the project
    animates), and the film is recomposed. Inside the caller's transaction."""
    project = film().project_lock(project_id=shot.project_id)
    shot = Shot.objects.select_for_update().get(pk=shot.pk)
    released = [shot.result(stage).file_name]
    tasks_cancel(tasks=shot.tasks.filter(kind=stage.name, status__in=Task.UNFINISHED), reason=why)
    fields = stage.stored(file=name, digest=digest, source=source) | extra
    if stage is IMAGE:  # the clip animated from the old picture is stale
        released.append(shot.result(MOTION).file_name)
        tasks_cancel(tasks=shot.tasks.filter(kind=MOTION.name, status__in=Task.UNFINISHED), reason="New picture.")
        fields |= MOTION.cleared()
    Shot.objects.filter(pk=shot.pk).update(**fields, updated_at=timezone.now())
    shot.refresh_from_db()
    version_record(shot, stage)
    release_on_commit([old for old in released if old and old != name])
    live.publish_shot_on_commit(shot)
    if stage is IMAGE and project.animate:
        film().shots_regenerate(shots=[shot], stages={MOTION})  # and recomposes
    else:
        film().project_recompose_if_rendered(project=project)
    return shot


def renumber(shots: list[Shot]) -> bool:
    """Give the shots orders 0..n-1 in list order; True when any changed."""
    changed = []
    now = timezone.now()
    for index, shot in enumerate(shots):
        if shot.order != index:
            shot.order, shot.updated_at = index, now  # bulk_update does not touch auto_now fields
            changed.append(shot)
    if changed:
        Shot.objects.bulk_update(changed, ["order", "updated_at"])
    return bool(changed)
