"""Accounts for programs: JWT access and refresh tokens (rotated, revocable), and one-use tickets
that open a WebSocket without a long-lived credential in its URL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from storyvideo.asgi import application
from tests.clients import CommittingAPIClient
from tests.factories import ProjectFactory, UserFactory
from tests.test_live import connect
from tests.workers import workers

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password"
ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


def bearer(access: str) -> APIClient:
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def ticket(client: APIClient) -> str:
    answer = client.post("/api/v1/auth/ws-ticket")
    assert answer.status_code == 201, answer.content
    return str(answer.json()["ticket"])


def test_register_login_refresh_rotates_and_logout_revokes() -> None:
    anonymous = CommittingAPIClient()
    registered = anonymous.post("/api/v1/auth/jwt/register", {"username": "kai", "password": PASSWORD}, format="json")
    assert registered.status_code == 201, registered.content
    assert bearer(registered.json()["access"]).get("/api/v1/projects").status_code == 200

    wrong = anonymous.post("/api/v1/auth/jwt", {"username": "kai", "password": "not-it"}, format="json")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == "No active account found with the given credentials"
    pair = anonymous.post("/api/v1/auth/jwt", {"username": "kai", "password": PASSWORD}, format="json").json()

    refreshed = anonymous.post("/api/v1/auth/jwt/refresh", {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    new = refreshed.json()
    assert new["refresh"] != pair["refresh"] and new["access"] != pair["access"]
    assert bearer(new["access"]).get("/api/v1/projects").status_code == 200
    # The refresh token used once is refused from then on: one stolen and used is noticed.
    again = anonymous.post("/api/v1/auth/jwt/refresh", {"refresh": pair["refresh"]}, format="json")
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "token_not_valid"

    assert anonymous.post("/api/v1/auth/jwt/logout", {"refresh": new["refresh"]}, format="json").status_code == 200
    assert anonymous.post("/api/v1/auth/jwt/refresh", {"refresh": new["refresh"]}, format="json").status_code == 401

    garbage = bearer("not.a.token").get("/api/v1/projects")
    assert garbage.status_code == 401 and garbage.json()["error"]["message"]
    assert anonymous.post("/api/v1/auth/jwt/refresh", {}, format="json").status_code == 400


def test_a_jwt_reaches_only_its_users_projects_and_a_disabled_account_is_refused() -> None:
    owner, stranger = UserFactory(), UserFactory()
    project = ProjectFactory(owner=owner)
    pairs = {
        user.pk: APIClient()
        .post("/api/v1/auth/jwt", {"username": user.username, "password": PASSWORD}, format="json")
        .json()
        for user in (owner, stranger)
    }
    assert bearer(pairs[owner.pk]["access"]).get(f"/api/v1/projects/{project.id}").status_code == 200
    assert bearer(pairs[stranger.pk]["access"]).get(f"/api/v1/projects/{project.id}").status_code == 404
    owner.is_active = False
    owner.save()
    assert bearer(pairs[owner.pk]["access"]).get(f"/api/v1/projects/{project.id}").status_code == 401
    refresh = CommittingAPIClient().post(
        "/api/v1/auth/jwt/refresh", {"refresh": pairs[owner.pk]["refresh"]}, format="json"
    )
    assert refresh.status_code == 401


@pytest.mark.django_db(transaction=True)  # the socket's consumer reads on a connection of its own
def test_a_websocket_ticket_works_once_and_only_for_its_users_projects() -> None:
    owner, stranger = UserFactory(), UserFactory()
    project = ProjectFactory(owner=owner)
    client = CommittingAPIClient()
    client.force_authenticate(owner)
    path = f"/ws/projects/{project.id}/"
    first = ticket(client)
    assert connect(f"{path}?ticket={first}", ORIGIN)[0] is True
    assert connect(f"{path}?ticket={first}", ORIGIN) == (False, 4401)  # used
    assert connect(f"{path}?ticket=made-up", ORIGIN) == (False, 4401)
    assert APIClient().post("/api/v1/auth/ws-ticket").status_code == 401
    other = CommittingAPIClient()
    other.force_authenticate(stranger)
    assert connect(f"{path}?ticket={ticket(other)}", ORIGIN) == (False, 4404)


@pytest.mark.worker
def test_a_program_logs_in_with_jwt_makes_a_film_and_follows_it_with_a_ticket(tmp_path: Path) -> None:
    user = UserFactory()
    pair = CommittingAPIClient().post(
        "/api/v1/auth/jwt", {"username": user.username, "password": PASSWORD}, format="json"
    )
    client = bearer(pair.json()["access"])
    created = client.post("/api/v1/projects", {"story": "Ada climbed the stairs. Pip followed her."}, format="json")
    assert created.status_code == 202, created.content
    project_id, task_id = created.json()["project"]["id"], created.json()["tasks"][0]["id"]
    path = f"/ws/projects/{project_id}/?ticket={ticket(client)}"

    async def follow() -> list[dict[str, Any]]:
        communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        events = [json.loads(await communicator.receive_from(timeout=5))]
        while not any(e.get("task", {}).get("id") == task_id and e["task"]["status"] == "finished" for e in events):
            events.append(json.loads(await communicator.receive_from(timeout=60)))
        await communicator.disconnect()
        return events

    with workers(tmp_path, "inference language"):
        events = asyncio.run(follow())
    assert events[0]["type"] == "hello"
    storyboard = client.get(f"/api/v1/projects/{project_id}/storyboard").json()
    assert len(storyboard["shots"]) >= 1
