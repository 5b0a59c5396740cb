"""Each stage's earlier results, kept so a person can look back and restore one.

A result is recorded when it lands on the shot (``version_record``); restoring one is a new
result like any other (nothing is destroyed) and reruns only what it makes stale. Beyond
``SHOT_VERSIONS_KEPT`` per stage the oldest go, and their files with them, unless another row
(the shot itself, another version, another project's shot) still names the file, and never
while a render of the project is under way (it may be reading one): the render prunes after.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from core.errors import ApplicationError
from core.storage import release_on_commit
from shots import live
from shots.film import film
from shots.models import Candidate, Shot, ShotVersion
from shots.stages import IMAGE, MOTION, STAGES, Stage, stage_named
from tasks.models import Task
from tasks.services import tasks_cancel


def version_record(shot: Shot, stage: Stage, *, restored_from: int | None = None) -> ShotVersion | None:
    """Add the stage's current result (already saved on the locked shot) to its history."""
    result = shot.result(stage)
    if not result.file:
        return None  # no file: the camera move animates the shot, nothing to keep
    latest = shot.versions.filter(stage=stage.name).aggregate(number=Max("number"))["number"] or 0
    version = ShotVersion.objects.create(
        shot=shot,
        stage=stage.name,
        number=latest + 1,
        file=result.file.name,
        hash=result.hash,
        source=result.source,
        fields=_kept(shot, stage),
        made_from=_made_from(shot, stage),
        restored_from=restored_from,
    )
    if version.number > settings.SHOT_VERSIONS_KEPT:  # else there is nothing to prune
        versions_prune(shots=Shot.objects.filter(pk=shot.pk))
    return version


def _kept(shot: Shot, stage: Stage) -> dict[str, Any]:
    return {name: getattr(shot, name) for name in stage.kept_fields}


def _made_from(shot: Shot, stage: Stage) -> str:
    """The hash of the result it was made from (a clip: its picture's)."""
    return shot.result(STAGES[stage.made_from[0]]).hash if stage.made_from else ""


def version_retext(shot: Shot, stage: Stage) -> None:
    """The person's own file kept through an edit of its text (the words of their recording, for
    the subtitles): the text belongs to that file, so its version takes the new text."""
    newest = shot.versions.filter(stage=stage.name).order_by("-number").first()
    if newest is not None and newest.hash == shot.result(stage).hash:
        newest.fields = _kept(shot, stage)
        newest.save(update_fields=["fields"])


def versions_prune(*, shots: QuerySet[Shot]) -> None:
    """Drop each stage's versions beyond the newest ``SHOT_VERSIONS_KEPT`` and release their files
    where nothing else names them; not while one of the shots' projects is rendering."""
    if film().rendering(project_ids=shots.values("project_id")):
        return
    keep = settings.SHOT_VERSIONS_KEPT
    stale = [
        version
        for shot_id, stage in ShotVersion.objects.filter(shot__in=shots, number__gt=keep)
        .order_by()
        .values_list("shot_id", "stage")
        .distinct()
        for version in ShotVersion.objects.filter(shot_id=shot_id, stage=stage).order_by("-number")[keep:]
    ]
    if stale:
        ShotVersion.objects.filter(pk__in=[v.pk for v in stale]).delete()
        release_on_commit(v.file.name for v in stale)


def version_list(*, shot: Shot, stage: Stage | None = None) -> QuerySet[ShotVersion]:
    versions = shot.versions.all()
    return versions.filter(stage=stage.name) if stage else versions


def shot_file_names(shots: QuerySet[Shot]) -> list[str]:
    """Every stored file the shots name, their current ones, their history's and the pictures
    painted for them to choose from: what to release when they are deleted."""
    columns = [stage.file_field for stage in STAGES.values()]
    names = [name for row in shots.values_list(*columns) for name in row if name]
    names += ShotVersion.objects.filter(shot__in=shots).values_list("file", flat=True)
    return names + list(Candidate.objects.filter(shot__in=shots).values_list("file", flat=True))


def _restored(stage: Stage, version: ShotVersion) -> dict[str, Any]:
    """The update that makes a version the stage's result again, with the fields that made it
    (what is in flight for the stage is superseded)."""
    return stage.stored(file=version.file.name, digest=version.hash, source=version.source) | version.fields


def _is_current(shot: Shot, version: ShotVersion) -> bool:
    return shot.result(stage_named(version.stage)).hash == version.hash and all(
        getattr(shot, name) == value for name, value in version.fields.items()
    )


@transaction.atomic
def version_restore(*, shot: Shot, version_id: uuid.UUID) -> Shot:
    """Bring back an earlier result of one stage, with the text that made it, as a new version.
    A picture brings back the newest clip animated from it (or, where the project animates, a
    new one is made); only this shot is redone in the film. Restoring the current one changes
    nothing."""
    project = film().project_lock(project_id=shot.project_id)
    shot = Shot.objects.select_for_update().get(pk=shot.pk)
    version = shot.versions.filter(pk=version_id).first()
    if version is None:
        raise ApplicationError("Not a version of this shot; re-read its history.", code="not_found")
    if _is_current(shot, version):
        return shot
    stage = stage_named(version.stage)
    if stage.made_from and version.made_from != _made_from(shot, stage):
        raise ApplicationError(
            "This clip was animated from another picture. Restore that picture: its clip comes back with it.",
            code="conflict",
        )
    fields = _restored(stage, version)
    released = [shot.result(stage).file_name]
    stages = {stage}
    clip = None
    if stage is IMAGE:  # the clip animated from the old picture is stale
        stages.add(MOTION)
        released.append(shot.result(MOTION).file_name)
        clip = shot.versions.filter(stage=MOTION.name, made_from=version.hash).order_by("-number").first()
        fields |= _restored(MOTION, clip) if clip is not None else MOTION.cleared()
    for each in stages:
        tasks_cancel(
            tasks=shot.tasks.filter(kind=each.name, status__in=Task.UNFINISHED),
            reason=f"Shot {shot.order + 1}'s version {version.number} was restored.",
        )
    Shot.objects.filter(pk=shot.pk).update(**fields, updated_at=timezone.now())
    shot.refresh_from_db()
    version_record(shot, stage, restored_from=version.number)
    if clip is not None:
        version_record(shot, MOTION, restored_from=clip.number)
    release_on_commit(released)  # kept by their own versions; released only if pruned meanwhile
    live.publish_shot_on_commit(shot)
    if stage is IMAGE and clip is None and project.animate:
        film().shots_regenerate(shots=[shot], stages={MOTION})  # and recomposes
    else:
        film().project_recompose_if_rendered(project=project)
    return shot
