"""What an edit or a regeneration supersedes, and how versions move: no stale media in a film,
no two tasks made for one version, no file left behind by work that was rolled back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from core.storage import store
from inference.image import draft_card
from projects.models import Project
from shots.models import Shot
from tasks.models import Task
from tests.factories import ProjectFactory, ShotFactory

pytestmark = pytest.mark.django_db


def _with_clip(shot: Shot, tmp_path: Path) -> Shot:
    """Give the shot a keyframe and a motion clip made from it (any stored file stands in)."""
    image = draft_card("a boat", width=64, height=36, style="storybook", seed=1, path=tmp_path / "k.png")
    shot.image_file.name, shot.image_hash = store(Path(image.path), folder="shots/image")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"a clip made from the old picture")
    shot.motion_file.name, shot.motion_hash = store(clip, folder="shots/motion")
    shot.save()
    return shot


@pytest.mark.parametrize("animate", [True, False])
def test_a_new_picture_supersedes_the_motion_clip_made_from_the_old_one(
    api: APIClient, user: Any, tmp_path: Path, animate: bool
) -> None:
    shot = _with_clip(ShotFactory(project__owner=user, project__animate=animate), tmp_path)
    response = api.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "image"}, format="json")
    assert response.status_code == 202, response.content
    after = Shot.objects.get(pk=shot.pk)
    assert (after.image_version, after.motion_version) == (2, 2)
    assert not after.motion_file, "the clip of the old picture never goes into the film"
    motion = Task.objects.filter(shot=shot, kind="motion", status__in=Task.UNFINISHED)
    if animate:
        [task] = motion
        assert task.params["version"] == 2 and task.status == "blocked"
        assert list(task.parents.values_list("kind", flat=True)) == ["image"]
    else:
        assert not motion.exists()


def test_every_path_that_supersedes_a_picture_supersedes_its_clip(api: APIClient, user: Any, tmp_path: Path) -> None:
    project = ProjectFactory(owner=user, animate=True)
    shot = _with_clip(ShotFactory(project=project), tmp_path)
    character = api.post(f"/api/v1/projects/{project.id}/characters", {"name": "Ada"}, format="json").json()
    assert api.patch(f"/api/v1/shots/{shot.id}", {"characterIds": [character["id"]]}, format="json").status_code == 200
    assert Shot.objects.get(pk=shot.pk).motion_version == 2
    assert api.patch(f"/api/v1/characters/{character['id']}", {"description": "tall"}, format="json").status_code == 200
    assert Shot.objects.get(pk=shot.pk).motion_version == 3
    assert api.patch(f"/api/v1/projects/{project.id}", {"style": "ink"}, format="json").status_code == 200
    assert Shot.objects.get(pk=shot.pk).motion_version == 4
    # A new clip alone leaves the picture as it is.
    assert api.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "motion"}, format="json").status_code == 202
    assert (Shot.objects.get(pk=shot.pk).image_version, Shot.objects.get(pk=shot.pk).motion_version) == (4, 5)


def test_a_stale_copy_of_a_shot_never_reuses_a_version(user: Any) -> None:
    """Versions are bumped in the database (F() + 1 under the project and shot locks), not from
    what a caller read earlier: two regenerations always make two versions."""
    from shots.services import shot_generate
    from shots.stages import SPEECH

    shot = ShotFactory(project__owner=user)
    stale = Shot.objects.get(pk=shot.pk)
    first = shot_generate(shot=Shot.objects.get(pk=shot.pk), stage=SPEECH)
    second = shot_generate(shot=stale, stage=SPEECH)
    assert (first.params["version"], second.params["version"]) == (2, 3)
    assert Shot.objects.get(pk=shot.pk).speech_version == 3
    first.refresh_from_db()
    assert first.status == "cancelled"


def test_a_project_can_be_created_to_animate(api: APIClient) -> None:
    response = api.post("/api/v1/projects", {"story": "A cat. A lamp. The sea.", "animate": True}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["project"]["animate"] is True
    assert Project.objects.get(pk=response.json()["project"]["id"]).animate


def test_the_negative_prompt_is_part_of_the_keyframe_request(user: Any) -> None:
    from inference.image import keyframe_prompt

    positive, negative = keyframe_prompt("a cat", style="storybook", characters=[], negative="dogs, rain")
    assert "dogs, rain" in negative and "dogs" not in positive
    assert keyframe_prompt("a cat", style="storybook", characters=[])[1] in negative


def test_a_failed_stage_is_named_in_the_project_status_message(user: Any) -> None:
    from projects.pipeline import project_status_refresh

    project = ProjectFactory(owner=user)
    shot = ShotFactory(project=project, order=2)
    Task.objects.create(kind="speech", project=project, shot=shot, status="failed", message="espeak-ng crashed")
    project_status_refresh(project_id=project.id)
    project.refresh_from_db()
    assert project.status == "ready"
    assert "Shot 3" in project.status_message and "espeak-ng crashed" in project.status_message
    Task.objects.create(kind="image", project=project, shot=shot, status="pending")
    project_status_refresh(project_id=project.id)
    project.refresh_from_db()
    assert project.status == "generating" and "1" in project.status_message


def _stored() -> set[str]:
    names: set[str] = set()
    folders = [""]
    while folders:
        folder = folders.pop()
        subfolders, files = default_storage.listdir(folder) if default_storage.exists(folder or ".") else ([], [])
        names |= {f"{folder}/{name}".lstrip("/") for name in files}
        folders += [f"{folder}/{name}".lstrip("/") for name in subfolders]
    return names


def test_a_rejected_bundle_leaves_no_file_behind(api: APIClient, tmp_path: Path) -> None:
    import io
    import json
    import uuid
    import zipfile

    # A picture no earlier run has stored (stored files are named by their content).
    image = draft_card(uuid.uuid4().hex, width=80, height=45, style="ink", seed=99, path=tmp_path / "k.png")
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr(
            "project.json",
            json.dumps(
                {
                    "format": "storyvideo-bundle",
                    "version": 1,
                    "project": {"story": "A cat."},
                    "shots": [
                        {"prompt": "one", "image": "keyframes/shot-01.png"},
                        {"prompt": "two", "speech": "audio/shot-02.wav"},
                    ],
                }
            ),
        )
        archive.write(image.path, "keyframes/shot-01.png")
        archive.writestr("audio/shot-02.wav", b"RIFF but not a wave file at all")
    bundle.seek(0)
    before = _stored()
    response = api.post("/api/v1/projects/import", {"bundle": bundle}, format="multipart")
    assert response.status_code == 400, response.content
    assert _stored() == before


def test_edits_made_close_together_are_recomposed_once(api: APIClient, rendered: Project, settings: Any) -> None:
    """Ten edits of a rendered film in a row make one render, which waits COMPOSE_SETTLE_S after
    the last of them; a render already queued lets its job go and takes the next edit in."""
    from django.utils import timezone

    from tasks.jobs import run_task

    settings.COMPOSE_SETTLE_S = 30.0
    shot = rendered.shots.get(order=0)
    cameras = ["zoom_in", "pan_left", "zoom_out", "pan_right", "static"]
    for edit in range(10):
        answer = api.patch(f"/api/v1/shots/{shot.id}", {"camera": cameras[edit % 5]}, format="json")
        assert answer.status_code == 200, answer.content
    renders = rendered.tasks.filter(kind="compose").exclude(status="finished")
    assert renders.count() == 1, list(renders.values_list("status", "message"))
    waiting = renders.get()
    assert waiting.status == "pending" and waiting.job_id == ""
    assert waiting.run_after is not None and 25 < (waiting.run_after - timezone.now()).total_seconds() <= 30

    # Its time came and its job was queued; a new edit before it starts lets that job go.
    Task.objects.filter(pk=waiting.pk).update(run_after=None, job_id=f"{waiting.id}.queued")
    answer = api.patch(f"/api/v1/shots/{shot.id}", {"transition": "fade"}, format="json")
    assert answer.status_code == 200, answer.content
    waiting.refresh_from_db()
    assert waiting.job_id == "" and waiting.run_after is not None and waiting.run_after > timezone.now()
    assert run_task(str(waiting.id)) == "skipped"  # the job let go finds nothing it may run yet
    assert rendered.tasks.filter(kind="compose").exclude(status="finished").count() == 1
