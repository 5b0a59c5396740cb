"""Outgoing webhooks: called when a render finishes or fails, signed, retried with backoff;
private, loopback and link-local addresses, other schemes and redirects refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from projects.models import Project
from projects.pipeline import project_render
from projects.webhooks import post, webhook_target
from tasks.models import Task
from tests.factories import ProjectFactory
from tests.workers import wait_for, workers


class Receiver:
    """A webhook receiver on loopback: answers each call with the next status of ``answers``."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.calls: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = outer.answers.pop(0) if outer.answers else 200
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/storyvideo"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver([500, 200])  # the first call fails: the delivery is retried
    yield found
    found.server.shutdown()


@pytest.mark.django_db(transaction=True)  # `rendered` composes in this process, as a worker does
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9/hook", "private, loopback or link-local"),
        ("http://169.254.169.254/latest/meta-data/", "private, loopback or link-local"),
        ("http://10.1.2.3/hook", "private, loopback or link-local"),
        ("http://[::1]/hook", "private, loopback or link-local"),
        ("http://localhost/hook", "private, loopback or link-local"),
        ("ftp://example.org/hook", "http:// or https://"),
        ("file:///etc/passwd", "Enter a valid URL"),
        ("http://user:pw@127.0.0.1/hook", "no user name or password"),
    ],
)
def test_a_webhook_to_a_private_address_or_another_scheme_is_refused(
    api: APIClient, rendered: Project, url: str, says: str
) -> None:
    response = api.put(f"/api/v1/projects/{rendered.id}/webhook", {"url": url}, format="json")
    assert response.status_code == 400, response.content
    assert says in str(response.json()["error"])
    rendered.refresh_from_db()
    assert rendered.webhook_url == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://[64:ff9b::7f00:1]/hook", "tunnelled"),  # NAT64 of 127.0.0.1
        ("http://[64:ff9b::a01:203]/hook", "tunnelled"),  # NAT64 of 10.1.2.3
        ("http://[2002:7f00:1::1]/hook", "tunnelled"),  # 6to4 of 127.0.0.1
        ("http://[::127.0.0.1]/hook", "tunnelled"),  # IPv4-compatible
        ("http://[::ffff:7f00:1]/hook", "private, loopback or link-local"),  # IPv4-mapped 127.0.0.1
        ("http://[::ffff:5db8:d70e]/hook", "tunnelled"),  # IPv4-mapped, of a public address
        ("http://224.0.0.251/hook", "multicast"),
        ("http://[ff0e::1]/hook", "multicast"),
        ("http://example.org:99999/hook", "not a port number"),
        ("http://example.org:0/hook", "not a port number"),
    ],
)
def test_tunnelled_and_multicast_addresses_and_bad_ports_are_refused(
    api: APIClient, user: Any, url: str, says: str
) -> None:
    project = ProjectFactory(owner=user)
    response = api.put(f"/api/v1/projects/{project.id}/webhook", {"url": url}, format="json")
    assert response.status_code == 400, response.content
    assert says in str(response.json()["error"])
    project.refresh_from_db()
    assert project.webhook_url == ""


def test_the_address_checked_is_the_address_called(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """DNS rebinding: a name that resolves to a public address for the check and to loopback a
    moment later. The call goes to the address that was checked, never to a second lookup's."""
    settings.WEBHOOK_ALLOW_PRIVATE = False
    lookups: list[str] = []
    answers = iter(["93.184.215.14", "127.0.0.1", "127.0.0.1"])

    def rebinding(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    dialled: list[Any] = []

    def dial(address: Any, *args: Any, **kwargs: Any) -> Any:
        dialled.append(address)
        raise ConnectionRefusedError("not on this test's network")

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(socket, "create_connection", dial)
    target = webhook_target("http://rebind.example/hooks?x=1")
    with pytest.raises(OSError):
        post(target, b"{}", {"Content-Type": "application/json"})
    assert (lookups, dialled) == (["rebind.example"], [("93.184.215.14", 80)])
    assert target.path == "/hooks?x=1"


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_render_calls_the_webhook_signed_and_retried(
    api: APIClient, rendered: Project, receiver: Receiver, tmp_path: Path, settings: Any
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback, and so is the worker's
    answer = api.put(f"/api/v1/projects/{rendered.id}/webhook", {"url": receiver.url}, format="json")
    assert answer.status_code == 200, answer.content
    secret = answer.json()["secret"]
    with workers(tmp_path, "media", WEBHOOK_ALLOW_PRIVATE="true"):
        render = project_render(project=rendered)
        wait_for(
            lambda: Task.objects.filter(project=rendered, kind="webhook", status="finished").exists(),
            timeout=90,
            what="the webhook's delivery",
        )
    delivery = Task.objects.get(project=rendered, kind="webhook")
    assert delivery.attempt == 2 and delivery.params == {"render": str(render.id)}
    assert len(receiver.calls) == 2
    headers, body = receiver.calls[-1]
    event = json.loads(body)
    assert event["event"] == "render.finished" and event["delivery"] == str(render.id)
    assert event["projectId"] == str(rendered.id) and event["duration"] > 0
    assert abs(event["check"]["loudness"]["integrated"] - -16.0) <= 1.0  # the film check, in brief
    assert event["check"]["errorCount"] == 0 and isinstance(event["check"]["findings"], list)
    timestamp, signature = (part.split("=", 1)[1] for part in headers["x-storyvideo-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert headers["x-storyvideo-delivery"] == str(render.id)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_redirect_is_not_followed(api: APIClient, rendered: Project, tmp_path: Path, settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    receiver = Receiver([302, 302, 302])
    try:
        assert (
            api.put(f"/api/v1/projects/{rendered.id}/webhook", {"url": receiver.url}, format="json").status_code == 200
        )
        with workers(tmp_path, "media", WEBHOOK_ALLOW_PRIVATE="true"):
            project_render(project=rendered)
            wait_for(
                lambda: Task.objects.filter(project=rendered, kind="webhook", status="failed").exists(),
                timeout=90,
                what="the delivery to fail",
            )
    finally:
        receiver.server.shutdown()
    delivery = Task.objects.get(project=rendered, kind="webhook")
    assert "answered 302" in delivery.message and len(receiver.calls) == 3  # never the metadata address
