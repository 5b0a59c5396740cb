"""The image studio: pictures painted from a prompt outside any film, with the same parameters as
a shot's candidates (count, seed, steps, guidance, what to keep out), the picture tier's model,
a style and a frame. They go into the person's gallery, where they stay until the person deletes
them, and any of their shots can take one as its picture (a new version; only that shot is redone
in its film). The task belongs to its owner alone: it has no project."""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import ApplicationError
from core.storage import release_on_commit
from shots.candidates import painting
from shots.models import Picture, Shot
from shots.services import shot_result_put
from shots.stages import IMAGE
from tasks.models import Task
from tasks.selectors import typical_seconds
from tasks.services import task_create

STUDIO = "studio"
GALLERY = "gallery"  # the storage folder of its pictures
SAMPLE = 20  # finished requests the estimate is made from


@dataclass(frozen=True)
class Look:
    """What a picture is painted as, where no film says it: the tier, the style and the frame."""

    tier: str
    style: str
    aspect_ratio: str
    resolution: str


@transaction.atomic
def studio_request(
    *,
    owner_id: int,
    prompt: str,
    count: int = 4,
    seed: int | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    negative_prompt: str = "",
    tier: str | None = None,
    style: str = "",
    aspect_ratio: str = "16:9",
    resolution: str = "720p",
) -> Task:
    """Queue ``count`` pictures of ``prompt`` for the owner's gallery, seeds ``seed``, ``seed + 1``,
    … (a new one where none is given); steps and guidance are checked against what the tier's
    model takes, naming the field, before anything is queued."""
    tier = tier or settings.IMAGE_TIER
    first, steps, guidance = painting(tier=tier, count=count, seed=seed, steps=steps, guidance=guidance)
    params = {
        "prompt": prompt,
        "count": count,
        "seed": first,
        "steps": steps,
        "guidance": guidance,
        "negativePrompt": negative_prompt,
        "look": {"tier": tier, "style": style, "aspect_ratio": aspect_ratio, "resolution": resolution},
    }
    return task_create(kind=STUDIO, project=None, owner_id=owner_id, params=params)


def estimated_seconds(task: Task) -> float | None:
    """How long the request should take to run, from this installation's typical times: the
    median seconds a picture of the studio took in its tier (over its last requests there), else
    a shot's keyframe (one picture); None before anything was painted here."""
    count = int(task.params.get("count", 1))
    tier = task.params["look"]["tier"]
    runs = Task.objects.filter(
        kind=STUDIO, status=Task.Status.FINISHED, started_at__isnull=False, params__look__tier=tier
    )
    rows = runs.order_by("-finished_at").values_list("started_at", "finished_at", "params")[:SAMPLE]
    per_picture = [
        (end - start).total_seconds() / max(1, int(params.get("count", 1)))
        for start, end, params in rows
        if end and start
    ]
    if per_picture:
        return round(statistics.median(per_picture) * count, 1)
    keyframe = typical_seconds().get(IMAGE.name)
    return round(keyframe * count, 1) if keyframe is not None else None


def picture_list(*, owner_id: int) -> QuerySet[Picture]:
    """The owner's gallery, newest request first."""
    return Picture.objects.filter(owner_id=owner_id)


def _owned(owner_id: int, picture_id: uuid.UUID, *, lock: bool = False) -> Picture:
    pictures = Picture.objects.select_for_update() if lock else Picture.objects
    picture = pictures.filter(owner_id=owner_id, pk=picture_id).first()
    if picture is None:
        raise ApplicationError("No such picture in your gallery (it may have been deleted).", code="not_found")
    return picture


@transaction.atomic
def picture_delete(*, owner_id: int, picture_id: uuid.UUID) -> None:
    """Take the picture out of the gallery; its file goes unless a shot uses it."""
    picture = _owned(owner_id, picture_id, lock=True)
    name = picture.file.name
    picture.delete()
    release_on_commit([name])


@transaction.atomic
def picture_use(*, shot: Shot, owner_id: int, picture_id: uuid.UUID) -> Shot:
    """Make a gallery picture the shot's picture, with the seed (and what to keep out) it was
    painted with, as a new version; only that shot is redone in the film."""
    picture = _owned(owner_id, picture_id)
    return shot_result_put(
        shot=shot,
        stage=IMAGE,
        name=picture.file.name,
        digest=picture.hash,
        source=picture.source,
        extra={"seed": picture.seed, "negative_prompt": picture.negative_prompt},
        why=f"Shot {shot.order + 1}'s picture was taken from the gallery.",
    )


def pictures_made(*, task: Task, made: list[dict[str, Any]]) -> list[Picture]:
    """The pictures a request painted, as the owner's gallery rows (inside the transaction that
    finishes the task), all with one time: they list together, in their seeds' order."""
    now = timezone.now()
    params, look = task.params, task.params["look"]
    assert task.owner_id is not None
    return [
        Picture.objects.create(
            owner_id=task.owner_id,
            task=task,
            prompt=params["prompt"],
            negative_prompt=params["negativePrompt"],
            style=look["style"],
            tier=look["tier"],
            created_at=now,
            **fields,
        )
        for fields in made
    ]
