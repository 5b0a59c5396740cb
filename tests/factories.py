from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from projects.models import Character, Project
from shots.models import Shot


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
