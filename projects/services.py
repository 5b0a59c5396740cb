from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from inference.text import detect_language, split_title
from projects.models import Character, Project
from tasks.models import Task


def new_seed() -> int:
    return secrets.randbelow(2**32)


@transaction.atomic
def project_create(
    *,
    owner: User,
    story: str,
    title: str = "",
    language: str = "",
    style: str = "storybook",
    aspect_ratio: str = "16:9",
    resolution: str = "720p",
    shot_count: int = 8,
    voice: str = "",
    auto_render: bool = True,
    burn_subtitles: bool = True,
) -> tuple[Project, list[Task]]:
    """Create a project from a story and start its storyboard task (enqueued after commit).

    A first line followed by a blank line is taken as the title when none is given.
    """
    from tasks.pipeline import pipeline_start

    story_title, body = split_title(story)
    body = body or story.strip()
    project = Project.objects.create(
        owner=owner,
        title=(title or story_title or body[:40]).strip()[:200],
        story=body,
        language=language or detect_language(body),
        style=style,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        shot_count=shot_count,
        voice=voice,
        auto_render=auto_render,
        burn_subtitles=burn_subtitles,
    )
    tasks = pipeline_start(project=project)
    return project, tasks


@transaction.atomic
def project_update(*, project: Project, changes: dict[str, Any]) -> Project:
    """Change a project's settings. Changing the look (style, aspect ratio, resolution)
    regenerates every keyframe; the story itself is re-cut only on an explicit request."""
    from tasks.pipeline import project_look_changed

    look = {"style", "aspect_ratio", "resolution"}
    look_changed = any(key in look and getattr(project, key) != value for key, value in changes.items())
    for key, value in changes.items():
        setattr(project, key, value)
    project.save()
    if look_changed:
        project_look_changed(project=project)
    return project


@transaction.atomic
def project_delete(*, project: Project) -> None:
    """Cancel the project's unfinished work, then delete it with its shots, characters and tasks."""
    from tasks.services import tasks_cancel

    tasks_cancel(tasks=project.tasks.filter(status__in=Task.UNFINISHED), reason="The project was deleted.")
    files = [f for f in _project_files(project) if f]
    project.delete()
    transaction.on_commit(lambda: [f.storage.delete(f.name) for f in files])


def _project_files(project: Project) -> list[Any]:
    files = [project.render_video, project.render_srt, project.render_vtt, project.render_poster,
             project.render_timeline, project.music]  # fmt: skip
    for shot in project.shots.all():
        files += [shot.image_file, shot.motion_file, shot.speech_file]
    return files


@transaction.atomic
def character_create(*, project: Project, name: str, description: str = "", seed: int | None = None) -> Character:
    from rest_framework.exceptions import ValidationError

    if project.characters.filter(name=name).exists():
        raise ValidationError({"name": f"The project already has a character named {name!r}."})
    return Character.objects.create(
        project=project, name=name, description=description, seed=new_seed() if seed is None else seed
    )


@transaction.atomic
def character_update(*, character: Character, changes: dict[str, Any]) -> Character:
    """Rename or re-describe a character; a change to its look or seed regenerates the
    keyframes of every shot it appears in."""
    from rest_framework.exceptions import ValidationError

    from tasks.pipeline import shots_regenerate

    name = changes.get("name")
    if name and name != character.name and character.project.characters.filter(name=name).exists():
        raise ValidationError({"name": f"The project already has a character named {name!r}."})
    look_changed = any(
        key in ("description", "seed") and getattr(character, key) != value for key, value in changes.items()
    )
    for key, value in changes.items():
        setattr(character, key, value)
    character.save()
    if look_changed:
        shots_regenerate(shots=list(character.shots.all()), stages={"image", "motion"})
    return character


@transaction.atomic
def character_delete(*, character: Character) -> None:
    from tasks.pipeline import shots_regenerate

    shots = list(character.shots.all())
    character.delete()
    shots_regenerate(shots=shots, stages={"image", "motion"})
