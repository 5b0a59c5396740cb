"""A character's likeness from shot to shot: its reference picture (one of its shots' pictures
or the person's own) and how alike its pictures are (``inference.likeness``: a CLIP image
encoder, or the difference hash where it cannot run), with the shots that drift the most named.
Measured by a task on the inference queue; kept on the character until the next check."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.engines import image_prompt, runtime
from core.errors import ApplicationError
from core.storage import atomic_with_files, local_path, release_on_commit, store
from inference import engines
from inference.likeness import Likeness
from inference.sentences import Sentence
from projects.models import Character
from projects.pipeline import project_lock, shots_regenerate
from projects.services import _own_picture, _saved_upload  # the own-media checks, shared
from shots.live import publish_storyboard_on_commit
from shots.models import Shot
from shots.stages import IMAGE
from tasks.models import Task
from tasks.registry import Progress, SupersededError
from tasks.services import task_create, task_finish

LIKENESS = "likeness"
# A shot drifts when its picture is this much less alike than the character's pictures on average.
DRIFT = 0.05


def _pictured(character: Character) -> list[Shot]:
    """The character's shots that have a picture, in the film's order."""
    return [shot for shot in character.shots.order_by("order") if shot.image_file]


@transaction.atomic
def character_likeness_check(*, character: Character) -> Task:
    """A task measuring how alike the character's pictures are (against its reference picture,
    or each against the rest); refused at once where there is too little to compare."""
    needed = 1 if character.reference_image else 2
    if len(_pictured(character)) < needed:
        raise ApplicationError(
            f"{character.name} is in {len(_pictured(character))} shot(s) with a picture: a likeness needs two, "
            "or one and a reference picture. Put the character in more shots, or give it a reference picture.",
            code="conflict",
        )
    return task_create(kind=LIKENESS, project=character.project, params={"character": str(character.pk)})


def character_reference_set(*, character: Character, shot_id: Any = None, upload: Any = None) -> Character:
    """Its reference picture: one of its shots' pictures (``shot_id``; the stored file is shared)
    or the person's own (``upload``: a PNG, JPEG or WebP, checked by decoding and fitted to the
    frame). The likeness measured against the old one no longer holds: it is cleared. Where the
    project's tier conditions pictures on it (``_guided_again``), its shots are painted again."""
    if (shot_id is None) == (upload is None):
        raise ApplicationError("Send either a shotId or a file (the picture), not both.", field="shotId")
    with tempfile.TemporaryDirectory() as tmp, atomic_with_files():
        project_lock(project_id=character.project_id)
        character = Character.objects.select_for_update().get(pk=character.pk)
        if upload is not None:
            path = _saved_upload(upload, Path(tmp), limit=settings.OWN_MEDIA_MAX_BYTES, what="The picture")
            name, _ = store(_own_picture(path, character.project), folder="characters/reference")
        else:
            shot = character.shots.filter(pk=shot_id).first()
            if shot is None or not shot.image_file:
                raise ApplicationError(
                    f"Choose one of {character.name}'s shots that has a picture.", field="shotId", code="invalid"
                )
            name = shot.image_file.name
        old = character.reference_image.name
        character.reference_image.name, character.likeness = name, {}
        character.save(update_fields=["reference_image", "likeness", "updated_at"])
        release_on_commit([old] if old and old != name else [])
        _guided_again(character)
    return character


def _guided_again(character: Character) -> None:
    """Where the project's picture tier has an IP-Adapter (``core.engines.image_prompt``), the
    character's reference conditions its shots' pictures: a new (or no) reference paints them
    again, all but the shot whose picture is the reference itself."""
    if image_prompt(character.project.tier) is None:
        return
    reference = character.reference_image.name
    shots = [shot for shot in character.shots.all() if not reference or shot.image_file.name != reference]
    shots_regenerate(shots=shots, stages={IMAGE})


@transaction.atomic
def character_reference_clear(*, character: Character) -> Character:
    project_lock(project_id=character.project_id)
    character = Character.objects.select_for_update().get(pk=character.pk)
    old = character.reference_image.name
    character.reference_image.name, character.likeness = "", {}
    character.save(update_fields=["reference_image", "likeness", "updated_at"])
    release_on_commit([old])
    if old:
        _guided_again(character)
    return character


def likeness_run(task: Task, progress: Progress) -> tuple[Likeness, list[tuple[str, str]], str]:
    """The likeness of the character's pictures as they are now; the shots it measured (and which
    picture of each); and why the draft measure stood in, if it did."""
    character = Character.objects.filter(pk=task.params["character"]).first()
    if character is None:  # deleted meanwhile: nothing to measure, nothing to keep
        raise SupersededError
    shots = _pictured(character)
    reference = local_path(character.reference_image) if character.reference_image else None
    measured, note = engines.likeness(
        settings.LIKENESS_MODEL, [local_path(shot.image_file) for shot in shots], reference, runtime=runtime(),
        progress=progress,
    )  # fmt: skip
    return measured, [(str(shot.pk), shot.image_hash) for shot in shots], note


def likeness_apply(task: Task, output: tuple[Likeness, list[tuple[str, str]], str]) -> str:
    """Keep the check on the character (the shots numbered as the film is now; those deleted
    meanwhile left out), name the shots that drift most, and tell the editor."""
    measured, pictures, note = output
    shot_ids = [shot_id for shot_id, _ in pictures]
    hashes = dict(pictures)
    character = Character.objects.select_for_update().filter(pk=task.params["character"]).first()
    if character is None:
        raise SupersededError
    numbers = {str(pk): order + 1 for pk, order in Shot.objects.filter(pk__in=shot_ids).values_list("id", "order")}
    measured_shots = [
        (shot_id, numbers[shot_id], round(similarity, 3))
        for shot_id, similarity in zip(shot_ids, measured.similarities, strict=True)
        if shot_id in numbers
    ]
    drifting = sorted((s for s in measured_shots if s[2] < measured.score - DRIFT), key=lambda s: s[2])[:3]
    character.likeness = {
        "score": round(measured.score, 3),
        "against": measured.against,
        "backend": measured.backend,
        "model": measured.model,
        "note": note,
        "shots": [
            {"shotId": pk, "number": number, "similarity": alike, "imageHash": hashes[pk]}
            for pk, number, alike in measured_shots
        ],
        "drifting": [number for _, number, _ in drifting],
        "checkedAt": timezone.now().isoformat(),
    }
    score = f"{measured.score:.2f}"
    message = (
        Sentence(
            "likeness_drifting",
            "%(name)s: likeness %(score)s; drifting most: shots %(shots)s (regenerate their pictures).",
            name=character.name,
            score=score,
            shots=", ".join(str(number) for _, number, _ in drifting),
        )
        if drifting
        else Sentence(
            "likeness_steady", "%(name)s: likeness %(score)s, alike in every shot.", name=character.name, score=score
        )
    )
    if not task_finish(task=task, result=character.likeness | {"character": str(character.pk)}, message=message):
        raise SupersededError
    character.save(update_fields=["likeness", "updated_at"])
    publish_storyboard_on_commit(character.project_id)  # the editor reads its characters again
    return LIKENESS
