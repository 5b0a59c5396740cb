"""The language of shots (issue 29): each shot has a shot size and a camera angle, chosen by the
storyboard (the draft's in a varied, plausible sequence), written into the picture prompt in the
image model's words, editable (in Chinese film terms too); a change redoes the picture only. A shot
can be approved: that redoes nothing, the list filters by it, the editor counts and hides them."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from inference.constrained import storyboard_schema
from inference.image import keyframe_prompt
from inference.storyboard import draft_storyboard, parse_storyboard
from inference.styles import CAMERA_ANGLES, SHOT_SIZES, framing_words, planned_framing
from inference.types import ShotPlan
from projects.models import Project
from shots.models import Shot
from tasks.models import Task
from tests.browser import shot_menu, sign_in
from tests.factories import LINES, ProjectFactory, ShotFactory, UserFactory, shot_with_media


def test_the_draft_storyboard_frames_its_shots_in_a_varied_plausible_sequence(stories_dir: str) -> None:
    story = (Path(stories_dir) / "lighthouse.en.txt").read_text(encoding="utf-8")
    board = draft_storyboard(story, shot_count=6)
    sizes = [shot.shot_size for shot in board.shots]
    angles = [shot.camera_angle for shot in board.shots]
    assert len(sizes) == 6 and sizes[0] == "wide", "it opens on an establishing shot"
    assert set(sizes) <= set(SHOT_SIZES) and len(set(sizes)) >= 4
    assert all(a != b for a, b in itertools.pairwise(sizes)), "no two neighbours framed alike"
    assert set(angles) <= set(CAMERA_ANGLES) and angles.count("eye_level") > len(angles) / 2 and len(set(angles)) > 1


def test_a_models_framing_is_read_within_the_schema_and_what_it_leaves_out_is_planned() -> None:
    shots = [
        {"prompt": "a lighthouse on a cliff at dusk", "narration": "One.", "shotSize": "特写", "cameraAngle": "low"},
        {"prompt": "a keeper climbing spiral stairs", "narration": "Two.", "shotSize": "enormous"},
    ]
    board = parse_storyboard(json.dumps({"shots": shots}), story="", shot_count=2, backend="openai", model="m")
    assert [(s.shot_size, s.camera_angle) for s in board.shots] == [("close_up", "low"), planned_framing(1)]
    # A rewrite keeps a shot's own framing where the answer says nothing of it.
    answer = json.dumps({"shots": shots[1:]})
    rewrite = parse_storyboard(answer, story="", shot_count=1, backend="openai", model="m", cast=[])
    assert (rewrite.shots[0].shot_size, rewrite.shots[0].camera_angle) == ("", "")
    schema = storyboard_schema(shot_count=2, max_shots=60, max_characters=10, text_limit=500, sentences=2)
    item = schema["properties"]["shots"]["items"]["properties"]
    assert item["shotSize"] == {"enum": list(SHOT_SIZES)} and item["cameraAngle"] == {"enum": list(CAMERA_ANGLES)}


def test_the_framing_comes_first_in_the_picture_prompt_in_the_image_models_words() -> None:
    positive, _ = keyframe_prompt(
        "a cat on a roof", style="storybook", characters=[], framing=framing_words("close_up", "high")
    )
    assert positive.startswith("close-up shot, high-angle shot, a cat on a roof, ")
    assert framing_words("", "") == "" and keyframe_prompt("a cat", style="storybook", characters=[])[0].startswith(
        "a cat, "
    )


@pytest.mark.django_db
def test_a_framing_said_in_chinese_film_terms_redoes_the_picture_only_and_a_wrong_one_changes_nothing(
    api: APIClient, user: Any
) -> None:
    shot = ShotFactory(project__owner=user)
    before = Shot.objects.get(pk=shot.pk)
    response = api.patch(f"/api/v1/shots/{shot.id}", {"shotSize": "特写", "cameraAngle": "俯拍"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["shotSize"], response.json()["cameraAngle"]) == ("close_up", "high")
    after = Shot.objects.get(pk=shot.pk)
    assert (after.image_version, after.speech_version) == (before.image_version + 1, before.speech_version)
    assert set(Task.objects.filter(shot=shot, status__in=Task.UNFINISHED).values_list("kind", flat=True)) == {"image"}

    refused = api.patch(f"/api/v1/shots/{shot.id}", {"shotSize": "enormous", "prompt": "a new prompt"}, format="json")
    assert refused.status_code == 400
    assert "enormous" in json.dumps(refused.json()), refused.content
    unchanged = Shot.objects.get(pk=shot.pk)
    assert (unchanged.shot_size, unchanged.prompt, unchanged.image_version) == ("close_up", after.prompt, 2)

    cleared = api.patch(f"/api/v1/shots/{shot.id}", {"shotSize": "", "cameraAngle": "bird's-eye view"}, format="json")
    assert (cleared.json()["shotSize"], cleared.json()["cameraAngle"]) == ("", "overhead")


@pytest.mark.django_db
def test_a_rewrite_keeps_a_shots_framing_unless_it_changes_it(user: Any) -> None:
    from projects.storyboards import storyboard_replace

    project = ProjectFactory(owner=user)
    shot = ShotFactory(project=project, shot_size="close_up", camera_angle="low")
    same = ShotPlan(prompt=shot.prompt, narration=shot.narration, camera=shot.camera, transition=shot.transition)
    storyboard_replace(project=project, plans=[(shot.id, same)])
    shot.refresh_from_db()
    assert (shot.shot_size, shot.camera_angle, shot.image_version) == ("close_up", "low", 1)
    same.shot_size = "wide"
    storyboard_replace(project=project, plans=[(shot.id, same)])
    shot.refresh_from_db()
    assert (shot.shot_size, shot.camera_angle, shot.image_version) == ("wide", "low", 2)


def test_approving_a_shot_redoes_nothing_and_the_list_filters_by_it(api: APIClient, rendered: Project) -> None:
    first, second = rendered.shots.order_by("order")
    tasks = Task.objects.count()
    response = api.patch(f"/api/v1/shots/{second.id}", {"approved": True}, format="json")
    assert response.status_code == 200 and response.json()["approved"] is True
    assert Task.objects.count() == tasks, "neither a picture, a voice nor the film is made again"

    def ids(query: str) -> list[str]:
        listed = api.get(f"/api/v1/projects/{rendered.id}/shots{query}")
        assert listed.status_code == 200, listed.content
        return [shot["id"] for shot in listed.json()]

    assert ids("?approved=true") == [str(second.id)]
    assert ids("?approved=false") == [str(first.id)]
    assert ids("") == [str(first.id), str(second.id)]
    assert api.get(f"/api/v1/projects/{rendered.id}/shots?approved=maybe").status_code == 400


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_editor_frames_approves_counts_and_hides_shots_in_both_languages(
    server: str, browser: Any, tmp_path: Path
) -> None:
    user = UserFactory()
    project = ProjectFactory(owner=user, title="月兔", language="zh")
    for order, line in enumerate(LINES):
        shot_with_media(project, order, line, tmp_path)

    def editor(locale: str) -> Any:
        page = browser.new_context(locale=locale).new_page()
        sign_in(page, server, user.username)
        page.goto(f"{server}/projects/{project.id}/")
        page.wait_for_selector(".shot:nth-child(2)")
        return page

    page = editor("zh-CN")
    assert page.inner_text("#approved-count") == "2 个镜头中已通过 0 个"
    first = shot_menu(page.locator(".shot").nth(0))
    sizes = first.locator(".shot-size option").all_inner_texts()
    assert sizes == ["未设定", "特写", "近景", "中景", "全景", "远景"]
    first.locator(".shot-size").select_option("close_up")
    first.locator(".camera-angle").select_option("high")
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.status == 200):
        first.locator(".save").click()
    shot = Shot.objects.get(project=project, order=0)
    assert (shot.shot_size, shot.camera_angle) == ("close_up", "high")
    assert set(shot.tasks.filter(status__in=Task.UNFINISHED).values_list("kind", flat=True)) == {"image"}

    with page.expect_response(lambda r: r.request.method == "PATCH" and r.status == 200):
        first.locator(".approve").check()
    page.wait_for_function("() => document.getElementById('approved-count').textContent === '2 个镜头中已通过 1 个'")
    page.check("#hide-approved")
    page.wait_for_function("() => document.querySelector('.shot:nth-child(1)').hidden")
    assert page.locator(".shot:nth-child(2)").is_visible()
    assert Shot.objects.get(pk=shot.pk).approved
    page.context.close()

    page = editor("en-US")
    assert page.inner_text("#approved-count") == "1 of 2 shots approved"
    first = shot_menu(page.locator(".shot").nth(0))
    assert first.locator(".shot-size option:checked").inner_text() == "close-up"
    assert first.locator(".camera-angle option:checked").inner_text() == "high angle"
    page.context.close()
