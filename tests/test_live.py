"""The project's WebSocket: who may join, and what arrives, in order, while real work runs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from projects.models import Project
from projects.pipeline import project_render
from storyvideo.asgi import application
from tasks.models import Task
from tests.factories import ProjectFactory, ShotFactory, UserFactory
from tests.workers import workers

pytestmark = pytest.mark.django_db


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

    with workers(tmp_path, "inference language"):
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


@pytest.mark.worker
def test_two_hundred_watchers_of_one_render_all_end_with_its_final_state(
    rendered: Project, server: str, tmp_path: Path
) -> None:
    """Issue 12's load point: 200 browsers on one project while it renders. Each follows the
    stream as the editor does (a gap in the sequence numbers is a re-read of the project) and
    must end with the film the database holds."""
    import aiohttp

    watchers = 200
    client = Client()
    client.force_login(rendered.owner)
    headers = {"Origin": server, "Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    url = f"{server.replace('http', 'ws', 1)}/ws/projects/{rendered.id}/"
    before = rendered.render_hash
    shot = rendered.shots.order_by("order").first()
    assert shot is not None

    def done(state: dict[str, Any]) -> bool:
        # the film is new, its task ended and the project's status settled (derived just after
        # the compose's own commit, so it may come last)
        return (
            state.get("version") not in (None, before)
            and state.get("compose") in ("finished", "failed")
            and state.get("status") in ("rendered", "failed")
        )

    async def reread(session: aiohttp.ClientSession, state: dict[str, Any]) -> None:
        """What the editor does on a gap in the sequence or a new socket: read the storyboard again."""
        async with session.get(f"{server}/api/v1/projects/{rendered.id}/storyboard", headers=headers) as response:
            board = await response.json()
        project = board["project"]
        state.update(status=project["status"], version=(project["render"] or {}).get("version"))
        compose = [task for task in board["tasks"] if task["kind"] == "compose"]
        if compose and state.get("version") not in (None, before):
            state["compose"] = compose[0]["status"]

    async def watch(session: aiohttp.ClientSession, ready: asyncio.Queue[int]) -> dict[str, Any]:
        state: dict[str, Any] = {"gaps": 0, "compose": None, "reconnects": 0}
        first = True
        while not done(state):
            try:
                async with session.ws_connect(url, headers=headers, heartbeat=None) as socket:
                    seq = (await socket.receive_json(timeout=60))["seq"]
                    if first:
                        await ready.put(seq)
                        first = False
                    else:  # a socket the server dropped (a client too slow to answer its ping, under load)
                        await reread(session, state)
                    while not done(state):
                        event = await socket.receive_json(timeout=120)
                        if event["seq"] != seq + 1:  # missed something: read it again, as the editor does
                            state["gaps"] += 1
                            await reread(session, state)
                        seq = event["seq"]
                        if event["type"] == "project":
                            project = event["project"]
                            state.update(status=project["status"], version=(project["render"] or {}).get("version"))
                        elif event["type"] == "task" and event["task"]["kind"] == "compose":
                            state["compose"] = event["task"]["status"]
            except (aiohttp.ClientError, TypeError):  # closed under it (TypeError: a close frame read as JSON)
                if first:
                    raise
                state["reconnects"] += 1
        return state

    async def crowd() -> list[dict[str, Any]]:
        ready: asyncio.Queue[int] = asyncio.Queue()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            running = [asyncio.create_task(watch(session, ready)) for _ in range(watchers)]
            for _ in range(watchers):
                await asyncio.wait_for(ready.get(), timeout=120)
            shot.pinned_duration = 5.0  # an edit, then the render every watcher sees
            await database_sync_to_async(shot.save)()
            await database_sync_to_async(project_render)(project=rendered)
            return await asyncio.gather(*running)

    with workers(tmp_path, "media"):
        states = asyncio.run(crowd())
    rendered.refresh_from_db()
    assert rendered.render_hash != before and rendered.status == "rendered"
    finals = {(s["status"], s["version"], s["compose"]) for s in states}
    assert finals == {("rendered", rendered.render_hash, "finished")}, finals
