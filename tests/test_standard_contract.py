"""The "StoryToVideo standard" contract (/v1/api/...), from its examples: a client written against
it makes a film through these routes, with real workers, and follows a task over its socket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from accounts.tokens import token_create
from projects.models import Project
from shots.models import Shot
from storyvideo.asgi import application
from tests.clients import CommittingAPIClient
from tests.factories import ProjectFactory, ShotFactory, UserFactory
from tests.test_live import session_headers
from tests.workers import wait_for, workers

pytestmark = pytest.mark.django_db
STORY = "Ada climbed the lighthouse stairs. Pip the cat followed her. The lamp was cold. Together they lit it."


def token_client(user: Any) -> APIClient:
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user)}")
    return client


def task_of(client: APIClient, task_id: str) -> dict[str, Any]:
    answer = client.get(f"/v1/api/tasks/{task_id}")
    assert answer.status_code == 200, answer.content
    task = answer.json()["task"]
    assert {"id", "projectId", "type", "status", "progress", "message"} <= set(task)
    return dict(task)


def finished(client: APIClient, task_id: str, timeout: float = 120) -> dict[str, Any]:
    task = wait_for(
        lambda: (t := task_of(client, task_id))["status"] in ("finished", "failed", "cancelled") and t,
        timeout=timeout,
        what=f"task {task_id}",
    )
    assert task["status"] == "finished", task
    return dict(task)


def follow(path: str, headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    """Every message of a task's socket until the server closes it."""

    async def run() -> list[dict[str, Any]]:
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        messages: list[dict[str, Any]] = []
        while True:
            output = await communicator.receive_output(timeout=60)
            if output["type"] == "websocket.close":
                return messages
            messages.append(json.loads(output["text"]))

    # A channel layer binds its locks to the event loop that first uses it: each socket's loop
    # gets a layer of its own, as each test does (tests/conftest.py).
    channel_layers.backends.clear()
    try:
        return asyncio.run(run())
    finally:
        channel_layers.backends.clear()


@pytest.mark.worker
def test_a_client_of_the_standard_contract_makes_a_film(tmp_path: Path) -> None:
    """The standard's whole flow as its Qt client runs it: create with its example's values
    (Style=电影), follow the text task and the shot tasks listed at creation over their sockets,
    update a shot with query parameters, speech, the film, and read the result."""
    user = UserFactory()
    client = token_client(user)
    assert client.get("/v1/api/health").status_code == 200

    created = client.post(f"/v1/api/projects?Title=demo&StoryText={STORY}&Style=电影&ShotCount=4")
    assert created.status_code == 202, created.content
    body = created.json()
    assert set(body) == {"project_id", "text_task_id", "shot_task_ids"}
    assert len(body["shot_task_ids"]) == 4
    project_id = body["project_id"]
    assert task_of(client, body["text_task_id"])["type"] == "text"
    assert {task_of(client, task_id)["type"] for task_id in body["shot_task_ids"]} == {"shot"}
    project = client.get(f"/v1/api/projects/{project_id}").json()
    assert (project["title"], project["style"], project["shotCount"]) == ("demo", "cinematic", 4)

    with workers(tmp_path, "inference language", "media"):
        text = follow(f"/tasks/{body['text_task_id']}/wss", session_headers(user))
        assert text[-1]["task"]["status"] == "finished", text[-1]
        shots = client.get(f"/v1/api/projects/{project_id}/shots").json()
        assert len(shots) == 4
        for shot, task_id in zip(shots, body["shot_task_ids"], strict=True):  # in order, each its shot's
            messages = follow(f"/tasks/{task_id}/wss", session_headers(user))
            assert (messages[-1]["task"]["status"], messages[-1]["task"]["shotId"]) == ("finished", shot["id"])
        shot_id = shots[0]["id"]
        assert client.get(f"/v1/api/projects/{project_id}/shots/{shot_id}").json()["id"] == shot_id

        # Update a shot with query parameters, as the contract has it; its picture is made again.
        query = urlencode({"prompt": "a lighthouse lamp glowing at night", "transition": "fade"})
        updated = client.post(f"/v1/api/projects/{project_id}/shots/{shot_id}?{query}")
        assert updated.status_code == 200, updated.content
        assert set(updated.json()) == {"shot_id", "task_id", "message"}
        assert task_of(client, updated.json()["task_id"])["type"] == "shot"
        # …and with a JSON body, which the contract lists as missing.
        again = client.post(
            f"/v1/api/projects/{project_id}/shots/{shot_id}", {"prompt": "the lamp, closer"}, format="json"
        )
        assert again.status_code == 200, again.content
        image = finished(client, again.json()["task_id"])
        assert image["shotId"] == shot_id
        shot = Shot.objects.get(pk=shot_id)
        assert (shot.prompt, shot.transition) == ("the lamp, closer", "fade")

        spoken = client.post(f"/v1/api/projects/{project_id}/tts")
        assert spoken.status_code == 202, spoken.content
        assert len(spoken.json()["task_ids"]) == 4
        for task_id in spoken.json()["task_ids"]:
            assert task_of(client, task_id)["type"] == "tts"

        video = client.post(f"/v1/api/projects/{project_id}/video", {"force": True}, format="json")
        assert video.status_code == 202, video.content
        # The per-task socket: the task now, each change, then it closes once the task ended.
        messages = follow(f"/tasks/{video.json()['task_id']}/wss", session_headers(user))
        assert all(message["task"]["id"] == video.json()["task_id"] for message in messages)
        assert messages[-1]["task"]["type"] == "video" and messages[-1]["task"]["status"] == "finished"
    film = client.get(f"/v1/api/projects/{project_id}").json()["render"]
    assert film is not None and film["duration"] > 0

    renamed = client.put(f"/v1/api/projects/{project_id}?{urlencode({'Title': 'The Lamp, again'})}")
    assert renamed.status_code == 200 and renamed.json()["title"] == "The Lamp, again"
    renamed = client.put(f"/v1/api/projects/{project_id}", {"Title": "By JSON"}, format="json")
    assert renamed.json()["title"] == "By JSON"
    assert client.delete(f"/v1/api/shots/{shot_id}").status_code == 204
    assert client.get(f"/v1/api/projects/{project_id}/shots/{shot_id}").status_code == 404
    assert client.delete(f"/v1/api/projects/{project_id}").status_code == 204
    assert not Project.objects.filter(pk=project_id).exists()


