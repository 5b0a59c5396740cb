"""The pipeline: which tasks a project or an edit starts, and how they depend on each other.

story -> storyboard -> per shot: image (-> motion, where enabled) and speech -> compose.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import transaction

from projects.models import Project
from shots.models import Shot
from tasks.models import Task
from tasks.services import task_cancel, task_create, tasks_cancel

K = Task.Kind
MEDIA_KINDS = (K.IMAGE, K.MOTION, K.SPEECH)


def pipeline_start(*, project: Project) -> list[Task]:
    """Start a project's storyboard task; its completion queues the shots' media."""
    project.status = Project.Status.STORYBOARDING
    project.save(update_fields=["status", "updated_at"])
    return [task_create(kind=K.STORYBOARD, project=project)]


def shots_regenerate(
    *, shots: Iterable[Shot], stages: set[str], new: bool = False, explicit: bool = False
) -> list[Task]:
    """Queue the given stages of the given shots, superseding their in-flight work.

    Each touched stage's version is bumped, so a result that arrives for the old version is
    discarded. A shot without narration needs no speech; motion runs only where the project
    animates. The film is recomposed afterwards if it had a render or one was on its way.
    """
    created: list[Task] = []
    shots = list(shots)
    if not shots:
        return created
    project = shots[0].project
    recompose = _wants_compose(project)
    for shot in shots:
        for stage in ("image", "motion", "speech"):
            if stage not in stages:
                continue
            if not new:
                Shot.objects.filter(pk=shot.pk).update(**{f"{stage}_version": getattr(shot, f"{stage}_version") + 1})
                shot.refresh_from_db()
            tasks_cancel(
                tasks=shot.tasks.filter(kind=stage, status__in=Task.UNFINISHED),
                reason=f"Superseded by an edit of shot {shot.order + 1}.",
            )
            if stage == "motion" and not (project.animate or explicit):
                continue
            if stage == "speech" and not shot.narration.strip():
                continue
            parents = _unfinished(shot, K.IMAGE) if stage == "motion" else []
            created.append(
                task_create(
                    kind=stage,
                    project=project,
                    shot=shot,
                    parents=parents,
                    params={"version": getattr(shot, f"{stage}_version")},
                )
            )
    if recompose:
        created.append(compose_create(project=project))
    _set_status(project, Project.Status.GENERATING)
    return created


@transaction.atomic
def shot_generate(*, shot: Shot, stage: str) -> Task:
    """Regenerate one stage of one shot on request (motion too where the project does not
    animate by default)."""
    from rest_framework.exceptions import ValidationError

    if stage == "speech" and not shot.narration.strip():
        raise ValidationError({"stage": "This shot has no narration to speak; write some first."})
    tasks = shots_regenerate(shots=[shot], stages={stage}, explicit=True)
    return next(task for task in tasks if task.kind == stage)


def shots_generate_all(*, project: Project) -> list[Task]:
    """After the storyboard: every shot's media, then the film when the project auto-renders."""
    shots = list(project.shots.order_by("order"))
    tasks = shots_regenerate(shots=shots, stages={"image", "motion", "speech"}, new=True)
    if project.auto_render and not any(t.kind == K.COMPOSE for t in tasks):
        tasks.append(compose_create(project=project))
    return tasks


def compose_create(*, project: Project) -> Task:
    """A compose task blocked on every unfinished media task of the project. An older
    unfinished compose is superseded."""
    for old in project.tasks.filter(kind=K.COMPOSE, status__in=Task.UNFINISHED):
        task_cancel(task=old, reason="Superseded by a newer render.")
    parents = list(project.tasks.filter(kind__in=MEDIA_KINDS, status__in=Task.UNFINISHED))
    return task_create(kind=K.COMPOSE, project=project, parents=parents)


def project_render(*, project: Project) -> Task:
    with transaction.atomic():
        task = compose_create(project=project)
        _set_status(project, Project.Status.RENDERING)
    return task


def project_recompose_if_rendered(*, project: Project) -> Task | None:
    """After an edit that changes only the composition (order, camera, transition)."""
    if _wants_compose(project):
        return compose_create(project=project)
    return None


def project_look_changed(*, project: Project) -> list[Task]:
    return shots_regenerate(shots=project.shots.order_by("order"), stages={"image", "motion"})


def project_status_refresh(*, project_id: uuid.UUID) -> None:
    """Derive the project's status from its tasks after one of them ended."""
    project = Project.objects.get(pk=project_id)
    unfinished = set(project.tasks.filter(status__in=Task.UNFINISHED).values_list("kind", flat=True))
    if K.STORYBOARD in unfinished:
        status = Project.Status.STORYBOARDING
    elif unfinished & set(MEDIA_KINDS):
        status = Project.Status.GENERATING
    elif K.COMPOSE in unfinished:
        status = Project.Status.RENDERING
    elif project.render_video:
        status = Project.Status.RENDERED
    elif project.shots.exists():
        status = Project.Status.READY
    else:
        status = Project.Status.FAILED
    _set_status(project, status)


def _wants_compose(project: Project) -> bool:
    return bool(project.render_video) or project.tasks.filter(kind=K.COMPOSE, status__in=Task.UNFINISHED).exists()


def _unfinished(shot: Shot, kind: str) -> list[Task]:
    """The shot's newest unfinished task of this kind, if any (what a motion task waits for)."""
    task = shot.tasks.filter(kind=kind, status__in=Task.UNFINISHED).order_by("-created_at").first()
    return [task] if task else []


def _set_status(project: Project, status: str) -> None:
    if project.status != status:
        Project.objects.filter(pk=project.pk).update(status=status)
        project.status = status
