"""The render task, its safety, and the downloads: exports, bundles, music."""

from __future__ import annotations

import io
import json
import subprocess
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from core.storage import local_path
from projects.models import Character, Project
from projects.serializers import CharacterCreateSerializer, ProjectUpdateSerializer
from tasks.models import Task
from tests.factories import LINES, ProjectFactory, frames_in, render, shot_with_media

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("broken", ["zero-byte keyframe", "truncated narration"])
def test_a_broken_input_fails_the_render_clearly_and_keeps_the_previous_film(rendered: Project, broken: str) -> None:
    film = rendered.render_video.name
    film_bytes = Path(rendered.render_video.path).read_bytes()
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    if broken == "zero-byte keyframe":
        Path(shot.image_file.path).write_bytes(b"")
        expected = "Shot 1: its keyframe is missing or empty; regenerate it."
    else:
        wav = Path(shot.speech_file.path)
        wav.write_bytes(wav.read_bytes()[:30])
        expected = "Shot 1:"
    task = render(rendered)
    assert task.status == "failed"
    assert task.message.startswith(expected) and "regenerate" in task.message.lower()
    assert task.attempt == 1, "a broken input is a permanent error: no retries"
    rendered.refresh_from_db()
    assert rendered.render_video.name == film
    assert Path(rendered.render_video.path).read_bytes() == film_bytes
    leftovers = [p for p in Path(local_path(rendered.render_video)).parent.parent.rglob(".*") if p.is_file()]
    assert not leftovers


def test_every_download_answers_with_its_content_type(api: APIClient, other_api: APIClient, rendered: Project) -> None:
    expected = {
        "video": "video/mp4",
        "poster": "image/jpeg",
        "srt": "application/x-subrip",
        "vtt": "text/vtt",
        "otio": "application/json",
        "fcpxml": "application/xml",
        "edl": "text/plain",
        "bundle": "application/zip",
    }
    for fmt, content_type in expected.items():
        response = api.get(f"/api/v1/projects/{rendered.id}/exports/{fmt}")
        assert response.status_code == 200, (fmt, response.status_code)
        assert response["Content-Type"].startswith(content_type)
        assert 'filename="the-keepers-cat.' in response["Content-Disposition"]
        assert b"".join(response.streaming_content)
        assert other_api.get(f"/api/v1/projects/{rendered.id}/exports/{fmt}").status_code == 404
    assert api.get(f"/api/v1/projects/{rendered.id}/exports/gif").status_code == 404
    edl = b"".join(api.get(f"/api/v1/projects/{rendered.id}/exports/edl").streaming_content).decode()
    assert "Shot 1" in edl and "Shot 2" in edl


def test_downloads_before_a_render_say_to_render_first(api: APIClient, user: Any) -> None:
    project = ProjectFactory(owner=user)
    response = api.get(f"/api/v1/projects/{project.id}/exports/video")
    assert response.status_code == 409
    assert "render it first" in response.json()["error"]["message"]


def test_a_bundle_round_trips_into_a_new_project(api: APIClient, rendered: Project) -> None:
    response = api.get(f"/api/v1/projects/{rendered.id}/exports/bundle")
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
    assert {
        "project.json",
        "film.mp4",
        "film.srt",
        "film.vtt",
        "poster.jpg",
        "timeline.otio",
        "keyframes/shot-01.png",
        "audio/shot-02.wav",
        "segments/shot-01.mp4",
    } <= names
    imported = api.post("/api/v1/projects/import", {"bundle": io.BytesIO(data)}, format="multipart")
    assert imported.status_code == 201, imported.content
    copy = Project.objects.get(pk=imported.json()["id"])
    assert copy.id != rendered.id and copy.owner_id == rendered.owner_id
    assert (copy.title, copy.story, copy.style) == (rendered.title, rendered.story, rendered.style)
    pairs = zip(copy.shots.order_by("order"), rendered.shots.order_by("order"), strict=True)
    for new, old in pairs:
        assert (new.prompt, new.narration, new.camera, new.transition) == (
            old.prompt,
            old.narration,
            old.camera,
            old.transition,
        )
        assert (new.image_hash, new.speech_hash) == (old.image_hash, old.speech_hash)
    assert copy.render_hash == rendered.render_hash and copy.status == "rendered"


def test_a_bad_bundle_is_refused_and_changes_nothing(api: APIClient) -> None:
    before = Project.objects.count()
    assert (
        api.post("/api/v1/projects/import", {"bundle": io.BytesIO(b"not a zip")}, format="multipart").status_code == 400
    )
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as archive:
        archive.writestr(
            "project.json",
            '{"format": "storyvideo-bundle", "version": 1, "project": {"story": "x"},'
            '"shots": [{"prompt": "p", "image": "../../etc/passwd"}]}',
        )
    forged.seek(0)
    response = api.post("/api/v1/projects/import", {"bundle": forged}, format="multipart")
    assert response.status_code == 400 and "bundle" in response.json()["error"]["fields"]
    assert Project.objects.count() == before


