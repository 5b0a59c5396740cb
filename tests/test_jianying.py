"""The JianYing (CapCut) draft export: a sample story made into a film by real workers, exported,
and read back through pyJianYingDraft: its tracks, segments, timing, text and media."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pyJianYingDraft as draft  # noqa: N813 - the library is named in camel case
import pytest
from rest_framework.test import APIClient

from inference.compose import FPS
from projects.models import Project
from tests.browser import ARTIFACTS
from tests.workers import wait_for, workers

pytestmark = pytest.mark.django_db
FRAME_US = 1_000_000 / FPS
ROOT = "C:\\Users\\mei\\AppData\\Local\\JianyingPro\\User Data\\Projects\\com.lveditor.draft"


def download(api: APIClient, project: Project, **query: str) -> bytes:
    answer = api.get(f"/api/v1/projects/{project.id}/exports/jianying", query)
    assert answer.status_code == 200, answer
    assert answer["Content-Type"] == "application/zip"
    return b"".join(answer.streaming_content)


@pytest.mark.worker
def test_a_sample_storys_film_opens_as_a_jianying_draft(
    api: APIClient, user: Any, stories_dir: str, tmp_path: Path
) -> None:
    story = (Path(stories_dir) / "moon-rabbit.zh.txt").read_text(encoding="utf-8")
    created = api.post("/api/v1/projects", {"story": story, "shotCount": 4, "resolution": "480p"}, format="json")
    assert created.status_code == 202, created.content
    project = Project.objects.get(pk=created.json()["project"]["id"])
    with workers(tmp_path, "inference language", "media"):
        wait_for(lambda: Project.objects.get(pk=project.pk).status == "rendered", timeout=240, what="the film")
        shots = list(project.shots.order_by("order"))
        # Steer it a little, so the draft carries a camera move, a pan and a transition.
        steering = zip(shots[:3], ("zoom_in", "pan_left", "static"), ("dissolve", "fade", "cut"), strict=True)
        for shot, camera, transition in steering:
            body = {"camera": camera, "transition": transition}
            assert api.patch(f"/api/v1/shots/{shot.id}", body, format="json").status_code == 200
        music = tmp_path / "music.mp3"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=4", str(music)], check=True
        )
        with open(music, "rb") as handle:
            assert (
                api.put(f"/api/v1/projects/{project.id}/music", {"file": handle}, format="multipart").status_code == 200
            )
        wait_for(
            lambda: (p := Project.objects.get(pk=project.pk)).status == "rendered" and p.music and p.render_hash,
            timeout=240,
            what="the film with its music",
        )
        wait_for(
            lambda: not project.tasks.filter(status__in=("pending", "processing", "blocked")).exists(), timeout=120
        )
    project.refresh_from_db()

    data = download(api, project, draftsFolder=ROOT)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "jianying-moon-rabbit.zip").write_bytes(data)  # the draft, kept for a person to open
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "drafts")
    name = project.title
    assert f"{name}/draft_content.json" in names and f"{name}/draft_meta_info.json" in names

    script = draft.DraftFolder(str(tmp_path / "drafts")).load_template(name)
    content = script.content
    assert (script.width, script.height, script.fps) == (854, 480, FPS)
    tracks = {track["name"]: track for track in content["tracks"]}
    assert [track["type"] for track in content["tracks"]] == ["video", "audio", "audio", "text"]
    film_us = project.render_duration * 1_000_000
    assert abs(script.duration - film_us) <= FRAME_US

    # The shots: one segment each, end to end, from the film's own frames.
    video = tracks["Shots"]["segments"]
    manifest = project.render_manifest["segments"]
    assert len(video) == len(shots) == len(manifest)
    for segment, placed in zip(video, manifest, strict=True):
        assert segment["target_timerange"]["start"] <= placed["start"] / FPS * 1_000_000 + FRAME_US
    ends = [s["target_timerange"]["start"] + s["target_timerange"]["duration"] for s in video]
    assert [s["target_timerange"]["start"] for s in video[1:]] == ends[:-1]
    assert abs(ends[-1] - film_us) <= FRAME_US

    # The camera moves as keyframes; the transitions as JianYing's.
    keyed = {kf["property_type"] for kf in video[0]["common_keyframes"]}
    assert keyed == {"KFTypeScaleX"}
    scales = [kf["values"][0] for kf in video[0]["common_keyframes"][0]["keyframe_list"]]
    assert scales[0] < scales[-1] and scales == sorted(scales)  # zooming in
    assert {kf["property_type"] for kf in video[1]["common_keyframes"]} == {"KFTypeScaleX", "KFTypePositionX"}
    assert video[2]["common_keyframes"] == []  # static
    transitions = {t["name"]: t for t in content["materials"]["transitions"]}
    assert set(transitions) == {"叠化", "闪黑"}
    assert transitions["叠化"]["id"] in video[0]["extra_material_refs"]

    # The narration, each line where the film speaks it; the music under the whole film.
    narration = tracks["Narration"]["segments"]
    assert len(narration) == sum(1 for s in shots if s.narration.strip())
    music_segments = tracks["Music"]["segments"]
    assert music_segments[0]["target_timerange"]["start"] == 0 and len(music_segments) >= 2  # 4 s looped
    music_end = sum(s["target_timerange"]["duration"] for s in music_segments)
    assert abs(music_end - film_us) <= FRAME_US

    # The subtitles as text, Chinese intact, one per cue of the film.
    texts = [json.loads(t["content"])["text"] for t in content["materials"]["texts"]]
    cues = project.render_manifest["cues"]
    assert len(tracks["Subtitles"]["segments"]) == len(cues)
    assert texts == [cue["text"] for cue in cues]
    assert any("兔" in text for text in texts)

    # The media: in the zip, named where JianYing will find them once the folder is unpacked.
    for material in content["materials"]["videos"] + content["materials"]["audios"]:
        assert material["path"].startswith(f"{ROOT}\\{name}\\materials\\")
        assert f"{name}/materials/{material['path'].rsplit(chr(92), 1)[-1]}" in names
    meta = json.loads((tmp_path / "drafts" / name / "draft_meta_info.json").read_text(encoding="utf-8"))
    assert meta["draft_name"] == name and meta["draft_root_path"] == ROOT
    imported = next(group["value"] for group in meta["draft_materials"] if group["type"] == 0)
    assert len(imported) == len(content["materials"]["videos"]) + len(content["materials"]["audios"])


def test_the_export_validates_its_folder_and_needs_a_film(api: APIClient, user: Any, rendered: Project) -> None:
    relative = api.get(f"/api/v1/projects/{rendered.id}/exports/jianying", {"draftsFolder": "drafts/here"})
    assert relative.status_code == 400 and "draftsFolder" in relative.json()["error"]["fields"]
    unknown = api.get(f"/api/v1/projects/{rendered.id}/exports/jianying", {"folder": "/x"})
    assert unknown.status_code == 400
    # Without a folder the media are named relative to the draft (JianYing asks to relink once).
    with zipfile.ZipFile(io.BytesIO(download(api, rendered))) as archive:
        content = json.loads(archive.read(f"{rendered.title}/draft_content.json"))
    assert all(m["path"].startswith("materials/") for m in content["materials"]["videos"])
    unrendered = Project.objects.create(owner=user, title="Not yet", story="A story.", language="en")
    refused = api.get(f"/api/v1/projects/{unrendered.id}/exports/jianying")
    assert refused.status_code == 409 and "render it first" in refused.json()["error"]["message"]
