"""The pipeline: which tasks a project or an edit starts, and how they depend on each other.

story -> storyboard -> per shot: image (-> motion, where enabled) and speech -> compose.

The film's own kinds of work are named here (each is declared in ``projects/kinds.py``; the
shots' stages, and the kinds that make them, in ``shots/stages.py`` and ``shots/kinds.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from core.errors import ApplicationError
from core.storage import release_on_commit
from projects import live as project_live
from projects.models import Project
from projects.selectors import project_lock
from shots import live
from shots.models import Shot
from shots.stages import IMAGE, MOTION, SPEECH, STAGES, Stage, stage_named, with_dependents
from tasks.models import Task
from tasks.registry import KINDS
from tasks.services import task_cancel, task_create, task_postpone, tasks_cancel

STORY = "story"  # a story written from an idea, for the person to edit
STORYBOARD = "storyboard"  # the story cut into shots and characters
REFINE = "refine"  # a shot or the storyboard rewritten on a person's instruction
COMPOSE = "compose"  # the film's render
MEDIA_KINDS = tuple(STAGES)  # the shots' stages' (shots.stages)


def pipeline_start(*, project: Project, shot_tasks: bool = False) -> list[Task]:
    """Start a project's storyboard task; its completion queues the shots' media. With
    ``shot_tasks``, the project's ``shot_count`` picture tasks are made now too, blocked on the
    storyboard, for a client that follows them from the start: the storyboard's shots take them
    in order (``upfront_tasks_take``)."""
    storyboard = task_create(kind=STORYBOARD, project=project)
    tasks = [storyboard]
    if shot_tasks:
        tasks += [
            task_create(kind=IMAGE.name, project=project, parents=[storyboard], params={UPFRONT: number})
            for number in range(project.shot_count)
        ]
    project_status_derive(project=project)
    return tasks


UPFRONT = "upfront"  # the param of a picture task made before its shot: its place in the storyboard


def upfront_tasks(storyboard: Task) -> QuerySet[Task]:
    """The picture tasks made with the project that wait for this storyboard's shots."""
    return storyboard.children.filter(kind=IMAGE.name, shot__isnull=True, status=Task.Status.BLOCKED)


def upfront_tasks_take(*, storyboard: Task, shots: Sequence[Shot]) -> None:
    """Give the storyboard's shots, in order, the picture tasks made for them up front (before
    the storyboard finishes, which starts them); those left over are cancelled. Shots beyond them
    get tasks of their own (``shots_generate_all``)."""
    waiting = sorted(upfront_tasks(storyboard), key=lambda task: int(task.params.get(UPFRONT, 0)))
    for task, shot in zip(waiting, shots, strict=False):
        params = {**task.params, "version": shot.result(IMAGE).version}
        Task.objects.filter(pk=task.pk).update(shot=shot, params=params, updated_at=timezone.now())
    extra = waiting[len(shots) :]
    if extra:
        tasks_cancel(
            tasks=Task.objects.filter(pk__in=[task.pk for task in extra]),
            reason=f"The storyboard has {len(shots)} shot(s): no shot for this picture.",
        )


@transaction.atomic
def shots_regenerate(
    *, shots: Iterable[Shot], stages: set[Stage], new: bool = False, explicit: bool = False
) -> list[Task]:
    """Queue the given stages of the given shots, and every stage made from them (a new picture
    means a new clip: ``Stage.made_from``), superseding their in-flight work.

    Locks: the project row, then the shots' rows (the order every service that changes a
    storyboard takes). Each touched stage's version is bumped in the database (``F() + 1``), so
    a result that arrives for the old version is discarded; a stage superseded only because its
    input changed loses its file at once (a clip of the old picture never reaches the film). A
    shot without narration needs no speech; motion runs where the project animates, or when
    asked for by name (``explicit``). The film is recomposed afterwards if it had a render or one
    was on its way.
    """
    shots = list(shots)
    if not shots:
        return []
    project = project_lock(project_id=shots[0].project_id)
    wanted = with_dependents(stages)
    derived = wanted - stages
    recompose = _wants_compose(project)
    created: list[Task] = []
    released: list[str] = []
    for shot in Shot.objects.select_for_update().filter(pk__in=[s.pk for s in shots]).order_by("order"):
        if not new:
            bumps: dict[str, Any] = {}
            for stage in wanted:
                bumps |= stage.bumped()
            for stage in derived:
                released.append(shot.result(stage).file_name)
                bumps |= stage.cleared()
            Shot.objects.filter(pk=shot.pk).update(**bumps, updated_at=timezone.now())
            shot.refresh_from_db()
        for stage in STAGES.values():
            if stage not in wanted:
                continue
            made = shot.tasks.filter(kind=stage.name, status__in=Task.UNFINISHED).first() if new else None
            if made is not None:  # a new shot's task made before it (``upfront_tasks_take``)
                created.append(made)
                continue
            tasks_cancel(
                tasks=shot.tasks.filter(kind=stage.name, status__in=Task.UNFINISHED),
                reason=f"Superseded by an edit of shot {shot.order + 1}.",
            )
            if stage is MOTION and not (project.animate or (explicit and stage in stages)):
                continue
            if stage is SPEECH and not shot.narration.strip():
                continue
            parents = [t for name in stage.made_from for t in _unfinished(shot, name)]
            created.append(
                task_create(
                    kind=stage.name,
                    project=project,
                    shot=shot,
                    parents=parents,
                    params={"version": shot.result(stage).version},
                )
            )
        if derived and not new:
            live.publish_shot_on_commit(shot)
    release_on_commit(released)
    if recompose:
        created.append(compose_create(project=project, edit=not new))
    else:
        project_status_derive(project=project)
    return created


