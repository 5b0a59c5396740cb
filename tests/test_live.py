"""The project's WebSocket: who may join, and what arrives, in order, while real work runs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from storyvideo.asgi import application
from tasks.models import Task
from tests.factories import ProjectFactory, ShotFactory, UserFactory
from tests.workers import workers

pytestmark = pytest.mark.django_db(transaction=True)


def session_headers(user: Any, origin: str = "http://localhost") -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return [(b"cookie", cookie.encode()), (b"origin", origin.encode()), (b"host", b"localhost")]


async def _connect(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[bool, Any, WebsocketCommunicator]:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return connected, code, communicator


def connect(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[bool, Any]:
    async def attempt() -> tuple[bool, Any]:
        connected, code, communicator = await _connect(path, headers)
        if connected:
            await communicator.disconnect()
        return connected, code

    return async_to_sync(attempt)()


def test_the_socket_refuses_anonymous_users_foreign_origins_and_other_users_projects() -> None:
    owner, stranger = UserFactory(), UserFactory()
    project = ProjectFactory(owner=owner)
    path = f"/ws/projects/{project.id}/"
    assert connect(path, [(b"origin", b"http://localhost"), (b"host", b"localhost")]) == (False, 4401)
    assert connect(path, session_headers(owner, origin="http://evil.example"))[0] is False
    assert connect(path, session_headers(stranger)) == (False, 4404)
    assert connect(path, session_headers(owner))[0] is True


@pytest.mark.worker
def test_the_owner_receives_task_and_shot_updates_in_order(tmp_path: Path) -> None:
    owner = UserFactory()
    project = ProjectFactory(owner=owner)
    shot = ShotFactory(project=project, prompt="test:sleep:1", narration="")
    headers = session_headers(owner)

    async def watch() -> list[dict[str, Any]]:
        connected, _, communicator = await _connect(f"/ws/projects/{project.id}/", headers)
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        assert hello["type"] == "hello"
        events: list[dict[str, Any]] = []
        from channels.db import database_sync_to_async

        from tasks.services import task_create

        task = await database_sync_to_async(task_create)(
            kind="image", project=project, shot=shot, params={"version": shot.image_version}
        )
        while True:
            event = json.loads(await communicator.receive_from(timeout=30))
            events.append(event)
            if event["type"] == "shot":
                break
        await communicator.disconnect()
        assert all(e.get("task", {}).get("id", str(task.id)) == str(task.id) for e in events)
        return events

    with workers(tmp_path, "inference"):
        events = asyncio.run(watch())
    seqs = [event["seq"] for event in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no gap while nothing was lost"
    statuses = [event["task"]["status"] for event in events if event["type"] == "task"]
    assert statuses[0] == "pending" and "processing" in statuses and statuses[-1] == "finished"
    progress = [
        event["task"]["progress"]
        for event in events
        if event["type"] == "task" and event["task"]["status"] == "processing"
    ]
    assert progress == sorted(progress) and max(progress) > 0
    assert events[-1]["shot"]["id"] == str(shot.id) and events[-1]["shot"]["image"]["url"]
    assert all(event["projectId"] == str(project.id) and event["sentAt"] for event in events)
    assert Task.objects.get(shot=shot).status == "finished"
