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
from django.db.models import F, Max, QuerySet
from django.utils import timezone

from shots import live
from shots.film import film
from shots.models import VERSION_FIELDS, Shot, ShotVersion
from storyvideo.errors import ApplicationError
from storyvideo.storage import release_on_commit
from tasks.models import Task
from tasks.services import tasks_cancel


def version_record(shot: Shot, stage: str, *, restored_from: int | None = None) -> ShotVersion | None:
    """Add the stage's current result (already saved on the locked shot) to its history."""
    file = getattr(shot, f"{stage}_file")
    if not file:
        return None  # no file: the camera move animates the shot, nothing to keep
    latest = shot.versions.filter(stage=stage).aggregate(number=Max("number"))["number"] or 0
    version = ShotVersion.objects.create(
        shot=shot,
        stage=stage,
        number=latest + 1,
        file=file.name,
        hash=getattr(shot, f"{stage}_hash"),
        source=getattr(shot, f"{stage}_source"),
        fields={name: getattr(shot, name) for name in VERSION_FIELDS[stage]},
        made_from=shot.image_hash if stage == "motion" else "",
        restored_from=restored_from,
    )
    if version.number > settings.SHOT_VERSIONS_KEPT:  # else there is nothing to prune
        versions_prune(shots=Shot.objects.filter(pk=shot.pk))
    return version


def version_retext(shot: Shot, stage: str) -> None:
    """The person's own file kept through an edit of its text (the words of their recording, for
    the subtitles): the text belongs to that file, so its version takes the new text."""
    newest = shot.versions.filter(stage=stage).order_by("-number").first()
    if newest is not None and newest.hash == getattr(shot, f"{stage}_hash"):
        newest.fields = {name: getattr(shot, name) for name in VERSION_FIELDS[stage]}
        newest.save(update_fields=["fields"])


def versions_prune(*, shots: QuerySet[Shot]) -> None:
    """Drop each stage's versions beyond the newest ``SHOT_VERSIONS_KEPT`` and release their files
    where nothing else names them; not while one of the shots' projects is rendering."""
    rendering = Task.objects.filter(
        project_id__in=shots.values("project_id"), kind=Task.Kind.COMPOSE, status__in=Task.UNFINISHED
    )
    if rendering.exists():
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


def version_list(*, shot: Shot, stage: str | None = None) -> QuerySet[ShotVersion]:
    versions = shot.versions.all()
    return versions.filter(stage=stage) if stage else versions


def shot_file_names(shots: QuerySet[Shot]) -> list[str]:
    """Every stored file the shots name, their current ones and their history's: what to release
    when they are deleted."""
    names = [name for row in shots.values_list("image_file", "motion_file", "speech_file") for name in row if name]
    return names + list(ShotVersion.objects.filter(shot__in=shots).values_list("file", flat=True))


def _stage_fields(stage: str, version: ShotVersion) -> dict[str, Any]:
    return {
        f"{stage}_file": version.file.name,
        f"{stage}_hash": version.hash,
        f"{stage}_source": version.source,
        f"{stage}_version": F(f"{stage}_version") + 1,  # what is in flight for the stage is superseded
        **version.fields,
    }


def stage_cleared(stage: str) -> dict[str, Any]:
    """The update that takes a stage's file off the shot and supersedes its work in flight."""
    cleared = {f"{stage}_{field}": "" for field in ("file", "hash", "source")}
    return cleared | {f"{stage}_version": F(f"{stage}_version") + 1}


def _is_current(shot: Shot, version: ShotVersion) -> bool:
    stage = version.stage
    return getattr(shot, f"{stage}_hash") == version.hash and all(
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
    stage = version.stage
    if stage == "motion" and version.made_from != shot.image_hash:
        raise ApplicationError(
            "This clip was animated from another picture. Restore that picture: its clip comes back with it.",
            code="conflict",
        )
    fields = _stage_fields(stage, version)
    released = [getattr(shot, f"{stage}_file").name]
    stages = {stage}
    clip = None
    if stage == "image":  # the clip animated from the old picture is stale
        stages.add("motion")
        released.append(shot.motion_file.name)
        clip = shot.versions.filter(stage="motion", made_from=version.hash).order_by("-number").first()
        if clip is not None:
            fields |= _stage_fields("motion", clip)
        else:
            fields |= stage_cleared("motion")
    for kind in stages:
        tasks_cancel(
            tasks=shot.tasks.filter(kind=kind, status__in=Task.UNFINISHED),
            reason=f"Shot {shot.order + 1}'s version {version.number} was restored.",
        )
    Shot.objects.filter(pk=shot.pk).update(**fields, updated_at=timezone.now())
    shot.refresh_from_db()
    version_record(shot, stage, restored_from=version.number)
    if clip is not None:
        version_record(shot, "motion", restored_from=clip.number)
    release_on_commit(released)  # kept by their own versions; released only if pruned meanwhile
    live.publish_shot_on_commit(shot)
    if stage == "image" and clip is None and project.animate:
        film().shots_regenerate(shots=[shot], stages={"motion"})  # and recomposes
    else:
        film().project_recompose_if_rendered(project=project)
    return shot
