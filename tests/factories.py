from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.storage import store
from inference.engines import Fallback
from inference.image import draft_card
from inference.speech import espeak
from projects.models import Character, Project
from shots.history import version_record
from shots.models import Shot
from shots.stages import IMAGE, SPEECH
from tasks.jobs import run_task
from tasks.models import Task


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("a-long-test-password")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Story {n}")
    story = "Once upon a time there was a cat. The cat found a lamp. The lamp lit the sea."
    language = "en"
    auto_render = False


class CharacterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Character

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Character {n}")
    description = "a grey cat with green eyes"
    seed = factory.Sequence(lambda n: 1000 + n)


class ShotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shot

    project = factory.SubFactory(ProjectFactory)
    order = factory.Sequence(lambda n: n)
    prompt = factory.Sequence(lambda n: f"a lighthouse on a rock, scene {n}")
    narration = factory.Sequence(lambda n: f"This is sentence number {n}.")
    seed = factory.Sequence(lambda n: 42 + n)


LINES = ["Ada climbed the spiral stairs.", "Pip followed, counting the steps."]


@functools.cache
def _drawn_and_spoken(order: int, narration: str, style: str) -> tuple[Path, Path, float]:
    """A drawn keyframe and a spoken line, made once per test process (the same words and style
    give the same files) in a folder of its own."""
    folder = Path(tempfile.mkdtemp(prefix="shot-media-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    image = draft_card(f"scene {order}", width=640, height=360, style=style, seed=order, path=folder / "k.png")
    speech = espeak(narration, language="en", path=folder / "s.wav")
    return Path(image.path), Path(speech.path), speech.duration


def shot_with_media(project: Project, order: int, narration: str, tmp: Path) -> Shot:
    """A shot with a real drawn keyframe and spoken narration, stored as the engines store them."""
    image, speech, duration = _drawn_and_spoken(order, narration, project.style)
    shot = ShotFactory(project=project, order=order, narration=narration, prompt=f"scene {order}")
    shot.image_file.name, shot.image_hash = store(image, folder="shots/image")
    shot.speech_file.name, shot.speech_hash = store(speech, folder="shots/speech")
    shot.speech_duration, shot.image_source, shot.speech_source = duration, "draft", "espeak:en-us"
    shot.save()
    for stage in (IMAGE, SPEECH):
        version_record(shot, stage)
    return shot


def render(project: Project) -> Task:
    """Compose the project's film in this process, as a worker would, and then its clips for an
    editor (the task the render queued)."""
    task = Task.objects.create(kind="compose", project=project)
    run_task(str(task.id))
    for clips in Task.objects.filter(project=project, kind="clips", status=Task.Status.PENDING):
        run_task(str(clips.id))
    task.refresh_from_db()
    return task


DRAFT_WHY = "the weights of stabilityai/sd-turbo are not on disk and HF_HUB_OFFLINE is set"


def finished(project: Project, kind: str, result: dict[str, Any], **fields: Any) -> Task:
    """A finished task of the project with the result a worker would have recorded."""
    return Task.objects.create(
        kind=kind,
        project=project,
        owner=project.owner,
        status="finished",
        finished_at=timezone.now(),
        result=result,
        **fields,
    )


def drafted_project(user: Any) -> Project:
    """A project whose storyboard and picture a draft made (as workers record it); piper made its voice."""
    project = ProjectFactory(owner=user)
    shot = ShotFactory(project=project)
    storyboard_note = str(Fallback("draft", "transformers:Qwen/Qwen2.5-0.5B-Instruct", "no weights here"))
    finished(project, "storyboard", {"notes": [storyboard_note, "Shot 2's camera was repaired."]}, backend="draft")
    image_note = str(Fallback("draft", "diffusers:stabilityai/sd-turbo", DRAFT_WHY))
    finished(project, "image", {"note": image_note}, shot=shot)
    finished(project, "speech", {"note": ""}, shot=shot, backend="piper", model="zh_CN-huayan-medium")
    return project


def frames_in(video: Path) -> int:
    """The video frames a file holds, as ffprobe decodes and counts them."""
    import subprocess

    asked = ["-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"]
    counted = subprocess.run(
        ["ffprobe", "-v", "error", *asked, str(video)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(counted.stdout.strip())
