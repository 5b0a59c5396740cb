"""Issue 13, section 2: every stage of every shot keeps its earlier results, a person restores
one (a new version: nothing is lost) and only that shot of the film is redone; the oldest are
pruned, their files released only when nothing refers to them and no render is under way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from core.storage import store
from projects.models import Project
from shots.history import version_record
from shots.models import Shot, ShotVersion
from shots.stages import MOTION, SPEECH
from tasks.jobs import run_task
from tasks.models import Task
from tests.browser import shot_menu, sign_in
from tests.test_own_media import picture, recording, upload
from tests.workers import workers

pytestmark = pytest.mark.django_db


def run_all(project: Project) -> list[Task]:
    """Run the project's tasks in this process, as workers would, until none is left to run."""
    ran: list[Task] = []
    while task := project.tasks.filter(status="pending").order_by("created_at").first():
        run_task(str(task.id))
        task.refresh_from_db()
        ran.append(task)
    assert not project.tasks.filter(status__in=Task.UNFINISHED).exists()
    return ran


def versions(api: APIClient, shot: Shot, stage: str = "") -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/shots/{shot.id}/versions" + (f"?stage={stage}" if stage else ""))
    assert response.status_code == 200, response.content
    return list(response.json())


def restore(api: APIClient, shot: Shot, version: dict[str, Any]) -> Any:
    return api.post(f"/api/v1/shots/{shot.id}/versions/{version['id']}/restore")


def segments(project: Project) -> list[str]:
    project.refresh_from_db()
    return [segment["file"] for segment in project.render_manifest["segments"]]


def test_an_earlier_picture_comes_back_with_its_prompt_and_only_its_shot_is_redone(
    api: APIClient, rendered: Project
) -> None:
    shot = rendered.shots.get(order=0)
    first, film = shot.image_hash, segments(rendered)
    assert api.patch(f"/api/v1/shots/{shot.id}", {"prompt": "a red boat at night"}, format="json").status_code == 200
    run_all(rendered)
    edited = segments(rendered)
    assert edited[0] != film[0] and edited[1] == film[1]

    kept = versions(api, shot, "image")
    assert [(v["number"], v["current"], v["prompt"]) for v in kept] == [
        (2, True, "a red boat at night"),
        (1, False, "scene 0"),
    ]
    assert kept[1]["hash"] == first and kept[1]["url"] and kept[1]["source"] == "draft"

    response = restore(api, shot, kept[1])
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["prompt"], body["image"]["hash"], body["image"]["version"]) == ("scene 0", first, 3)
    assert not rendered.tasks.filter(kind="image", status__in=Task.UNFINISHED).exists(), "nothing is redrawn"
    compose, *clips = run_all(rendered)  # the film (then its shot's clip for an editor, if not stored)
    assert compose.kind == "compose" and compose.status == "finished", compose.message
    assert all((c.kind, c.status, c.result["clips"]) == ("clips", "finished", 1) for c in clips)
    assert compose.result["encodedSegments"] <= 1
    assert segments(rendered) == film, "the film is the first one again, shot for shot"

    kept = versions(api, shot, "image")
    expected = [(3, True, 1), (2, False, None), (1, False, None)]
    assert [(v["number"], v["current"], v["restoredFrom"]) for v in kept] == expected
    assert all(default_storage.exists(ShotVersion.objects.get(pk=v["id"]).file.name) for v in kept)
    # Restoring what is in use changes nothing (a second click, a retried request).
    assert restore(api, shot, kept[0]).status_code == 200
    assert len(versions(api, shot, "image")) == 3 and not rendered.tasks.filter(status="pending").exists()


def test_a_recording_restored_brings_back_its_narration_and_timing(
    api: APIClient, rendered: Project, tmp_path: Path
) -> None:
    shot = rendered.shots.get(order=1)
    spoken = (shot.narration, shot.speech_hash, shot.speech_duration)
    assert upload(api, shot, "speech", recording(tmp_path, 4.0)).status_code == 200
    assert api.patch(f"/api/v1/shots/{shot.id}", {"narration": "Pip stopped."}, format="json").status_code == 200
    [mine, generated] = versions(api, shot, "speech")
    assert (mine["own"], mine["current"], generated["own"]) == (True, True, False)
    assert generated["narration"] == spoken[0]

    assert restore(api, shot, generated).status_code == 200
    shot.refresh_from_db()
    assert (shot.narration, shot.speech_hash, shot.speech_duration) == spoken
    assert not shot.result(SPEECH).own
    # …and the person's recording is still there to go back to.
    assert restore(api, shot, versions(api, shot, "speech")[1]).status_code == 200
    shot.refresh_from_db()
    assert shot.result(SPEECH).own and shot.speech_duration == pytest.approx(4.0, abs=0.1)
    assert shot.narration == "Pip stopped."


def test_a_picture_brings_back_the_clip_made_from_it_and_a_clip_needs_its_picture(
    api: APIClient, rendered: Project, tmp_path: Path
) -> None:
    shot = rendered.shots.get(order=0)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"frames animated from the first picture")
    shot.motion_file.name, shot.motion_hash = store(clip, folder="shots/motion")
    shot.motion_source = "svd"
    shot.save()
    version_record(shot, MOTION)  # as a motion task's result is recorded
    assert upload(api, shot, "image", picture("PNG")).status_code == 200
    shot.refresh_from_db()
    assert not shot.motion_file, "the old clip went with the old picture"
    [clip_version] = versions(api, shot, "motion")
    refused = restore(api, shot, clip_version)
    assert refused.status_code == 409 and "Restore that picture" in refused.json()["error"]["message"]

    first = versions(api, shot, "image")[1]
    assert restore(api, shot, first).status_code == 200
    shot.refresh_from_db()
    assert (shot.image_hash, shot.motion_hash, shot.motion_source) == (first["hash"], clip_version["hash"], "svd")