def shots_generate_all(*, project: Project) -> list[Task]:
    """After the storyboard: every shot's media, then the film when the project auto-renders."""
    shots = list(project.shots.order_by("order"))
    tasks = shots_regenerate(shots=shots, stages=set(STAGES.values()), new=True)
    if project.auto_render and not any(t.kind == COMPOSE for t in tasks):
        tasks.append(compose_create(project=project))
    return tasks


@transaction.atomic
def compose_create(*, project: Project, edit: bool = False) -> Task:
    """A compose task blocked on every unfinished media task of the project. An older
    unfinished compose is superseded. After an ``edit``, the render waits COMPOSE_SETTLE_S for
    the next one: a render that has not started yet takes the new edit in and waits again, so
    edits made close together are recomposed once."""
    parents = list(project.tasks.filter(kind__in=MEDIA_KINDS, status__in=Task.UNFINISHED))
    run_after = None
    if edit:
        run_after = timezone.now() + timedelta(seconds=settings.COMPOSE_SETTLE_S)
        waiting = project.tasks.filter(kind=COMPOSE, status__in=[Task.Status.BLOCKED, Task.Status.PENDING])
        task = waiting.order_by("-created_at").first()
        if task is not None and task_postpone(task=task, parents=parents, run_after=run_after):
            project_status_derive(project=project)
            return task
    for old in project.tasks.filter(kind=COMPOSE, status__in=Task.UNFINISHED):
        task_cancel(task=old, reason="Superseded by a newer render.")
    task = task_create(kind=COMPOSE, project=project, parents=parents, run_after=run_after)
    project_status_derive(project=project)
    return task


@transaction.atomic
def project_render(*, project: Project, force: bool = False) -> Task:
    """Compose the film once every shot's media is made; a project with no shots has nothing to
    compose. A shot whose picture, clip or voice failed is named first (409); ``force`` renders
    anyway, with what those shots still have (an earlier result, or silence for a voice). A
    render asked for while one waits to start is that one (a double-click makes one task)."""
    project = project_lock(project_id=project.pk)  # two clicks at once: the second sees the first's task
    if not project.shots.exists():
        raise ApplicationError("The project has no shots yet; wait for its storyboard or add a shot.")
    failed = failed_media(project)
    if failed and not force:
        which = "; ".join(f"shot {number}'s {stage.word} ({reason})" for number, stage, reason in failed)
        raise ApplicationError(
            f"Some shots failed: {which}. Regenerate them first, or render anyway (force) and the film "
            "will have those shots with what they still have: an earlier result, or no voice.",
            code="conflict",
        )
    waiting = project.tasks.filter(kind=COMPOSE, status__in=[Task.Status.BLOCKED, Task.Status.PENDING])
    return waiting.order_by("-created_at").first() or compose_create(project=project)


def project_recompose_if_rendered(*, project: Project) -> Task | None:
    """After an edit that changes only the composition (order, camera, transition)."""
    if _wants_compose(project):
        return compose_create(project=project, edit=True)
    return None


def project_look_changed(*, project: Project) -> list[Task]:
    return shots_regenerate(shots=project.shots.order_by("order"), stages={IMAGE})


