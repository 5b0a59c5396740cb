"""A right taken away ends the sockets that relied on it (issue 25, finding 1): a removed member's
open socket once went on receiving the new title, the whole story, narration and signed media
URLs, since the right was checked only at connect."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from projects.models import Member, Project
from storyvideo.asgi import application
from tasks.consumers import RIGHT_CHECKED_FOR_S
from tasks.live import publish_on_commit
from tests.clients import CommittingAPIClient
from tests.factories import ProjectFactory, UserFactory

# The sockets check rights on threads of their own connections: the data is committed.
pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_NOT_FOUND, CLOSED_SIGNED_OUT = 4404, 4401


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def socket_headers(client: Client) -> list[tuple[bytes, bytes]]:
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return [(b"cookie", cookie.encode()), (b"origin", b"http://localhost"), (b"host", b"localhost")]


def api_as(user: Any) -> CommittingAPIClient:
    client = CommittingAPIClient()
    client.force_authenticate(user)
    return client


async def open_socket(path: str, client: Client) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, path, headers=socket_headers(client))
    connected, _ = await socket.connect(timeout=5)
    assert connected
    return socket


async def close_code(socket: WebsocketCommunicator, act: Callable[[], Awaitable[Any]]) -> int:
    """Do ``act``, then wait for the socket's close: its code. Anything else that arrives first
    fails the test (it would be project content sent after the right ended). How soon it closes
    is measured in bench/revocation.py, not here."""
    await act()
    message = await socket.receive_output(timeout=30)
    assert message["type"] == "websocket.close", f"received after the right ended: {message}"
    return int(message["code"])


def test_a_removed_member_is_closed_at_once_and_receives_nothing_more() -> None:
    owner, viewer = UserFactory(), UserFactory()
    project = ProjectFactory(owner=owner)
    Member.objects.create(project=project, user=viewer, role=Member.Role.VIEWER)
    other = ProjectFactory(owner=owner)
    Member.objects.create(project=other, user=viewer, role=Member.Role.VIEWER)
    owners_api, viewers_browser = api_as(owner), signed_in(viewer)

    async def scenario() -> int:
        watching = await open_socket(f"/ws/projects/{project.id}/", viewers_browser)
        still_shared = await open_socket(f"/ws/projects/{other.id}/", viewers_browser)
        for socket in (watching, still_shared):
            assert (await socket.receive_json_from(timeout=5))["type"] == "hello"

        async def remove() -> None:
            answer = await sync_to_async(owners_api.delete)(f"/api/v1/projects/{project.id}/members/{viewer.pk}")
            assert answer.status_code == 204, answer.content
            await sync_to_async(publish_on_commit)(project.id, "project", lambda: {"project": {"title": "Secret"}})

        code = await close_code(watching, remove)
        # The member's socket on the project still shared with them stays open and is told.
        await sync_to_async(publish_on_commit)(other.id, "project", lambda: {"project": {"title": "Shared"}})
        assert (await still_shared.receive_json_from(timeout=5))["project"] == {"title": "Shared"}
        await still_shared.disconnect()
        return code

    code = async_to_sync(scenario)()
    assert code == CLOSED_NOT_FOUND


def test_an_event_is_forwarded_only_after_a_recent_check_of_the_right() -> None:
    """Even with no word that a right ended (here the membership row is deleted behind the
    application's back), the first event once the last check is a second old finds it gone and
    closes the socket instead."""
    owner, viewer = UserFactory(), UserFactory()
    project = ProjectFactory(owner=owner)
    Member.objects.create(project=project, user=viewer, role=Member.Role.VIEWER)
    viewers_browser = signed_in(viewer)

    async def scenario() -> int:
        socket = await open_socket(f"/ws/projects/{project.id}/", viewers_browser)
        assert (await socket.receive_json_from(timeout=5))["type"] == "hello"

        def behind_the_back() -> None:
            time.sleep(RIGHT_CHECKED_FOR_S)  # the check at connect is as old as any may be
            Member.objects.filter(project=project).delete()  # a queryset delete: no service, no word
            publish_on_commit(project.id, "project", lambda: {"project": {"title": "A secret title"}})

        return await close_code(socket, sync_to_async(behind_the_back))

    code = async_to_sync(scenario)()
    assert code == CLOSED_NOT_FOUND


def test_deleting_the_project_closes_every_socket_on_it() -> None:
    owner, editor = UserFactory(), UserFactory()
    project = ProjectFactory(owner=owner)
    Member.objects.create(project=project, user=editor, role=Member.Role.EDITOR)
    browsers, owners_api = [signed_in(owner), signed_in(editor)], api_as(owner)

    async def scenario() -> list[int]:
        sockets = [await open_socket(f"/ws/projects/{project.id}/", browser) for browser in browsers]
        for socket in sockets:
            assert (await socket.receive_json_from(timeout=5))["type"] == "hello"

        async def delete() -> None:
            answer = await sync_to_async(owners_api.delete)(f"/api/v1/projects/{project.id}")
            assert answer.status_code == 204, answer.content

        first = await close_code(sockets[0], delete)
        return [first, await close_code(sockets[1], lambda: asyncio.sleep(0))]

    closes = async_to_sync(scenario)()
    assert not Project.objects.filter(pk=project.pk).exists()
    assert closes == [CLOSED_NOT_FOUND, CLOSED_NOT_FOUND]


def test_a_deactivated_account_is_closed_at_once() -> None:
    owner = UserFactory()
    project = ProjectFactory(owner=owner)
    browser = signed_in(owner)

    async def scenario() -> int:
        socket = await open_socket(f"/ws/projects/{project.id}/", browser)
        assert (await socket.receive_json_from(timeout=5))["type"] == "hello"

        def deactivate() -> None:
            owner.is_active = False
            owner.save(update_fields=["is_active"])

        return await close_code(socket, sync_to_async(deactivate))

    code = async_to_sync(scenario)()
    assert code == CLOSED_NOT_FOUND


def test_signing_out_closes_that_sessions_sockets_only() -> None:
    owner = UserFactory()
    project = ProjectFactory(owner=owner)
    laptop, phone = signed_in(owner), signed_in(owner)

    async def scenario() -> int:
        on_laptop = await open_socket(f"/ws/projects/{project.id}/", laptop)
        on_phone = await open_socket(f"/ws/projects/{project.id}/", phone)
        for socket in (on_laptop, on_phone):
            assert (await socket.receive_json_from(timeout=5))["type"] == "hello"

        async def sign_out() -> None:
            assert (await sync_to_async(laptop.post)("/accounts/logout/")).status_code == 302

        code = await close_code(on_laptop, sign_out)
        # The phone's session is still signed in: its socket stays and answers.
        await on_phone.send_json_to({"type": "ping"})
        assert (await on_phone.receive_json_from(timeout=5)) == {"type": "pong"}
        await on_phone.disconnect()
        return code

    code = async_to_sync(scenario)()
    assert code == CLOSED_SIGNED_OUT
