"""Finding 7: input that would break something later is cleaned or refused at the edge (400,
413), and never stored in a form that cannot be rendered or read back."""

from __future__ import annotations

import io
import json
import select
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from projects.models import Project
from shots.models import Shot
from tests.factories import ProjectFactory, ShotFactory, render
from tests.workers import ROOT, wait_for, worker_env

pytestmark = pytest.mark.django_db


def test_text_pasted_from_a_pdf_is_cleaned_and_the_film_still_renders(api: APIClient, rendered: Project) -> None:
    title = "Chapter 1\x0cThe Keeper\x00s Cat\u2028"
    response = api.patch(f"/api/v1/projects/{rendered.id}", {"title": title}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Chapter 1 The Keepers Cat"
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    narration = "Ada climbed\x0cthe stairs.\x1b[31m\ud800"
    body = json.dumps({"narration": narration})  # ASCII: the lone surrogate travels as \ud800
    edited = api.generic("PATCH", f"/api/v1/shots/{shot.id}", body, content_type="application/json")
    assert edited.status_code == 200, edited.content
    shot.refresh_from_db()
    assert shot.narration == "Ada climbed\nthe stairs.[31m"
    task = render(Project.objects.get(pk=rendered.pk))
    assert task.status == "finished", task.message
    fcpxml = b"".join(api.get(f"/api/v1/projects/{rendered.id}/exports/fcpxml").streaming_content)
    assert ET.fromstring(fcpxml) is not None  # noqa: S314 - our own export: well formed, or this raises


def test_unicode_noncharacters_are_taken_out_at_the_edge_and_the_film_renders(
    api: APIClient, rendered: Project
) -> None:
    """U+FFFE in a story was accepted, and every compose after it failed in the subtitle writer."""
    story = "The keeper\ufffe climbed.\U0010ffff"
    created = api.post("/api/v1/projects", {"story": story, "shotCount": 1}, format="json")
    assert created.status_code == 202, created.content
    assert Project.objects.get(pk=created.json()["project"]["id"]).story == "The keeper climbed."
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    edited = api.patch(f"/api/v1/shots/{shot.id}", {"narration": "Ada\ufffe climbed\ufdd0 the stairs."}, format="json")
    assert edited.status_code == 200, edited.content
    shot.refresh_from_db()
    assert shot.narration == "Ada climbed the stairs."
    task = render(Project.objects.get(pk=rendered.pk))
    assert task.status == "finished", task.message


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", 1e309])
def test_a_duration_that_is_not_a_number_is_refused(api: APIClient, user: Any, value: Any) -> None:
    shot = ShotFactory(project=ProjectFactory(owner=user))
    body = json.dumps({"pinnedDuration": value}) if value != 1e309 else '{"pinnedDuration": 1e309}'
    response = api.generic("PATCH", f"/api/v1/shots/{shot.id}", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "pinnedDuration" in response.json()["error"]["fields"]
    assert Shot.objects.get(pk=shot.pk).pinned_duration is None
    assert api.get(f"/api/v1/projects/{shot.project_id}/storyboard").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/auth/signup", "/api/v1/projects"])
def test_json_nested_too_deeply_answers_400(api: APIClient, path: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for client in (Client(), api):
        response = client.generic("POST", path, deep, content_type="application/json")
        assert response.status_code in (400, 401), (path, response.status_code)
        assert response.json()["error"]["code"] in ("parse_error", "not_authenticated")


MANIFESTS = [
    {"format": "storyvideo-bundle", "version": 1, "project": {"story": "A cat."}, "shots": "not a list"},
    {"format": "storyvideo-bundle", "version": 1, "project": {"story": "A cat."}, "shots": [1, 2]},
    {"format": "storyvideo-bundle", "version": 1, "project": "a story", "shots": []},
    {"format": "storyvideo-bundle", "version": 1, "project": {"story": "A cat."}, "render": ["film.mp4"]},
    {
        "format": "storyvideo-bundle",
        "version": 1,
        "project": {"story": "A cat."},
        "shots": [{"prompt": "p", "characters": "Ada"}],
    },
    {"format": "storyvideo-bundle", "version": 1, "project": {"story": "A cat."}, "characters": [{"seed": "x"}]},
]


@pytest.mark.parametrize("manifest", MANIFESTS)
def test_a_malformed_manifest_answers_400(api: APIClient, manifest: dict[str, Any]) -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("project.json", json.dumps(manifest))
    data.seek(0)
    before = Project.objects.count()
    response = api.post("/api/v1/projects/import", {"bundle": data}, format="multipart")
    assert response.status_code == 400, response.content
    assert Project.objects.count() == before


def test_a_bundle_that_unpacks_far_larger_than_a_real_one_is_refused(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judged by the sizes the archive declares, before anything is unpacked (a 1.45 MB bundle
    once unpacked 900 MB to disk before its 400)."""
    import projects.bundles

    def unpacked(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a member was unpacked")

    monkeypatch.setattr(projects.bundles, "_read_member", unpacked)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("keyframes/bomb.png", b"\0" * (64 * 1024**2))
        manifest = {
            "format": "storyvideo-bundle",
            "version": 1,
            "project": {"story": "A cat."},
            "shots": [{"prompt": "p", "image": "keyframes/bomb.png"}],
        }
        archive.writestr("project.json", json.dumps(manifest))
    assert data.tell() < 1024**2
    data.seek(0)
    response = api.post("/api/v1/projects/import", {"bundle": data}, format="multipart")
    assert response.status_code == 400
    assert "keyframes/bomb.png unpacks to 1028 times its packed size" in response.json()["error"]["message"]


def test_a_playlist_is_not_music_and_is_never_followed(api: APIClient, user: Any, tmp_path: Path) -> None:
    project = ProjectFactory(owner=user)
    secret = tmp_path / "secret.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", str(secret)], check=True)
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://{secret}\n#EXT-X-ENDLIST\n".encode()
    for name, body in (("song.m3u8", playlist), ("song.mp3", playlist), ("list.txt", f"file '{secret}'\n".encode())):
        upload = io.BytesIO(body)
        upload.name = name
        response = api.put(f"/api/v1/projects/{project.id}/music", {"file": upload}, format="multipart")
        assert response.status_code == 400, (name, response.content)
    project.refresh_from_db()
    assert not project.music


def _post_head(path: str, framing: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{framing}\r\n\r\n").encode()


@pytest.fixture
def uvicorn(transactional_db: None) -> Iterator[str]:
    """The web server ``make run`` starts (uvicorn, which hands a body to the application as it
    streams in; the tests' daphne reads it whole first)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", "storyvideo.asgi:application", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    try:
        wait_for(up, timeout=60, what="uvicorn")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


@pytest.mark.browser  # the web server is a process of its own
@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/health"])
def test_a_huge_anonymous_body_is_refused_before_it_is_read(uvicorn: str, path: str) -> None:
    """200 MB to an anonymous route were once received and spooled to disk before the 413."""
    address = urlsplit(uvicorn)
    with socket.create_connection((address.hostname, address.port), timeout=30) as declared:
        declared.sendall(_post_head(path, f"Content-Length: {200 * 1024**2}"))
        assert declared.recv(65536).startswith(b"HTTP/1.1 413"), "answered only once the body came"

    # Chunked, with no length to go by: refused once past the limit, the rest never read.
    sent, chunk = 0, b"x" * 65536
    with socket.create_connection((address.hostname, address.port), timeout=30) as streamed:
        streamed.sendall(_post_head(path, "Transfer-Encoding: chunked"))
        try:
            while sent < 200 * 1024**2 and not select.select([streamed], [], [], 0)[0]:
                streamed.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except OSError:  # the server closed its side: it read no more
            pass
        answer = streamed.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # What the server took is the limit (512 KiB) and what the sockets' buffers held in between.
    assert sent < 64 * 1024**2, f"{sent} bytes were taken before the 413"


def test_music_over_its_limit_is_refused_before_the_body_is_read(api: APIClient, user: Any, settings: Any) -> None:
    project = ProjectFactory(owner=user)
    response = api.generic(
        "PUT",
        f"/api/v1/projects/{project.id}/music",
        b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(300 * 1024**2),
    )
    assert response.status_code == 413
    assert str(settings.MUSIC_MAX_BYTES + 64 * 1024) in response.json()["error"]["message"]


def test_an_edit_to_a_shot_deleted_meanwhile_is_not_found(user: Any) -> None:
    """A PATCH racing a DELETE of the same shot answered 500 in 32 of 40 tries: the edit read the
    shot, the delete committed, and the edit's locked re-read found nothing."""
    from core.errors import ApplicationError
    from shots import services as shot_services

    shot = ShotFactory(project=ProjectFactory(owner=user))
    read_before_the_delete = Shot.objects.get(pk=shot.pk)
    shot_services.shot_delete(shot=shot)
    with pytest.raises(ApplicationError) as refused:
        shot_services.shot_update(shot=read_before_the_delete, changes={"narration": "Too late."})
    assert refused.value.code == "not_found"


@pytest.mark.django_db(transaction=True)  # the requests race on connections of their own
def test_edits_racing_deletes_of_their_shots_answer_404_never_500(user: Any) -> None:
    from django.db import connections

    from tests.clients import CommittingAPIClient

    answers: list[object] = []

    def ask(method: str, shot_id: object) -> None:
        client = CommittingAPIClient()
        client.force_authenticate(user)
        try:
            body = {"narration": "A new line."} if method == "patch" else None
            answers.append(getattr(client, method)(f"/api/v1/shots/{shot_id}", body, format="json").status_code)
        except Exception as error:  # the test client raises what would have been a 500
            answers.append(repr(error))
        finally:
            connections.close_all()

    for _ in range(10):
        shot = ShotFactory(project=ProjectFactory(owner=user))
        racing = [threading.Thread(target=ask, args=(method, shot.id)) for method in ("patch", "delete")]
        for thread in racing:
            thread.start()
        for thread in racing:
            thread.join()
    assert set(answers) <= {200, 204, 404}, answers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/v1/nothing-here", 404),
        ("get", "/api/v1/projects/not-a-uuid", 404),  # a path parameter of the wrong shape
        ("post", "/api/v1/projects/00000000-0000-0000-0000-000000000000/nothing", 404),
        ("get", "/api/nothing-here", 404),
        ("post", "/v1/api/tasks/123", 404),
        ("delete", "/api/v1/health", 405),
        ("patch", "/v1/api/health", 405),
    ],
)
def test_every_answer_under_the_api_is_json_404_and_405_included(
    api: APIClient, method: str, path: str, status: int
) -> None:
    """A route no view answers gave Django's HTML page (42 HTML 404s where JSON is documented)."""
    answer = getattr(api, method)(path)
    assert answer.status_code == status
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["error"]["code"] == {404: "not_found", 405: "method_not_allowed"}[status]


def test_a_server_error_under_the_api_is_json_and_a_page_error_is_a_page(user: Any, settings: Any) -> None:
    from django.urls import path

    def broken(request: Any) -> Any:
        raise RuntimeError("a bug")

    settings.ROOT_URLCONF = type(
        "Urls",
        (),
        {
            "urlpatterns": [path("api/v1/broken", broken), path("broken", broken)],
            "handler404": "core.api.not_found",
            "handler500": "core.api.server_error",
        },
    )
    client = Client(raise_request_exception=False)
    answer = client.get("/api/v1/broken")
    assert (answer.status_code, answer["Content-Type"]) == (500, "application/json")
    assert answer.json()["error"]["code"] == "server_error" and "a bug" not in answer.content.decode()
    page = client.get("/broken")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
    assert client.get("/nothing-here")["Content-Type"].startswith("text/html")