def project_status_refresh(*, project_id: uuid.UUID) -> None:
    """After a job settled tasks of the project: its status (``projects.kinds`` registers this,
    and then the webhook of a render that ended, to follow every job)."""
    project_status_derive(project=Project.objects.get(pk=project_id))


# The sentences of a project's status line, by code: the API and the database keep the English
# line (statusMessage) and its parts (statusParts: code and values), from which the editor says
# it in the interface's language (the same sentences are in static/storyvideo/editor.js).
STATUS_SENTENCES = {
    "writing_story": "Writing the story.",
    "story_ready": "The story is written: edit it, then make the storyboard.",
    "story_failed": "The story could not be written: {why}",
    "story_waiting": "The story waits for the language model ({ahead} ahead of it).",
    "writing_storyboard": "Writing the storyboard.",
    "storyboard_waiting": "The storyboard waits for the language model ({ahead} ahead of it).",
    "media_to_go": "{count} picture, clip or voice task(s) to go.",
    "media_waiting": "{count} picture, clip or voice task(s) waiting for a worker ({ahead} ahead of them).",
    "composing": "Composing the film.",
    "compose_waiting": "The film waits for the media worker ({ahead} ahead of it).",
    "all_ready": "Every shot is ready: render the film.",
    "render_failed": "The film is out of date: its last render failed ({why}). Render again.",
    "first_render_failed": "The film could not be made ({why}). Render again.",
    "held_up": "{why}. The work goes on by itself once it is put right.",
    "storyboard_failed": "The storyboard failed: {why}",
    "stage_failed": "Shot {shot}'s {stage} failed: {why}. Regenerate it or edit the shot.",
}


def project_status_derive(*, project: Project) -> None:
    """The one place a project's status is decided: derived from its tasks (and whether it has
    shots and a film), with a line saying what it waits for or what went wrong, written when it
    changed and pushed to the editor. Called whenever tasks are created or have ended."""
    rows = list(
        project.tasks.filter(status__in=Task.UNFINISHED).values_list(
            "kind", "status", "waiting_since", "error", "created_at"
        )
    )
    unfinished = [kind for kind, *_ in rows]
    running = {kind for kind, status, *_ in rows if status == Task.Status.PROCESSING}
    held = [error for _, status, since, error, _ in rows if since is not None and status == Task.Status.PENDING]
    media = sum(kind in MEDIA_KINDS for kind in unfinished)
    parts: list[dict[str, Any]] = [
        {"code": "stage_failed", "shot": number, "stage": stage.word, "why": why}
        for number, stage, why in failed_media(project)
    ]
    if held:  # waits for something outside it (a full disk), said first
        parts.insert(0, {"code": "held_up", "why": held[0]})

    def waiting(code: str, kinds: Sequence[str], **values: Any) -> dict[str, Any]:
        """Work of these kinds not yet started: said as waiting, behind how many others' tasks."""
        first = min(created for kind, _, _, _, created in rows if kind in kinds)
        return {"code": code, "ahead": _ahead(project, kinds, first), **values}

    if STORY in unfinished:
        status = Project.Status.DRAFT
        parts = [{"code": "writing_story"} if STORY in running else waiting("story_waiting", [STORY])]
    elif STORYBOARD in unfinished:
        status = Project.Status.STORYBOARDING
        working = STORYBOARD in running
        parts = [*parts, {"code": "writing_storyboard"} if working else waiting("storyboard_waiting", [STORYBOARD])]
    elif media:
        status = Project.Status.GENERATING
        working = bool(running & set(MEDIA_KINDS))
        parts = [
            *parts,
            {"code": "media_to_go", "count": media} if working else waiting("media_waiting", MEDIA_KINDS, count=media),
        ]
    elif COMPOSE in unfinished:
        status = Project.Status.RENDERING
        parts = [*parts, {"code": "composing"} if COMPOSE in running else waiting("compose_waiting", [COMPOSE])]
    elif project.render_video:
        last = project.tasks.filter(kind=COMPOSE).order_by("-created_at").first()
        if last is not None and last.status == Task.Status.FAILED:
            parts.append({"code": "render_failed", "why": last.message.rstrip(".")})
        status = Project.Status.RENDERED
    elif project.shots.exists():
        last = project.tasks.filter(kind=COMPOSE).order_by("-created_at").first()
        if last is not None and last.status == Task.Status.FAILED:  # its first film: none to keep
            parts.append({"code": "first_render_failed", "why": last.message.rstrip(".")})
        status, parts = Project.Status.READY, parts or [{"code": "all_ready"}]
    else:
        status, parts = _without_shots(project)
    message = " ".join(STATUS_SENTENCES[part["code"]].format(**part) for part in parts)
    _set_status(project, status, message[:500], parts, _progress(project, status, media))


