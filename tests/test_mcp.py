"""The MCP server at /mcp, driven as an agent drives it: the official SDK's own client over
Streamable HTTP on loopback, against the run's web server (daphne) and real workers."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from django.test import override_settings
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from accounts.tokens import token_create
from tests.clients import CommittingAPIClient
from tests.factories import ProjectFactory, UserFactory
from tests.workers import workers

pytestmark = pytest.mark.worker  # the web server is a process of its own
STORY = "Ada climbed the lighthouse stairs. Pip the cat followed her. Together they lit the lamp."
TOOLS = {
    "list_projects",
    "create_project",
    "get_storyboard",
    "edit_shot",
    "regenerate",
    "rewrite_shot",
    "render",
    "follow_task",
    "cancel_task",
    "export_urls",
}


def agent(base: str, token: str, work: Callable[[Client], Awaitable[Any]]) -> Any:
    """Run ``work`` with an MCP client connected to the server's /mcp with this token."""

    async def run() -> Any:
        http = httpx2.AsyncClient(headers={"Authorization": f"Token {token}"}, timeout=120)
        async with http, Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
            return await work(client)

    return asyncio.run(run())


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content)
    assert result.structured_content is not None, (tool, result)
    return dict(result.structured_content)


def error_of(result: Any) -> str:
    assert result.is_error, result
    return " ".join(getattr(part, "text", "") for part in result.content)


def test_an_agent_makes_a_film_entirely_through_tools(server: str, tmp_path: Path) -> None:
    user = UserFactory()
    token = token_create(user=user)

    async def work(client: Client) -> dict[str, Any]:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():  # every input and output has a JSON schema
            assert tool.input_schema["type"] == "object" and tool.output_schema is not None, tool.name
        assert tools["regenerate"].input_schema["properties"]["stage"]["enum"] == ["image", "motion", "speech"]

        made = await call(client, "create_project", story=STORY, shot_count=3, style="水彩", title="The Lamp")
        project = made["project"]
        assert (project["title"], project["style"]) == ("The Lamp", "watercolor")
        moves: list[tuple[float, str | None]] = []

        async def progress(done: float, total: float | None, message: str | None) -> None:
            moves.append((done, message))

        storyboard = next(task for task in made["tasks"] if task["kind"] == "storyboard")
        result = await client.call_tool("follow_task", {"task_id": storyboard["id"]}, progress_callback=progress)
        assert not result.is_error, result.content
        assert result.structured_content is not None and result.structured_content["status"] == "finished"
        assert moves and moves[-1][0] == 100 and (moves[-1][1] or "").startswith("finished")

        board = await call(client, "get_storyboard", project_id=project["id"])
        shots = board["shots"]
        assert len(shots) == 3
        edited = await call(client, "edit_shot", shot_id=shots[0]["id"], narration="The lamp shone.", camera="pan_left")
        assert (edited["narration"], edited["camera"]) == ("The lamp shone.", "pan_left")
        picture = await call(client, "regenerate", shot_id=shots[1]["id"], stage="image")
        assert (await call(client, "follow_task", task_id=picture["id"]))["status"] == "finished"
        # A rewrite is the language model's work: the live language worker said it has no weights
        # for the model, so the tool refuses at once, saying why (nothing is queued to fail later).
        refused = error_of(
            await client.call_tool("rewrite_shot", {"shot_id": shots[0]["id"], "instruction": "make it night"})
        )
        assert refused.startswith("Error executing tool rewrite_shot: No language worker can run "), refused
        assert "are not on disk" in refused and "(409)" in refused

        render = await call(client, "render", project_id=project["id"])
        assert (await call(client, "follow_task", task_id=render["id"]))["status"] == "finished"
        exports = await call(client, "export_urls", project_id=project["id"])
        listed = await call(client, "list_projects", query="lighthouse")
        assert [item["id"] for item in listed["results"]] == [project["id"]]
        return exports

    with workers(tmp_path, "inference language", "media"):
        exports = agent(server, token, work)
    assert exports["film"]["duration"] > 0 and exports["film"]["videoUrl"]
    request = urllib.request.Request(exports["exports"]["srt"], headers={"Authorization": f"Token {token}"})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
        assert answer.status == 200 and b"The lamp shone." in answer.read()


def test_another_users_project_is_invisible_and_a_bad_argument_is_a_clear_tool_error(server: str) -> None:
    owner, stranger = UserFactory(), UserFactory()
    theirs = ProjectFactory(owner=owner, title="Kept")
    api = CommittingAPIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=stranger)}")
    not_found = api.get(f"/api/v1/projects/{theirs.id}/storyboard").json()["error"]["message"]

    async def work(client: Client) -> None:
        assert (await call(client, "list_projects"))["count"] == 0
        hidden = error_of(await client.call_tool("get_storyboard", {"project_id": str(theirs.id)}))
        assert not_found in hidden and "(404)" in hidden  # the API's words, and nothing of the project
        assert "Kept" not in hidden
        bad = error_of(await client.call_tool("regenerate", {"shot_id": str(theirs.id), "stage": "paint"}))
        assert "stage" in bad
        empty = error_of(await client.call_tool("edit_shot", {"shot_id": str(theirs.id)}))
        assert "Give at least one of prompt" in empty
        both = error_of(await client.call_tool("create_project", {"story": STORY, "idea": "a cat"}))
        assert "either a story or an idea" in both
        unreadable = error_of(await client.call_tool("create_project", {"story": "..."}))
        assert "no words a voice can read" in unreadable and '"story"' in unreadable
        # Their own work: a project from an idea (its story task), and a task cancelled.
        drafted = await call(client, "create_project", idea="a lighthouse cat who saves a boat", language="en")
        assert (drafted["project"]["ownerId"], drafted["task"]["kind"]) == (stranger.pk, "story")
        made = await call(client, "create_project", story=STORY)
        cancelled = await call(client, "cancel_task", task_id=made["tasks"][0]["id"])
        assert cancelled["status"] == "cancelled"
        again = error_of(await client.call_tool("cancel_task", {"task_id": made["tasks"][0]["id"]}))
        assert "already cancelled" in again and "(409)" in again

    agent(server, token_create(user=stranger), work)

    # Without credentials, or with wrong ones: 401 in the API's shape, before any MCP exchange.
    for header in ({}, {"Authorization": "Token not-a-token"}, {"Authorization": "Bearer not.a.jwt"}):
        request = urllib.request.Request(f"{server}/mcp", data=b"{}", headers=header, method="POST")  # noqa: S310 - loopback
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback
        assert refused.value.code == 401
        assert json.loads(refused.value.read())["error"]["code"] == "not_authenticated"


@override_settings(CORS_ALLOWED_ORIGINS=["https://agent.example.com"])
def test_a_listed_origin_may_reach_mcp_without_cookies() -> None:
    from storyvideo.mcp import mcp_app

    app = mcp_app()
    sent: list[dict[str, Any]] = []

    async def preflight() -> None:
        scope = {
            "type": "http",
            "method": "OPTIONS",
            "path": "/mcp",
            "headers": [
                (b"origin", b"https://agent.example.com"),
                (b"access-control-request-method", b"POST"),
                (b"access-control-request-headers", b"authorization, mcp-protocol-version"),
            ],
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)

    asyncio.run(preflight())
    headers = {name.decode(): value.decode() for name, value in sent[0]["headers"]}
    assert sent[0]["status"] == 200  # answered before any credentials are asked for
    assert headers["access-control-allow-origin"] == "https://agent.example.com"
    assert "authorization" in headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in headers