def test_the_contracts_routes_validate_and_scope_as_v1() -> None:
    owner, stranger = UserFactory(), UserFactory()
    project = ProjectFactory(owner=owner, title="Kept")
    shot = ShotFactory(project=project)
    client, other = token_client(owner), token_client(stranger)

    missing = client.post("/v1/api/projects?Title=No+story")
    assert missing.status_code == 400
    assert "StoryText" in missing.json()["error"]["fields"]
    wrong = client.put(f"/v1/api/projects/{project.id}?ShotCount=0")
    assert wrong.status_code == 400 and set(wrong.json()["error"]["fields"]) == {"ShotCount"}
    unknown = client.put(f"/v1/api/projects/{project.id}", {"Colour": "red"}, format="json")
    assert unknown.status_code == 400 and "Colour" in unknown.json()["error"]["fields"]
    long = client.post(f"/v1/api/projects/{project.id}/shots/{shot.id}", {"prompt": "x" * 2001}, format="json")
    assert long.status_code == 400 and "prompt" in long.json()["error"]["fields"]
    project.refresh_from_db()
    assert project.title == "Kept" and Project.objects.count() == 1

    elsewhere = ProjectFactory(owner=owner)
    assert client.get(f"/v1/api/projects/{elsewhere.id}/shots/{shot.id}").status_code == 404  # not its shot
    for method, url in [
        ("get", f"/v1/api/projects/{project.id}"),
        ("put", f"/v1/api/projects/{project.id}?Title=Taken"),
        ("delete", f"/v1/api/projects/{project.id}"),
        ("get", f"/v1/api/projects/{project.id}/shots"),
        ("post", f"/v1/api/projects/{project.id}/shots/{shot.id}?prompt=mine"),
        ("delete", f"/v1/api/shots/{shot.id}"),
        ("post", f"/v1/api/projects/{project.id}/video"),
        ("post", f"/v1/api/projects/{project.id}/tts"),
    ]:
        answer = getattr(other, method)(url)
        assert answer.status_code == 404, (url, answer.status_code)
        assert answer.json()["error"]["code"] == "not_found"
    assert APIClient().get(f"/v1/api/projects/{project.id}").status_code == 401
    project.refresh_from_db()
    assert project.title == "Kept" and project.shots.count() == 1