def test_music_upload_is_checked_stored_by_hash_and_recomposes(
    api: APIClient, rendered: Project, tmp_path: Path
) -> None:
    bad = api.put(f"/api/v1/projects/{rendered.id}/music", {"file": io.BytesIO(b"hello")}, format="multipart")
    assert bad.status_code == 400 and "file" in bad.json()["error"]["fields"]
    music = tmp_path / "my song.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=3", str(music)], check=True
    )
    with open(music, "rb") as handle:
        response = api.put(f"/api/v1/projects/{rendered.id}/music", {"file": handle}, format="multipart")
    assert response.status_code == 200, response.content
    rendered.refresh_from_db()
    assert rendered.music.name.startswith("music/") and "my song" not in rendered.music.name
    compose = rendered.tasks.filter(kind="compose").order_by("-created_at").first()
    assert compose is not None and compose.status == "pending"


def test_deleting_a_project_keeps_the_files_another_project_shares(api: APIClient, rendered: Project) -> None:
    """Media are stored under their content hash, so an imported copy shares the original's
    files: deleting the original must leave the copy whole."""
    data = b"".join(api.get(f"/api/v1/projects/{rendered.id}/exports/bundle").streaming_content)
    copy = Project.objects.get(
        pk=api.post("/api/v1/projects/import", {"bundle": io.BytesIO(data)}, format="multipart").json()["id"]
    )
    assert copy.render_video.name == rendered.render_video.name
    assert api.delete(f"/api/v1/projects/{rendered.id}").status_code == 204
    copy.refresh_from_db()
    assert Path(copy.render_video.path).is_file()
    assert all(
        Path(shot.image_file.path).is_file() and Path(shot.speech_file.path).is_file() for shot in copy.shots.all()
    )
    assert api.delete(f"/api/v1/projects/{copy.id}").status_code == 204
    assert not Path(copy.render_video.path).exists(), "the last user of a file removes it"


