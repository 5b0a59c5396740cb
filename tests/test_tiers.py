"""Today's models (issue 28) through the API and the pages: a project's picture tier (draft,
fast, quality), chosen at creation and changed later (every picture painted again); an animated
shot's motion prompt, its own to write (a change redoes that clip only, and only where the
project animates). The engines themselves run on tiny models in tests/test_models.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from rest_framework.test import APIClient

from core.engines import image_tier
from shots.models import Shot
from storyvideo.env import env_size
from tasks.models import Task
from tests.factories import ProjectFactory, ShotFactory

STORY = "The keeper climbed the stairs at dusk. The lamp turned all night."


@pytest.mark.django_db
def test_a_project_is_made_in_the_tier_asked_for_else_the_operators_default(api: APIClient) -> None:
    made = api.post("/api/v1/projects", {"story": STORY, "tier": "quality"}, format="json")
    assert made.status_code == 202 and made.json()["project"]["tier"] == "quality"
    assert api.post("/api/v1/projects", {"story": STORY}, format="json").json()["project"]["tier"] == "fast"
    with override_settings(IMAGE_TIER="draft"):
        assert api.post("/api/v1/projects", {"story": STORY}, format="json").json()["project"]["tier"] == "draft"
    wrong = api.post("/api/v1/projects", {"story": STORY, "tier": "best"}, format="json")
    assert wrong.status_code == 400 and '"best" is not a valid choice' in str(wrong.json()["error"]["fields"]["tier"])


@pytest.mark.django_db
def test_each_tier_runs_what_the_operator_set_for_it() -> None:
    assert image_tier("draft") == ("draft", 1, 0.0)
    assert image_tier("fast") == ("diffusers:stabilityai/sd-turbo", 1, 0.0)
    assert image_tier("quality") == ("diffusers:black-forest-labs/FLUX.1-schnell", 4, 0.0)
    with override_settings(IMAGE_MODEL_QUALITY="diffusers:/models/flux-dev", IMAGE_STEPS_QUALITY=20):
        assert image_tier("quality") == ("diffusers:/models/flux-dev", 20, 0.0)


@pytest.mark.django_db
def test_changing_the_tier_paints_every_picture_again_and_nothing_else(api: APIClient, user: Any) -> None:
    project = ProjectFactory(owner=user, tier="fast")
    shots = [ShotFactory(project=project, order=n, narration=f"Line {n}.") for n in range(3)]
    versions = [s.image_version for s in shots]
    answer = api.patch(f"/api/v1/projects/{project.id}", {"tier": "quality"}, format="json")
    assert answer.status_code == 200 and answer.json()["tier"] == "quality"
    assert sorted(project.tasks.values_list("kind", flat=True)) == ["image"] * 3
    assert [Shot.objects.get(pk=s.pk).image_version for s in shots] == [v + 1 for v in versions]
    unchanged = api.patch(f"/api/v1/projects/{project.id}", {"tier": "quality"}, format="json")
    assert unchanged.status_code == 200 and project.tasks.count() == 3  # the same tier: nothing redone


@pytest.mark.django_db
def test_a_motion_prompt_change_redoes_the_clip_only_where_the_project_animates(api: APIClient, user: Any) -> None:
    still = ProjectFactory(owner=user, animate=False)
    shot = ShotFactory(project=still, narration="The lamp turned.")
    answer = api.patch(f"/api/v1/shots/{shot.id}", {"motionPrompt": "the lamp turns slowly"}, format="json")
    assert answer.status_code == 200 and answer.json()["motionPrompt"] == "the lamp turns slowly"
    assert not still.tasks.exclude(kind="compose").exists()  # no clip to make: the camera move stands
    moving = ProjectFactory(owner=user, animate=True)
    shot = ShotFactory(project=moving, narration="The lamp turned.", camera="zoom_in")
    assert Shot.objects.get(pk=shot.pk).motion_text == f"{shot.prompt.rstrip('.')}. the camera slowly pushes in"
    api.patch(f"/api/v1/shots/{shot.id}", {"motionPrompt": "waves break below"}, format="json")
    assert list(moving.tasks.values_list("kind", flat=True)) == ["motion"]
    assert Shot.objects.get(pk=shot.pk).motion_text == "waves break below"
    api.patch(f"/api/v1/shots/{shot.id}", {"camera": "pan_left"}, format="json")  # not in the person's words
    assert list(moving.tasks.values_list("kind", flat=True)) == ["motion"]
    api.patch(f"/api/v1/shots/{shot.id}", {"motionPrompt": ""}, format="json")
    api.patch(f"/api/v1/shots/{shot.id}", {"camera": "static"}, format="json")  # in the clip's words: a new clip
    assert moving.tasks.filter(kind="motion", status=Task.Status.CANCELLED).count() == 2
    assert Shot.objects.get(pk=shot.pk).motion_text.endswith("the camera holds still")
    too_long = api.patch(f"/api/v1/shots/{shot.id}", {"motionPrompt": "x" * 1001}, format="json")
    assert too_long.status_code == 400 and "motionPrompt" in too_long.json()["error"]["fields"]


def test_a_clip_is_made_for_the_narration_read_at_an_ordinary_pace_until_it_is_spoken() -> None:
    shot = Shot(narration="The keeper climbed the stairs at dusk and lit the great lamp for the ships.", prompt="x")
    assert 4.5 < shot.expected_duration < 6.5
    shot.speech_duration = 2.4
    assert shot.expected_duration == shot.duration == 3.0
    assert Shot(narration="守塔人每天傍晚都会爬上楼梯，点亮那盏灯，为夜航的船照路。", prompt="x").expected_duration > 5
    assert Shot(narration="", prompt="x").expected_duration == 3.0


def test_motion_size_is_read_strictly() -> None:
    assert env_size("MOTION_SIZE", (768, 512), environ={}) == (768, 512)
    assert env_size("MOTION_SIZE", (768, 512), environ={"MOTION_SIZE": " 1280X704 "}) == (1280, 704)
    for wrong in ("768", "768x", "x512", "768x512x2", "-768x512", "8x8", "768.5x512"):
        with pytest.raises(ImproperlyConfigured, match="is not a size: write WIDTHxHEIGHT in pixels"):
            env_size("MOTION_SIZE", (768, 512), environ={"MOTION_SIZE": wrong})
