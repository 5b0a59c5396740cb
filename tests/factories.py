from __future__ import annotations

from pathlib import Path

import factory
from django.contrib.auth import get_user_model

from inference.image import draft_card
from inference.speech import espeak
from projects.models import Character, Project
from shots.models import Shot
from storyvideo.storage import store
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


def shot_with_media(project: Project, order: int, narration: str, tmp: Path) -> Shot:
    """A shot with a real drawn keyframe and spoken narration, stored as the engines store them."""
    image = draft_card(
        f"scene {order}", width=640, height=360, style=project.style, seed=order, path=tmp / f"k{order}.png"
    )
    speech = espeak(narration, language="en", path=tmp / f"s{order}.wav")
    shot = ShotFactory(project=project, order=order, narration=narration, prompt=f"scene {order}")
    shot.image_file.name, shot.image_hash = store(Path(image.path), folder="shots/image")
    shot.speech_file.name, shot.speech_hash = store(Path(speech.path), folder="shots/speech")
    shot.speech_duration, shot.image_source, shot.speech_source = speech.duration, "draft", "espeak:en-us"
    shot.save()
    return shot


def render(project: Project) -> Task:
    """Compose the project's film in this process, as a worker would."""
    task = Task.objects.create(kind="compose", project=project)
    run_task(str(task.id))
    task.refresh_from_db()
    return task
