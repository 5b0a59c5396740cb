"""Every stored picture has a thumbnail: a WebP at most 320 px wide, stored beside it under a
name made of its own, signed like it, released with it, made on demand where it is missing on
local disk and by ``manage.py thumbnails`` anywhere."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from core.storage import store, thumbnail_name
from projects.models import Project
from tests.factories import LINES, ProjectFactory, shot_with_media

pytestmark = pytest.mark.django_db


def served_picture(client: Any, url: str) -> Image.Image:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    return Image.open(io.BytesIO(b"".join(answer.streaming_content)))


def test_a_stored_picture_has_a_small_webp_beside_it_and_other_files_none(tmp_path: Path) -> None:
    wide, small, sound = tmp_path / "wide.png", tmp_path / "small.jpg", tmp_path / "line.wav"
    Image.new("RGB", (1280, 720), (200, 40, 40)).save(wide)
    Image.new("RGB", (200, 300), (40, 200, 40)).save(small)
    sound.write_bytes(b"RIFF")
    for path, size in ((wide, (320, 180)), (small, (200, 300))):  # never enlarged
        name, _ = store(path, folder="shots/image")
        assert thumbnail_name(name) == f"thumbs/{name}.webp"
        with default_storage.open(thumbnail_name(name), "rb") as handle:
            thumbnail = Image.open(io.BytesIO(handle.read()))
        assert (thumbnail.format, thumbnail.size) == ("WEBP", size)
    name, _ = store(sound, folder="shots/speech")
    assert thumbnail_name(name) == "" and not default_storage.exists(f"thumbs/{name}.webp")


def test_the_api_gives_each_picture_its_thumbnail_and_deleting_releases_both(
    api: APIClient, user: Any, tmp_path: Path
) -> None:
    project = ProjectFactory(owner=user)
    shot = shot_with_media(project, 0, LINES[0], tmp_path)
    image = api.get(f"/api/v1/shots/{shot.id}").json()["image"]
    assert image["thumbnailUrl"].startswith(f"/media/thumbs/{shot.image_file.name}.webp?p={project.id}.")
    assert served_picture(api, image["thumbnailUrl"]).size == (320, 180)
    assert served_picture(api, image["url"]).size == (640, 360)  # the factory's drawn keyframe, whole
    assert api.get(f"/api/v1/shots/{shot.id}").json()["speech"]["thumbnailUrl"] is None
    versions = api.get(f"/api/v1/shots/{shot.id}/versions").json()
    pictures = [v for v in versions if v["stage"] == "image"]
    assert pictures and pictures[0]["thumbnailUrl"] == image["thumbnailUrl"]
    assert APIClient().get(image["thumbnailUrl"].split("&s=")[0] + "&s=" + "0" * 32).status_code == 403

    # The film list shows each film's poster as its thumbnail.
    poster = tmp_path / "poster.jpg"
    Image.new("RGB", (1280, 720), (20, 20, 90)).save(poster)
    project.render_poster.name = store(poster, folder="renders")[0]
    project.save()
    browser = Client()
    browser.force_login(user)
    listing = browser.get("/projects/").content.decode()
    assert f'src="/media/thumbs/{project.render_poster.name}.webp?p={project.id}.' in listing

    picture = shot.image_file.name
    assert api.delete(f"/api/v1/projects/{project.id}").status_code == 204
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not default_storage.exists(picture) and not default_storage.exists(thumbnail_name(picture))


def test_a_picture_stored_before_thumbnails_gets_one_on_demand_and_from_the_command(
    api: APIClient, user: Any, tmp_path: Path
) -> None:
    shot = shot_with_media(ProjectFactory(owner=user), 0, LINES[0], tmp_path)
    thumbnail = thumbnail_name(shot.image_file.name)
    default_storage.delete(thumbnail)  # as a picture stored by an earlier version has none
    url = api.get(f"/api/v1/shots/{shot.id}").json()["image"]["thumbnailUrl"]
    assert served_picture(api, url).size == (320, 180) and default_storage.exists(thumbnail)

    default_storage.delete(thumbnail)
    out = io.StringIO()
    call_command("thumbnails", stdout=out)
    assert out.getvalue().strip() == "Made 1 thumbnails." and default_storage.exists(thumbnail)
    call_command("thumbnails", stdout=out)
    assert out.getvalue().splitlines()[-1] == "Made 0 thumbnails."

    # Only a picture's thumbnail is made: a signed link to a "thumbnail" of a voice finds nothing.
    crafted = default_storage.scoped_url(f"thumbs/{shot.speech_file.name}.webp", shot.media_scope())
    assert api.get(crafted).status_code == 404
    assert not default_storage.exists(f"thumbs/{shot.speech_file.name}.webp")