# How far a project is towards its film, 0-100, by its status: the storyboard is the first
# tenth, the shots' media the next eight, the render the last. It moves as tasks settle.
PROGRESS = {Project.Status.DRAFT: 0, Project.Status.STORYBOARDING: 5, Project.Status.READY: 90}
PROGRESS |= {Project.Status.RENDERING: 90, Project.Status.RENDERED: 100, Project.Status.FAILED: 0}


def _progress(project: Project, status: str, media_to_go: int) -> int:
    if status != Project.Status.GENERATING:
        return PROGRESS[Project.Status(status)]
    shots = project.shots.all()
    needed = shots.count() * (2 if project.animate else 1) + shots.exclude(narration="").count()
    needed = max(needed, media_to_go, 1)
    return 10 + 80 * (needed - media_to_go) // needed


def _ahead(project: Project, kinds: Sequence[str], since: Any) -> int:
    """Other projects' tasks on the same queue as these kinds, waiting or running, made before."""
    queue = {KINDS[kind].queue for kind in kinds if kind in KINDS}
    same_queue = [name for name, kind in KINDS.items() if kind.queue in queue]
    return (
        Task.objects.filter(kind__in=same_queue, status__in=[Task.Status.PENDING, Task.Status.PROCESSING])
        .filter(created_at__lt=since)
        .exclude(project_id=project.pk)
        .count()
    )


def _without_shots(project: Project) -> tuple[Project.Status, list[dict[str, Any]]]:
    """A project with no shots: a story drafted from an idea waits for its storyboard to be
    asked for; else its storyboard failed."""
    last = project.tasks.filter(kind__in=[STORY, STORYBOARD]).order_by("-created_at").first()
    if last is not None and last.kind == STORY:
        if last.status == Task.Status.FINISHED:
            return Project.Status.DRAFT, [{"code": "story_ready"}]
        return Project.Status.FAILED, [{"code": "story_failed", "why": last.message or "it was cancelled"}]
    why = last.message if last and last.message else "no storyboard was made"
    return Project.Status.FAILED, [{"code": "storyboard_failed", "why": why}]


def failed_media(project: Project) -> list[tuple[int, Stage, str]]:
    """(shot number, stage, reason) of each shot's stage whose newest task failed."""
    # Only the failed ones are read, and of those the newest of their shot and stage: the
    # project's whole history of tasks (thousands, after long editing) is not walked.
    newer = Task.objects.filter(
        shot_id=OuterRef("shot_id"), kind=OuterRef("kind"), created_at__gt=OuterRef("created_at")
    )
    failed = (
        project.tasks.filter(kind__in=MEDIA_KINDS, status=Task.Status.FAILED, shot__isnull=False)
        .exclude(Exists(newer))
        .select_related("shot")
    )
    return sorted(
        ((t.shot.order + 1, stage_named(t.kind), t.message.rstrip(".")) for t in failed if t.shot),
        key=lambda failed: (failed[0], failed[1].name, failed[2]),
    )


def _wants_compose(project: Project) -> bool:
    return bool(project.render_video) or project.tasks.filter(kind=COMPOSE, status__in=Task.UNFINISHED).exists()


def renders_under_way(*, project_ids: Any) -> bool:
    """Whether a render of one of the projects is waiting or running."""
    return Task.objects.filter(project_id__in=project_ids, kind=COMPOSE, status__in=Task.UNFINISHED).exists()


def _unfinished(shot: Shot, kind: str) -> list[Task]:
    """The shot's newest unfinished task of this kind, if any (what a motion task waits for)."""
    task = shot.tasks.filter(kind=kind, status__in=Task.UNFINISHED).order_by("-created_at").first()
    return [task] if task else []


def _set_status(project: Project, status: str, message: str, parts: list[dict[str, Any]], progress: int) -> None:
    """Write the status, its line and the progress if one changed, and push them once committed."""
    current = Project.objects.filter(pk=project.pk).values_list("status", "status_message", "progress").first()
    if current != (status, message, progress):
        Project.objects.filter(pk=project.pk).update(
            status=status, status_message=message, status_parts=parts, progress=progress, updated_at=timezone.now()
        )
        project_live.publish_project_on_commit(project.pk)
    project.status, project.status_message, project.status_parts = status, message, parts
    project.progress = progress