def test_the_oldest_go_with_their_files_unless_still_used_and_never_while_rendering(
    api: APIClient, rendered: Project, settings: Any
) -> None:
    settings.SHOT_VERSIONS_KEPT = 2
    shot = rendered.shots.get(order=0)
    first = ShotVersion.objects.get(shot=shot, stage="image", number=1).file.name
    copy = Project.objects.get(pk=api.post(f"/api/v1/projects/{rendered.id}/duplicate").json()["id"])
    assert ShotVersion.objects.filter(shot__project=copy, file=first).exists(), "the copy keeps the history too"

    def redraw(prompt: str) -> None:
        assert api.patch(f"/api/v1/shots/{shot.id}", {"prompt": prompt}, format="json").status_code == 200
        run_all(rendered)

    redraw("a boat")
    redraw("a ship")
    assert list(shot.versions.filter(stage="image").values_list("number", flat=True)) == [3, 2]
    assert default_storage.exists(first), "the copy's shot still names the first picture"

    second = ShotVersion.objects.get(shot=shot, stage="image", number=2).file.name
    # A render under way may be reading any of them: nothing is pruned until it is over.
    compose = Task.objects.create(kind="compose", project=rendered, owner=rendered.owner, status="processing")
    assert api.patch(f"/api/v1/shots/{shot.id}", {"prompt": "a raft"}, format="json").status_code == 200
    image = rendered.tasks.get(kind="image", status="pending")
    run_task(str(image.id))
    assert shot.versions.filter(stage="image").count() == 3 and default_storage.exists(second)
    compose.delete()
    run_all(rendered)  # the edit's own render, which prunes when it is done
    assert list(shot.versions.filter(stage="image").values_list("number", flat=True)) == [4, 3]
    assert not default_storage.exists(second), "no row names it any more: released"


def test_deleting_a_shot_releases_its_history(api: APIClient, rendered: Project) -> None:
    shot = rendered.shots.get(order=0)
    assert api.patch(f"/api/v1/shots/{shot.id}", {"prompt": "a boat"}, format="json").status_code == 200
    run_all(rendered)
    names = list(ShotVersion.objects.filter(shot=shot).values_list("file", flat=True))
    assert len(names) == 3 and all(default_storage.exists(name) for name in names)
    assert api.delete(f"/api/v1/shots/{shot.id}").status_code == 204
    assert not any(default_storage.exists(name) for name in names)


def test_bad_requests_are_refused_and_change_nothing(api: APIClient, other_api: APIClient, rendered: Project) -> None:
    shot, other = rendered.shots.order_by("order")
    version = versions(api, shot, "image")[0]
    assert api.get(f"/api/v1/shots/{shot.id}/versions?stage=sound").status_code == 400
    assert api.get(f"/api/v1/shots/{shot.id}/versions?stages=image").status_code == 400
    assert other_api.get(f"/api/v1/shots/{shot.id}/versions").status_code == 404
    assert other_api.post(f"/api/v1/shots/{shot.id}/versions/{version['id']}/restore").status_code == 404
    wrong_shot = api.post(f"/api/v1/shots/{other.id}/versions/{version['id']}/restore")
    assert wrong_shot.status_code == 404 and "history" in wrong_shot.json()["error"]["message"]
    assert ShotVersion.objects.filter(shot__project=rendered).count() == 4


@pytest.mark.browser
@pytest.mark.worker
def test_the_editor_shows_a_shots_history_and_restores_a_picture(
    page: Any, server: str, rendered: Project, tmp_path: Path
) -> None:
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    card = page.locator(".shot").nth(0)
    card.locator(".keyframe").wait_for()
    first = card.locator(".keyframe").get_attribute("src").split("?")[0]  # the signature changes; the name not
    shot_menu(card).locator(".history summary").click()
    pictures = card.locator(".version img")
    pictures.first.wait_for()
    assert pictures.count() == 1 and card.locator(".version.current").count() == 2  # picture and narration
    with workers(tmp_path, "inference language", "media"):
        card.locator(".prompt").fill("a red boat at night")
        card.locator(".save").click()
        pictures.nth(1).wait_for(timeout=120_000)  # the new picture lands while the history is open: live
        old = card.locator(".version").filter(has=page.locator("img")).nth(1)
        assert "scene 0" in old.inner_text()
        with page.expect_response(lambda r: r.url.endswith("/restore")) as answer:
            old.get_by_role("button", name="Restore Picture 1").click()
        assert answer.value.status == 200
        page.wait_for_function(
            "([card, src]) => card.querySelector('.keyframe').getAttribute('src').split('?')[0] === src",
            arg=[card.element_handle(), first],
        )
        assert card.locator(".prompt").input_value() == "scene 0"
        pictures.nth(2).wait_for()
        assert "restored from 1" in card.locator(".version.current").first.inner_text()


def test_operators_see_a_shots_history_in_the_admin(admin_client: Any, rendered: Project) -> None:
    shot = rendered.shots.get(order=0)
    page = admin_client.get(f"/admin/shots/shot/{shot.id}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Shot versions" in text and shot.image_file.name in text and shot.speech_file.name in text
