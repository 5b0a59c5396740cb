"""The storyboard re-read answered before Django's request cycle (projects/fastpath.py; issue
12's load targets): it answers only what Django would answer the same way, with Django's
headers, and leaves everything else to Django. Driven through the real ASGI application, with a
recorder on the Django side to see which of the two answered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tokens import token_create
from projects import fastpath
from projects.models import Member
from shots.services import shot_update
from storyvideo.asgi import django_asgi_app
from tests.factories import ProjectFactory, ShotFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
HEADERS_DJANGO_SETS = (
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "content-security-policy",
    "cross-origin-opener-policy",
    "vary",
)


class Django:
    """Django's ASGI application, counting the requests that reach it."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await django_asgi_app(scope, receive, send)


def get(
    app: Any, path: str, headers: dict[str, str], repeated: tuple[tuple[str, str], ...] = ()
) -> tuple[int, dict[str, str], bytes]:
    async def call() -> tuple[int, dict[str, str], bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(b"host", b"localhost")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        if "Host" in headers:
            scope["headers"] = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        scope["headers"] += [(k.lower().encode(), v.encode()) for k, v in repeated]
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await communicator.receive_output(30)
        body = b""
        while True:
            message = await communicator.receive_output(30)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body

    return async_to_sync(call)()


@pytest.fixture
def owned(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setattr(fastpath, "_learnt", None)  # as a process that has served nothing yet
    owner = UserFactory()
    project = ProjectFactory(owner=owner)
    shot = ShotFactory(project=project)
    django = Django()
    app = fastpath.StoryboardReads(django)
    yield {
        "app": app,
        "django": django,
        "path": f"/api/v1/projects/{project.id}/storyboard",
        "auth": {"Authorization": f"Token {token_create(user=owner)}"},
        "owner": owner,
        "shot": shot,
    }
    app.close()  # its threads' connections, which would keep the test database open


def test_a_reread_is_answered_before_django_exactly_as_django_answers_it(owned: dict[str, Any]) -> None:
    app, django, path, auth = owned["app"], owned["django"], owned["path"], owned["auth"]
    status, first, body = get(app, path, auth)
    assert (status, django.calls) == (200, 1)  # the first read is Django's: it makes the body

    status, conditional, empty = get(app, path, {**auth, "If-None-Match": first["etag"]})
    assert (status, empty, django.calls) == (304, b"", 1), "the re-read did not take the fast path"
    status, again, same = get(app, path, auth)
    assert (status, same, django.calls) == (200, body, 1)

    _, by_django, _ = get(django_asgi_app, path, {**auth, "If-None-Match": first["etag"]})
    for answer in (conditional, again):
        assert answer["etag"] == first["etag"] and answer["cache-control"] == "private, no-cache"
        assert {h: answer.get(h) for h in HEADERS_DJANGO_SETS} == {h: by_django.get(h) for h in HEADERS_DJANGO_SETS}
        assert answer["x-request-id"] and answer["x-request-id"] != first["x-request-id"]
    assert again["content-type"] == "application/json" and int(again["content-length"]) == len(body)
    assert all(by_django.get(h) for h in HEADERS_DJANGO_SETS if h != "cross-origin-opener-policy")


def test_an_edit_is_seen_by_the_next_reread(owned: dict[str, Any]) -> None:
    app, path, auth = owned["app"], owned["path"], owned["auth"]
    _, first, _ = get(app, path, auth)
    shot_update(shot=owned["shot"], changes={"narration": "The keeper climbed the stairs."})
    status, headers, body = get(app, path, {**auth, "If-None-Match": first["etag"]})
    assert status == 200 and headers["etag"] != first["etag"]
    assert b"The keeper climbed the stairs." in body


def test_each_language_gets_its_own_body(owned: dict[str, Any]) -> None:
    app, django, path, auth = owned["app"], owned["django"], owned["path"], owned["auth"]
    _, english, body = get(app, path, {**auth, "Accept-Language": "en"})
    _, chinese, zh_body = get(app, path, {**auth, "Accept-Language": "zh-Hans"})
    assert django.calls == 2, "a body made in one language was served in another"
    assert english["content-language"] == "en" and chinese["content-language"] == "zh-hans"
    assert json.loads(body)["project"]["statusLabel"] != json.loads(zh_body)["project"]["statusLabel"]
    for language, made in (("en", body), ("zh-Hans", zh_body)):
        status, headers, again = get(app, path, {**auth, "Accept-Language": language})
        assert (status, again, headers["content-language"].lower()) == (200, made, language.lower())
    assert django.calls == 2


def test_a_session_reread_takes_the_fast_path_and_a_closed_session_does_not(owned: dict[str, Any]) -> None:
    app, django, path = owned["app"], owned["django"], owned["path"]
    client = Client()
    client.force_login(owned["owner"])
    cookie = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    _, first, _ = get(app, path, cookie)
    assert get(app, path, {**cookie, "If-None-Match": first["etag"]})[0] == 304 and django.calls == 1
    client.logout()
    assert get(app, path, {**cookie, "If-None-Match": first["etag"]})[0] == 401 and django.calls == 2


def test_a_jwt_and_a_viewers_reread_take_the_fast_path(owned: dict[str, Any]) -> None:
    app, django, path = owned["app"], owned["django"], owned["path"]
    viewer = UserFactory()
    Member.objects.create(project=owned["shot"].project, user=viewer, role="viewer")
    users: list[Any] = [owned["owner"], viewer]
    for user in users:
        access = str(RefreshToken.for_user(user).access_token)
        _, first, _ = get(app, path, {"Authorization": f"Bearer {access}"})
        calls = django.calls
        again = get(app, path, {"Authorization": f"Bearer {access}", "If-None-Match": first["etag"]})
        assert (again[0], django.calls) == (304, calls), "the re-read did not take the fast path"
    assert get(app, path, {"Authorization": "Bearer not.a.token"})[0] == 401


@pytest.mark.parametrize(
    "who",
    ["another user", "no credentials", "a wrong token", "a deactivated user", "a host not allowed", "a Basic header"],
)
def test_what_django_refuses_is_left_to_django(owned: dict[str, Any], who: str) -> None:
    app, django, path, auth = owned["app"], owned["django"], owned["path"], owned["auth"]
    _, first, _ = get(app, path, auth)  # the version is known, its body made and stored
    headers = {"If-None-Match": first["etag"]}
    if who == "another user":
        headers["Authorization"] = f"Token {token_create(user=UserFactory())}"
    elif who == "a wrong token":
        headers["Authorization"] = "Token " + "0" * 40
    elif who == "a deactivated user":
        owned["owner"].is_active = False
        owned["owner"].save()
        headers.update(auth)
    elif who == "a host not allowed":
        headers.update(auth, Host="evil.example")
    elif who == "a Basic header":
        headers["Authorization"] = "Basic bG9hZDpsb2Fk"
    status, _, body = get(app, path, headers)
    expected, _, _ = get(django_asgi_app, path, headers)
    assert status == expected and status in (400, 401, 403, 404), (who, status)
    assert django.calls == 2 and first["etag"].strip('"').encode() not in body


@pytest.mark.parametrize("what", ["two Authorization headers", "two Host headers", "an uppercase id"])
def test_a_request_django_reads_differently_is_left_to_django(owned: dict[str, Any], what: str) -> None:
    """Django joins a repeated header's values ("a,b") and its path converter takes lowercase
    ids only: the fast path, reading the last value or any case, once answered 200 for these."""
    app, django, path, auth = owned["app"], owned["django"], owned["path"], owned["auth"]
    _, first, _ = get(app, path, auth)
    headers = {**auth, "If-None-Match": first["etag"]}
    repeated: tuple[tuple[str, str], ...] = ()
    if what == "two Authorization headers":  # a wrong one, then the owner's
        headers["Authorization"], repeated = "Token " + "0" * 40, (("Authorization", auth["Authorization"]),)
    elif what == "two Host headers":
        repeated = (("Host", "localhost"),)
    else:
        path = path.upper().replace("/API/V1/PROJECTS/", "/api/v1/projects/").replace("/STORYBOARD", "/storyboard")
    status, _, _ = get(app, path, headers, repeated)
    expected, _, _ = get(django_asgi_app, path, headers, repeated)
    assert status == expected and status in (400, 401, 404), (what, status)
    assert django.calls == 2, "the fast path answered"
