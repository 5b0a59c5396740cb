"""Pictures to choose from: a shot's candidates, painted several at once (one batched call of
the tier's image model, seeds consecutive), listed with their thumbnails, and one chosen as the
shot's picture (a new version of it; only that shot is redone in the film). Those never chosen go,
with their files, CANDIDATES_KEEP_S after they were painted."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.engines import image_tier
from core.errors import ApplicationError
from core.storage import release_on_commit
from shots.models import Candidate, Shot
from shots.services import new_seed, shot_result_put
from shots.stages import IMAGE
from tasks.models import Task
from tasks.services import task_create

CANDIDATES = "candidates"
MOST = 8  # pictures in one request
# Distilled models paint in a few steps and take no guidance: more steps change little, and
# guidance above 0 spoils their pictures.
DISTILLED = ("turbo", "schnell", "lightning", "lcm")
DISTILLED_STEPS = 8


def candidate_parameters(
    *, spec: str, steps: int | None, guidance: float | None, tier_steps: int, tier_guidance: float
) -> tuple[int, float]:
    """The steps and guidance to paint with: the person's where the tier's model takes them,
    else the tier's own; a value the model does not take is refused, naming the field."""
    if spec == "draft":
        if steps is not None or guidance is not None:
            raise ApplicationError(
                "This film's picture tier draws draft cards: steps and guidance do not apply. Leave them"
                " out, or choose the fast or quality tier in the film's settings.",
                field="steps" if steps is not None else "guidance",
            )
        return tier_steps, tier_guidance
    if any(word in spec.lower() for word in DISTILLED):
        if steps is not None and steps > DISTILLED_STEPS:
            raise ApplicationError(
                f"{spec} is a distilled model: it paints in 1 to {DISTILLED_STEPS} steps.", field="steps"
            )
        if guidance:
            raise ApplicationError(f"{spec} is a distilled model: it takes no guidance (0).", field="guidance")
    return steps or tier_steps, tier_guidance if guidance is None else guidance


def painting(
    *, tier: str, count: int, seed: int | None, steps: int | None, guidance: float | None
) -> tuple[int, int, float]:
    """The first seed, the steps and the guidance ``count`` pictures of the tier are painted with
    (a new seed where none is given), each checked; a value that cannot be is refused, naming
    its field."""
    if not 1 <= count <= MOST:
        raise ApplicationError(f"Ask for 1 to {MOST} pictures at once.", field="count")
    spec, tier_steps, tier_guidance = image_tier(tier)
    steps, guidance = candidate_parameters(
        spec=spec, steps=steps, guidance=guidance, tier_steps=tier_steps, tier_guidance=tier_guidance
    )
    first = new_seed() % (2**32 - MOST) if seed is None else seed
    if first + count - 1 >= 2**32:
        raise ApplicationError(f"The seeds run past 4294967295: start at {2**32 - count} at most.", field="seed")
    return first, steps, guidance


@transaction.atomic
def candidates_request(
    *,
    shot: Shot,
    count: int,
    seed: int | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    negative_prompt: str | None = None,
) -> Task:
    """Queue ``count`` pictures of the shot to choose from, painted with seeds ``seed``,
    ``seed + 1``, … (a new ``seed`` where none is given) and the tier's model."""
    first, steps, guidance = painting(tier=shot.project.tier, count=count, seed=seed, steps=steps, guidance=guidance)
    params = {
        "count": count,
        "seed": first,
        "steps": steps,
        "guidance": guidance,
        "negativePrompt": shot.negative_prompt if negative_prompt is None else negative_prompt,
    }
    return task_create(kind=CANDIDATES, project=shot.project, shot=shot, params=params)


def candidate_list(*, shot: Shot) -> QuerySet[Candidate]:
    """The shot's candidates, newest request first."""
    return shot.candidates.all()


@transaction.atomic
def candidate_choose(*, shot: Shot, candidate_id: uuid.UUID) -> Shot:
    """Make the candidate the shot's picture, with the seed (and what to keep out of the picture)
    it was painted with, as a new version."""
    candidate = shot.candidates.filter(pk=candidate_id).first()
    if candidate is None:
        raise ApplicationError(
            "Not a picture painted for this shot (or it was released); list them again.", code="not_found"
        )
    shot = shot_result_put(
        shot=shot,
        stage=IMAGE,
        name=candidate.file.name,
        digest=candidate.hash,
        source=candidate.source,
        extra={"seed": candidate.seed, "negative_prompt": candidate.negative_prompt},
        why=f"Shot {shot.order + 1}'s picture was chosen among its candidates.",
    )
    Candidate.objects.filter(pk=candidate.pk).update(chosen_at=timezone.now())
    return shot


def candidates_release_stale() -> int:
    """Delete the candidates never chosen and painted longer than CANDIDATES_KEEP_S ago, and
    their files (where nothing else names them: a chosen picture is its shot's)."""
    cutoff = timezone.now() - timedelta(seconds=settings.CANDIDATES_KEEP_S)
    with transaction.atomic():
        stale = list(Candidate.objects.select_for_update().filter(chosen_at__isnull=True, created_at__lt=cutoff))
        names = [candidate.file.name for candidate in stale]
        Candidate.objects.filter(pk__in=[candidate.pk for candidate in stale]).delete()
        release_on_commit(names)
    return len(stale)


def candidates_made(*, shot: Shot, negative_prompt: str, made: list[dict[str, Any]]) -> list[Candidate]:
    """The candidates a task painted, as rows (inside the transaction that finishes it), all
    with one time: they list together, in their seeds' order."""
    now = timezone.now()
    return [
        Candidate.objects.create(
            shot=shot, prompt=shot.prompt, negative_prompt=negative_prompt, created_at=now, **fields
        )
        for fields in made
    ]
