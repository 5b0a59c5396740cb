"""Characters with a face (issue 29, part 3, first half): appearance, clothing, age and
personality. The looks go into every picture of the character's shots (a change draws them
again); the personality guides the language model's rewrites (and redoes nothing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from inference.image import prompt_parts
from inference.refine import RefineJob, ShotText, in_character, refine_messages
from projects.models import Character
from shots.kinds import keyframe_request
from tasks.jobs import run_task
from tasks.models import Task
from tests.chat_server import ChatServer
from tests.factories import ProjectFactory, ShotFactory

pytestmark = pytest.mark.django_db
LOOKS = {
    "description": "the lighthouse keeper",
    "appearance": "grey eyes, short red hair",
    "clothing": "a yellow oilskin coat",
    "age": "in her sixties",
}


def test_a_characters_looks_are_said_in_the_picture_prompts_words() -> None:
    ada = Character(name="Ada", **LOOKS)
    assert ada.looks == (
        "the lighthouse keeper, grey eyes, short red hair, in her sixties, wearing a yellow oilskin coat"
    )
    assert Character(name="Bo", appearance="tall.", clothing="").looks == "tall"
    assert Character(name="Cy").looks == ""


def test_looks_are_kept_and_a_change_draws_the_characters_shots_again_but_a_personality_does_not(
    api: APIClient, user: Any
) -> None:
    project = ProjectFactory(owner=user)
    made = api.post(
        f"/api/v1/projects/{project.id}/characters", {"name": "Ada", **LOOKS, "personality": "gruff"}, format="json"
    )
    assert made.status_code == 201 and {key: made.json()[key] for key in LOOKS} == LOOKS
    ada = Character.objects.get(pk=made.json()["id"])
    shot = ShotFactory(project=project, narration="Ada climbed.")
    shot.characters.add(ada)
    ShotFactory(project=project, order=1, narration="The sea.")  # without her
    answer = api.patch(f"/api/v1/characters/{ada.id}", {"personality": "gruff, kind to strays"}, format="json")
    assert answer.status_code == 200 and not project.tasks.exists()
    answer = api.patch(f"/api/v1/characters/{ada.id}", {"clothing": "a black sou'wester"}, format="json")
    assert answer.status_code == 200 and answer.json()["clothing"] == "a black sou'wester"
    assert list(project.tasks.values_list("kind", "shot_id")) == [("image", shot.id)]
    too_old = api.patch(f"/api/v1/characters/{ada.id}", {"age": "x" * 41}, format="json")
    assert too_old.status_code == 400 and "age" in too_old.json()["error"]["fields"]
    one_line = api.patch(f"/api/v1/characters/{ada.id}", {"age": "sixty\nfive"}, format="json")
    assert one_line.status_code == 200 and one_line.json()["age"] == "sixty five"  # a one-line field


def test_the_looks_reach_the_image_model_with_the_shot(user: Any, tmp_path: Path) -> None:
    project = ProjectFactory(owner=user)
    ada = Character.objects.create(project=project, name="Ada", seed=7, **LOOKS)
    shot = ShotFactory(project=project, prompt="a woman climbs a spiral stair", shot_size="wide")
    shot.characters.add(ada)
    request = keyframe_request(shot, tmp_path / "k.png")
    assert request.characters == (("Ada", ada.looks),)
    framing, prompt, people, _ = prompt_parts(
        request.prompt, style=project.style, characters=list(request.characters), framing=request.framing
    )
    assert (framing, prompt) == ("wide shot", "a woman climbs a spiral stair")
    assert (
        people == "Ada: the lighthouse keeper, grey eyes, short red hair, in her sixties, wearing a yellow oilskin coat"
    )


def test_the_reference_pictures_reach_the_image_model_with_an_ip_adapter_of_the_tier(
    user: Any, tmp_path: Path, settings: Any
) -> None:
    """The shot's characters' reference pictures go with its request (those that have one), and
    the tier's IMAGE_IP_ADAPTER is what conditions them (the draft tier never has one)."""
    from core.engines import image_prompt
    from core.storage import local_path
    from inference.image import ImagePrompt

    project = ProjectFactory(owner=user)
    ada = Character.objects.create(project=project, name="Ada", seed=7, **LOOKS)
    bo = Character.objects.create(project=project, name="Bo", seed=8)
    ada.reference_image.save("ada.png", ContentFile(b"\x89PNG"), save=True)
    shot = ShotFactory(project=project, prompt="two keepers on the stair")
    shot.characters.add(ada, bo)
    request = keyframe_request(shot, tmp_path / "k.png")
    assert request.references == (local_path(ada.reference_image),) and request.references[0].is_file()
    assert keyframe_request(ShotFactory(project=project, order=1), tmp_path / "n.png").references == ()
    assert image_prompt("fast") is None  # none by default: sd-turbo has none that diffusers loads
    settings.IMAGE_IP_ADAPTER = "h94/IP-Adapter:models/ip-adapter_sd15.safetensors"
    settings.IMAGE_IP_ADAPTER_SCALE = 0.5
    assert image_prompt("fast") == ImagePrompt("h94/IP-Adapter", "models/ip-adapter_sd15.safetensors", 0.5)
    assert image_prompt("quality") is None and image_prompt("draft") is None
    for wrong in ("h94/IP-Adapter", "h94/IP-Adapter:models/readme.md", ":models/ip-adapter_sd15.safetensors"):
        with pytest.raises(ValueError, match=r"write it as MODEL:SUBFOLDER/FILE\.safetensors"):
            ImagePrompt.parse(wrong)


@pytest.mark.django_db(transaction=True)  # the task runs as a worker's job does, on its own connection
def test_a_rewrite_keeps_the_shots_characters_in_character(
    api: APIClient, user: Any, chat: ChatServer, settings: Any
) -> None:
    settings.STORYBOARD_MODEL = f"openai:{chat.url}#qwen2.5"
    assert in_character({}) == "" and in_character({"Bo": " "}) == ""
    job = RefineJob(ShotText("a stair", "She climbed."), "make it night", "en", personalities={"Ada": "gruff"})
    assert "Keep the characters in character (Ada: gruff)." in refine_messages(job)[0]["content"]

    project = ProjectFactory(owner=user)
    ada = Character.objects.create(project=project, name="Ada", seed=7, personality="gruff, kind to strays")
    Character.objects.create(project=project, name="Bo", seed=8, personality="shy")  # not in the shot
    shot = ShotFactory(project=project, prompt="a woman on a stair", narration="Ada climbed.")
    shot.characters.add(ada)
    chat.replies.append((200, json.dumps({"prompt": "a woman on a stair at night", "narration": ""})))
    assert (
        api.post(f"/api/v1/shots/{shot.id}/refine", {"instruction": "make it night"}, format="json").status_code == 202
    )
    task = shot.tasks.get(kind="refine")
    run_task(str(task.id))
    assert Task.objects.get(pk=task.pk).status == "finished"
    system = chat.requests[0]["body"]["messages"][0]["content"]
    assert "Keep the characters in character (Ada: gruff, kind to strays)." in system and "shy" not in system
