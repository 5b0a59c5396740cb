"""Findings 1 and 2: no stored file can act as a page of this origin, and no media file opens
without a signed, unexpired URL."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from core.media import sign
from projects.models import Project
from tests.object_store import object_store
from tests.workers import ROOT, worker_env

pytestmark = pytest.mark.django_db


@pytest.fixture
def bundle(api: APIClient, rendered: Project) -> bytes:
    return b"".join(api.get(f"/api/v1/projects/{rendered.id}/exports/bundle").streaming_content)


def crafted(bundle: bytes, key: str, name: str, data: bytes) -> io.BytesIO:
    """The bundle with render[key] (or a character's ``reference``) naming a new member ``name``
    that holds ``data``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as source, zipfile.ZipFile(out, "w") as target:
        body = json.loads(source.read("project.json"))
        if key == "reference":
            body["characters"].append({"name": "Ada", "reference": name})
        else:
            body["render"][key] = name
        for member in source.namelist():
            if member != "project.json":
                target.writestr(member, source.read(member))
        target.writestr(name, data)
        target.writestr("project.json", json.dumps(body))
    out.seek(0)
    return out


PAGE = b"<html><script src='/media/renders/x.js'></script><h1>hi</h1></html>"
VALID_SRT = b"1\n00:00:00,000 --> 00:00:01,500\n<b>Ada</b> climbed.\n"


@pytest.mark.parametrize(
    ("key", "name", "data"),
    [
        ("srt", "film.html", PAGE),
        ("vtt", "film.js", b"alert(document.cookie)"),
        ("poster", "poster.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
        ("timeline", "timeline.html", PAGE),
        ("video", "film.html", PAGE),
        (
            "reference",
            "characters/face.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        ),
    ],
)
def test_a_bundle_member_that_is_not_what_its_field_says_is_refused(
    api: APIClient, bundle: bytes, key: str, name: str, data: bytes
) -> None:
    projects = Project.objects.count()
    stored = sorted(p.relative_to(settings.MEDIA_ROOT) for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())
    response = api.post("/api/v1/projects/import", {"bundle": crafted(bundle, key, name, data)}, format="multipart")
    assert response.status_code == 400, response.content
    assert name in response.json()["error"]["message"]
    assert Project.objects.count() == projects
    after = sorted(p.relative_to(settings.MEDIA_ROOT) for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())
    assert after == stored, "a refused bundle leaves no file behind"


def damaged(bundle: bytes, how: str) -> io.BytesIO:
    """The bundle with one thing wrong that once answered 500."""
    if how in (".", ".."):
        return crafted(bundle, "srt", how, VALID_SRT)
    if how == "a speaker given as a list":
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(bundle)) as source, zipfile.ZipFile(out, "w") as target:
            body = json.loads(source.read("project.json"))
            body["shots"][0]["speaker"] = ["Ada"]
            for member in source.namelist():
                target.writestr(member, json.dumps(body) if member == "project.json" else source.read(member))
        out.seek(0)
        return out
    # A corrupted member: one byte of a stored keyframe changed, so its CRC no longer matches.
    data = bytearray(bundle)
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        keyframe = next(m for m in archive.infolist() if m.filename.startswith("keyframes/"))
    assert keyframe.compress_type == zipfile.ZIP_STORED
    name_and_extra = int.from_bytes(data[keyframe.header_offset + 26 : keyframe.header_offset + 28], "little")
    name_and_extra += int.from_bytes(data[keyframe.header_offset + 28 : keyframe.header_offset + 30], "little")
    data[keyframe.header_offset + 30 + name_and_extra + keyframe.file_size // 2] ^= 0xFF
    return io.BytesIO(bytes(data))


@pytest.mark.parametrize("how", [".", "..", "a speaker given as a list", "a corrupted member"])
def test_a_damaged_bundle_answers_400_and_changes_nothing(api: APIClient, bundle: bytes, how: str) -> None:
    projects = Project.objects.count()
    response = api.post("/api/v1/projects/import", {"bundle": damaged(bundle, how)}, format="multipart")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"]["bundle"]
    assert Project.objects.count() == projects


def test_a_valid_member_under_a_hostile_name_is_stored_under_its_fields_extension(
    api: APIClient, bundle: bytes
) -> None:
    response = api.post(
        "/api/v1/projects/import", {"bundle": crafted(bundle, "srt", "film.html", VALID_SRT)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    project = Project.objects.get(pk=response.json()["id"])
    assert project.render_srt.name.endswith(".srt")
    assert project.render_poster.name.endswith(".jpg") and project.render_video.name.endswith(".mp4")
    assert all(s.image_file.name.endswith(".png") and s.speech_file.name.endswith(".wav") for s in project.shots.all())


def test_media_are_served_only_with_a_valid_unexpired_signature(api: APIClient, rendered: Project) -> None:
    urls = api.get(f"/api/v1/projects/{rendered.id}").json()["render"]
    video = urlsplit(urls["videoUrl"])
    query = parse_qs(video.query)
    assert set(query) == {"p", "e", "s"} and query["p"] == [f"{rendered.id}.0"]
    anonymous = Client()
    # Whoever holds the URL the API handed out may play it (a <video> element sends no token) ...
    served = anonymous.get(urls["videoUrl"])
    assert served.status_code == 200 and served["Content-Type"] == "video/mp4"
    assert b"".join(served.streaming_content)[4:8] == b"ftyp"
    # ... but the bare name, a forged signature, another file's signature or an expired one do not.
    other = parse_qs(urlsplit(urls["posterUrl"]).query)
    expired = sign(rendered.render_video.name, now=time.time() - settings.MEDIA_URL_TTL_S - 7200)
    for attempt in (
        video.path,
        f"{video.path}?e={query['e'][0]}&s={'0' * 32}",
        f"{video.path}?e={int(query['e'][0]) + 3600}&s={query['s'][0]}",
        f"{video.path}?e={other['e'][0]}&s={other['s'][0]}",
        f"{video.path}?{expired}",
        f"{video.path}?e={query['e'][0]}&s={query['s'][0]}",  # its project's scope left out
        f"{video.path}?p={rendered.id}.1&e={query['e'][0]}&s={query['s'][0]}",  # another generation
    ):
        refused = anonymous.get(attempt)
        assert refused.status_code == 403, attempt
        assert refused["X-Content-Type-Options"] == "nosniff"
    # Shots' media are signed the same way.
    shot = api.get(f"/api/v1/projects/{rendered.id}/storyboard").json()["shots"][0]
    assert anonymous.get(shot["image"]["url"]).status_code == 200
    assert anonymous.get(urlsplit(shot["image"]["url"]).path).status_code == 403


def test_media_carry_an_allowlisted_type_nosniff_and_a_sandbox(rendered: Project) -> None:
    client = Client()
    expected = {
        rendered.render_video: ("video/mp4", "inline"),
        rendered.render_poster: ("image/jpeg", "inline"),
        rendered.render_vtt: ("text/vtt; charset=utf-8", "inline"),
        rendered.render_srt: ("application/x-subrip; charset=utf-8", "attachment"),
        rendered.render_timeline: ("application/json", "attachment"),
    }
    for field, (content_type, disposition) in expected.items():
        response = client.get(field.url)
        assert response.status_code == 200, field.name
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"].startswith(disposition)
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
        assert "script-src 'self'" not in response["Content-Security-Policy"]


def test_a_film_is_served_in_the_byte_ranges_a_player_asks_for(rendered: Project) -> None:
    """A player seeks with ``Range`` (Chromium cannot seek a film served whole): one range is
    answered 206 with exactly those bytes, a range past the end 416, several ranges the whole file."""
    url, whole = rendered.render_video.url, rendered.render_video.open("rb").read()
    size = len(whole)
    client = Client()
    assert client.get(url)["Accept-Ranges"] == "bytes"
    for asked, (first, last) in {
        "bytes=100-199": (100, 199),
        "bytes=1000-": (1000, size - 1),
        "bytes=-500": (size - 500, size - 1),
        f"bytes=10-{size * 2}": (10, size - 1),
    }.items():
        part = client.get(url, HTTP_RANGE=asked)
        assert part.status_code == 206, asked
        assert part["Content-Range"] == f"bytes {first}-{last}/{size}"
        assert part["Content-Type"] == "video/mp4" and part["X-Content-Type-Options"] == "nosniff"
        assert b"".join(part.streaming_content) == whole[first : last + 1]
    past = client.get(url, HTTP_RANGE=f"bytes={size}-")
    assert past.status_code == 416 and past["Content-Range"] == f"bytes */{size}"
    several = client.get(url, HTTP_RANGE="bytes=0-1,5-6")
    assert several.status_code == 200 and b"".join(several.streaming_content) == whole


def test_a_stored_file_of_any_other_type_is_only_ever_a_download(settings: Any) -> None:
    """Even a file that got into the media folder some other way (an older version, an operator)
    is never served as a page or a script."""
    (settings.MEDIA_ROOT / "renders").mkdir(parents=True, exist_ok=True)
    for name in ("renders/old.html", "renders/old.js", "renders/old.svg"):
        (settings.MEDIA_ROOT / name).write_bytes(PAGE)
        response = Client().get(f"/media/{name}?{sign(name)}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"


def test_a_path_outside_the_media_folder_is_not_served() -> None:
    name = "../secret_key"
    assert Client().get(f"/media/{name}?{sign(name)}").status_code == 404


def test_pages_hand_out_signed_urls(rendered: Project, user: Any) -> None:
    client = Client()
    client.force_login(user)
    page = client.get(f"/projects/{rendered.id}/preview/").content.decode()
    video_url = rendered.render_video.url.replace("&", "&amp;")
    assert video_url in page and "&amp;e=" in video_url and "?p=" in video_url


def test_object_storage_hands_out_sigv4_urls_that_expire_and_the_bucket_refuses_reading_without_one(
    tmp_path: Path,
) -> None:
    """With STORAGE=s3 (settings as an operator sets them), media are stored privately and read
    through query-string-signed URLs (SigV4) that expire after MEDIA_URL_TTL_S."""
    poster = tmp_path / "poster.png"
    Image.new("RGB", (8, 8), "red").save(poster)
    with object_store(tmp_path) as store:
        script = (
            "from pathlib import Path; from django.core.files.storage import default_storage;"
            "from core.storage import store;"
            f"name, _ = store(Path({str(poster)!r}), folder='renders/posters'); print(default_storage.url(name))"
        )
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "shell", "-c", script],
            env=worker_env(**store, MEDIA_URL_TTL_S="600", STORYVIDEO_VAR_DIR=str(tmp_path / "var")),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        url = done.stdout.strip().splitlines()[-1]
        assert url.startswith(f"{store['S3_ENDPOINT_URL']}/{store['S3_BUCKET']}/renders/posters/"), url
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["600"]
        signed = requests.get(url, timeout=10)
        assert signed.status_code == 200 and signed.content == poster.read_bytes()
        assert signed.headers["Content-Type"] == "image/png"
        assert requests.get(url.split("?")[0], timeout=10).status_code == 403
        assert not (tmp_path / "var" / "media").exists()


def test_a_revocation_ends_the_media_links_handed_out_before_it(api: APIClient, rendered: Project, user: Any) -> None:
    """Issue 25, finding 10: a revoked viewer's signed media URLs kept working for about 6 hours.
    Removing a member or revoking a share link moves the project's links on: the earlier die at
    once, and the owner's pages and API sign new ones."""
    from projects.models import Member
    from tests.factories import UserFactory

    viewer = UserFactory()
    Member.objects.create(project=rendered, user=viewer, role="viewer")
    theirs = APIClient()
    theirs.force_authenticate(viewer)
    shot = theirs.get(f"/api/v1/projects/{rendered.id}/storyboard").json()["shots"][0]["image"]["url"]
    film = theirs.get(f"/api/v1/projects/{rendered.id}").json()["render"]["videoUrl"]
    link = api.post(f"/api/v1/projects/{rendered.id}/links", format="json").json()
    watched = Client().get(urlsplit(link["url"]).path)
    found = re.search(r'poster="([^"]+)"', watched.content.decode())
    assert found is not None, "the watch page shows the film's poster"
    poster = found.group(1).replace("&amp;", "&")
    anonymous = Client()
    assert [anonymous.get(url).status_code for url in (shot, film, poster)] == [200, 200, 200]

    assert api.delete(f"/api/v1/projects/{rendered.id}/members/{viewer.id}").status_code == 204
    assert [anonymous.get(url).status_code for url in (shot, film, poster)] == [403, 403, 403]
    fresh = api.get(f"/api/v1/projects/{rendered.id}").json()["render"]["videoUrl"]
    assert fresh != film and anonymous.get(fresh).status_code == 200

    assert api.delete(f"/api/v1/projects/{rendered.id}/links/{link['id']}").status_code == 204
    assert anonymous.get(fresh).status_code == 403, "a revoked link ends the links signed before it too"
    assert anonymous.get(api.get(f"/api/v1/projects/{rendered.id}").json()["render"]["videoUrl"]).status_code == 200