@pytest.mark.django_db(transaction=True)  # its work runs as a worker's does, on a connection of its own
def test_a_render_superseded_while_it_ran_leaves_no_file_behind(
    user: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    from projects.kinds import ComposeWork
    from tasks.registry import KINDS
    from tasks.services import task_cancel
    from tests.test_edits import _stored

    project = ProjectFactory(owner=user, resolution="480p")
    shot_with_media(project, 0, LINES[0], tmp_path)
    shot_with_media(project, 1, f"A line never rendered before, {uuid.uuid4().hex[:6]}.", tmp_path)

    class RunThenSupersede(ComposeWork):
        def run(self, task: Task, progress: Any) -> Any:
            output = super().run(task, progress)
            task_cancel(task=task, reason="Superseded by a newer render.")  # an edit queued a newer one meanwhile
            return output

    monkeypatch.setitem(KINDS, "compose", RunThenSupersede())
    before = _stored()
    task = render(project)
    assert task.status == "cancelled" and "newer render" in task.message
    project.refresh_from_db()
    assert not project.render_video
    # Only the per-shot segment cache (named by what shaped each segment, reused by the next
    # render) may have grown; the film, poster, subtitles and timeline were not kept.
    assert {name for name in _stored() - before if not name.startswith("renders/segments/")} == set()


def test_every_setting_a_client_may_write_survives_a_bundle_round_trip(api: APIClient, rendered: Project) -> None:
    """The bundle names fields as the API does (one serializer), so a new field cannot be left out."""
    changed = {
        "title": "Moon",
        "description": "For the class.",
        "style": "ink",
        "aspectRatio": "9:16",
        "resolution": "480p",
        "shotCount": 3,
        "voice": "espeak:en-us",
        "autoRender": False,
        "animate": True,
        "tier": "quality",
        "burnSubtitles": False,
        "subtitleSpeakers": True,
        "bilingualSubtitles": True,
        "musicVolumeDb": -6.0,
    }
    assert set(changed) | {"story"} == set(ProjectUpdateSerializer().fields)
    assert api.patch(f"/api/v1/projects/{rendered.id}", changed, format="json").status_code == 200
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    shot_changes = {
        "negativePrompt": "blurry",
        "camera": "pan_left",
        "transition": "cut",
        "pinnedDuration": 2.5,
        "motionPrompt": "waves break",
    }
    assert api.patch(f"/api/v1/shots/{shot.id}", shot_changes, format="json").status_code == 200
    cast = f"/api/v1/projects/{rendered.id}/characters"
    looks = {
        "description": "the keeper",
        "appearance": "grey eyes, short red hair",
        "clothing": "a yellow oilskin coat",
        "age": "in her sixties",
        "personality": "gruff, kind to strays",
    }
    assert set(looks) | {"name", "seed", "voice"} == set(CharacterCreateSerializer().fields)
    ada = api.post(cast, {"name": "Ada", "voice": "espeak:en-gb", **looks}, format="json")
    assert ada.status_code == 201, ada.content
    assert api.patch(f"/api/v1/shots/{shot.id}", {"speakerId": ada.json()["id"]}, format="json").status_code == 200
    face = io.BytesIO()
    Image.new("RGB", (200, 300), "#aa3322").save(face, format="PNG")
    face.seek(0)
    face.name = "ada.png"
    reference = f"/api/v1/characters/{ada.json()['id']}/reference"
    assert api.post(reference, {"file": face}, format="multipart").status_code == 200
    data = b"".join(api.get(f"/api/v1/projects/{rendered.id}/exports/bundle").streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        body = json.loads(archive.read("project.json"))
    assert body["project"]["animate"] is True and body["project"]["aspectRatio"] == "9:16"
    imported = api.post("/api/v1/projects/import", {"bundle": io.BytesIO(data)}, format="multipart")
    assert imported.status_code == 201, imported.content
    again = api.get(f"/api/v1/projects/{imported.json()['id']}").json()
    assert {key: again[key] for key in changed} == changed
    first = api.get(f"/api/v1/projects/{imported.json()['id']}/shots").json()[0]
    assert {key: first[key] for key in shot_changes} == shot_changes
    [cast] = api.get(f"/api/v1/projects/{imported.json()['id']}/characters").json()
    assert (cast["name"], cast["voice"], first["speakerId"]) == ("Ada", "espeak:en-gb", cast["id"])
    assert {key: cast[key] for key in looks} == looks
    # Her reference picture goes with her (its likeness is measured again in the new project).
    imported_ada = Character.objects.get(pk=cast["id"])
    assert imported_ada.reference_image.name.startswith("characters/reference/") and cast["likeness"] == {}
    original = Character.objects.get(pk=ada.json()["id"]).reference_image
    assert local_path(imported_ada.reference_image).read_bytes() == local_path(original).read_bytes()


def test_a_chinese_title_names_the_download_in_chinese(api: APIClient, rendered: Project) -> None:
    import re
    from urllib.parse import unquote

    Project.objects.filter(pk=rendered.pk).update(title="月兔/守夜人")
    header = api.get(f"/api/v1/projects/{rendered.id}/exports/srt")["Content-Disposition"]
    extended = re.search(r"filename\*=UTF-8''([^;\s]+)", header)  # RFC 6266 / 5987
    assert extended and unquote(extended.group(1)) == "月兔 守夜人.srt", header
    assert header.startswith('attachment; filename="storyvideo-film.srt";'), "and an ASCII name for old clients"


def test_a_timeline_on_its_own_links_to_media_a_person_can_fetch(api: APIClient, rendered: Project) -> None:
    import opentimelineio as otio

    body = b"".join(api.get(f"/api/v1/projects/{rendered.id}/exports/otio").streaming_content).decode()
    timeline = otio.adapters.read_from_string(body, adapter_name="otio_json")
    targets = [c.media_reference.target_url for c in timeline.find_clips() if hasattr(c.media_reference, "target_url")]
    segments = [t for t in targets if "/media/renders/segments/" in t]
    assert len(segments) == 2 and len([t for t in targets if "/media/shots/speech/" in t]) == 2
    assert all(t.startswith("http://testserver/media/") for t in targets), targets
    for target in targets:  # each fetches, as the signed URL it is
        fetched = api.get(target.removeprefix("http://testserver"))
        assert fetched.status_code == 200 and b"".join(fetched.streaming_content)
    assert "bundle" in timeline.metadata["storyvideo"]["media"]

    for fmt in ("fcpxml", "edl"):
        text = b"".join(api.get(f"/api/v1/projects/{rendered.id}/exports/{fmt}").streaming_content).decode()
        assert "http://testserver/media/renders/segments/" in text, fmt

    # In the bundle the timeline points at the files beside it.
    import io
    import zipfile

    bundle = zipfile.ZipFile(
        io.BytesIO(b"".join(api.get(f"/api/v1/projects/{rendered.id}/exports/bundle").streaming_content))
    )
    name = next(n for n in bundle.namelist() if n.endswith(".otio"))
    inside = otio.adapters.read_from_string(bundle.read(name).decode(), adapter_name="otio_json")
    assert inside.find_clips()[0].media_reference.target_url == "segments/shot-01.mp4"


def test_segments_go_with_the_render_that_no_longer_names_them_and_with_their_last_project(
    api: APIClient, rendered: Project
) -> None:
    from django.core.files.storage import default_storage

    def segments(project: Project) -> list[str]:
        project.refresh_from_db()
        return [item["file"] for item in project.render_manifest["segments"]]

    first = segments(rendered)
    assert len(first) == 2 and all(default_storage.exists(name) for name in first)
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    shot.camera = "pan_left" if shot.camera != "pan_left" else "pan_right"  # the first shot's segment only
    shot.save()
    assert render(rendered).status == "finished"
    second = segments(rendered)
    [gone] = set(first) - set(second)
    assert not default_storage.exists(gone), "the segment no render names any more is released"
    assert all(default_storage.exists(name) for name in second)

    copy = api.post(f"/api/v1/projects/{rendered.id}/duplicate").json()
    assert api.delete(f"/api/v1/projects/{rendered.id}").status_code == 204
    assert all(default_storage.exists(name) for name in second), "the copy's film still names them"
    assert api.delete(f"/api/v1/projects/{copy['id']}").status_code == 204
    assert not any(default_storage.exists(name) for name in second)


def test_the_film_is_ready_before_its_clips_for_an_editor_and_their_exports_wait_for_them(
    api: APIClient, rendered: Project
) -> None:
    """A render delivers its film and then queues its clips; the exports that hand an editor the
    clips say to try again in a moment until they are made, and then carry them, whole."""
    from django.core.files.storage import default_storage

    from tasks.jobs import run_task

    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    shot.narration = f"The keeper counted {uuid.uuid4().hex[:8]} stairs."  # a new segment, never stored before
    shot.save()
    task = Task.objects.create(kind="compose", project=rendered)
    run_task(str(task.id))
    rendered.refresh_from_db()
    assert Task.objects.get(pk=task.pk).status == "finished"
    names = [item["file"] for item in rendered.render_manifest["segments"]]
    missing = [name for name in names if not default_storage.exists(name)]
    assert len(missing) == 1 and Path(rendered.render_video.path).is_file()  # the film, before the clip
    [clips] = rendered.tasks.filter(kind="clips", status="pending")
    for fmt in ("otio", "fcpxml", "edl", "bundle"):
        response = api.get(f"/api/v1/projects/{rendered.id}/exports/{fmt}")
        assert response.status_code == 409, fmt
        assert "clips for an editor are still being made" in response.json()["error"]["message"]
    assert rendered.tasks.filter(kind="clips", status__in=Task.UNFINISHED).count() == 1  # asked four times, queued once
    page = Client()
    page.force_login(rendered.owner)
    preview = page.get(f"/projects/{rendered.id}/preview/").content.decode()
    assert preview.count("(being made)") == 4 and "/exports/otio" not in preview and "/exports/video" in preview

    run_task(str(clips.id))
    clips.refresh_from_db()
    assert (clips.status, clips.result) == ("finished", {"clips": 1, "stale": 0}), clips.message
    assert all(default_storage.exists(name) for name in names)
    first = rendered.render_manifest["segments"][0]
    clip = Path(default_storage.path(missing[0]))
    assert frames_in(clip) == first["head"] + first["core"] + first["tail"]  # its core and its handles
    assert api.get(f"/api/v1/projects/{rendered.id}/exports/otio").status_code == 200
    assert api.get(f"/api/v1/projects/{rendered.id}/exports/bundle").status_code == 200
    preview = page.get(f"/projects/{rendered.id}/preview/").content.decode()
    assert "(being made)" not in preview and "/exports/otio" in preview


def test_clips_a_render_can_no_longer_make_say_to_render_again(api: APIClient, rendered: Project) -> None:
    from django.core.files.storage import default_storage

    from tasks.jobs import run_task

    for item in rendered.render_manifest["segments"]:  # the clips not made yet
        default_storage.delete(item["file"])
    rendered.render_manifest["clipsReady"] = False
    rendered.save()
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    shot.narration = f"The keeper counted {uuid.uuid4().hex[:8]} stairs."  # edited since, not rendered
    shot.save()
    asked = api.get(f"/api/v1/projects/{rendered.id}/exports/otio")
    assert asked.status_code == 409 and "still being made" in asked.json()["error"]["message"]
    [clips] = rendered.tasks.filter(kind="clips", status="pending")
    run_task(str(clips.id))
    clips.refresh_from_db()
    assert clips.result == {"clips": 1, "stale": 1}, clips.message  # the unchanged shot's clip is made
    assert "render again" in clips.message
    refused = api.get(f"/api/v1/projects/{rendered.id}/exports/bundle")
    assert refused.status_code == 409 and "render again" in refused.json()["error"]["message"]
    assert not rendered.tasks.filter(kind="clips", status__in=Task.UNFINISHED).exists()  # nothing queued in vain
