"""An MCP server at ``/mcp`` (Streamable HTTP, the official ``mcp`` SDK): the tools an agent needs
to make a film, each one call of the v1 API as the caller.

Every tool is a request to the v1 API made inside this process through Django's whole middleware
chain, with the caller's own ``Authorization`` header (an API token or a JWT): the same services,
owner scoping, quotas, throttles and validation as a client over HTTP, and an error comes back as
an MCP tool error carrying the API's own message. No session state is kept between requests
(stateless Streamable HTTP), so any web process can answer any request; a tool that follows a
task streams its progress as MCP progress notifications in the answer to that call.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test.client import RequestFactory
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

FORWARDED = ("authorization", "host", "x-forwarded-for", "x-forwarded-proto", "accept-language", "x-request-id")
ENDED = ("finished", "failed", "cancelled")

server = MCPServer(
    "StoryVideo",
    instructions=(
        "Turn a written story (Chinese or English) into a narrated film: create a project from a story "
        "or an idea, follow its tasks, read the storyboard, edit or rewrite shots, make one stage of a "
        "shot again, render the film and get its download links. Ids are UUIDs from earlier answers."
    ),
)
_django = WSGIHandler()  # the whole middleware chain, as a request over HTTP meets it


def _call(method: str, path: str, headers: dict[str, str], body: dict[str, Any] | None, address: str) -> Any:
    """One v1 API request as the caller (from ``address``, as the audit log and throttles see it);
    its JSON answer, or a ToolError with the API's message."""
    extra: dict[str, Any] = {
        f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items() if name != "host"
    }
    host = headers.get("host", "")
    factory = RequestFactory(SERVER_NAME=host.rsplit(":", 1)[0] or "localhost", REMOTE_ADDR=address or "127.0.0.1")
    request = factory.generic(
        method, path, json.dumps(body) if body is not None else "", content_type="application/json", **extra
    )
    if host:
        request.META["HTTP_HOST"] = host
    response = _django.get_response(request)
    try:
        content = getattr(response, "content", b"")
        answer = json.loads(content) if content else None
    except ValueError:
        raise ToolError(f"The API answered {response.status_code} with something other than JSON.") from None
    finally:
        response.close()  # request_finished: the request's database connection is tidied as any request's
    if response.status_code >= 400:
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        message = error.get("message") or f"The API answered {response.status_code}."
        fields = error.get("fields") or {}
        raise ToolError(f"{message} ({response.status_code})" + (f" Fields: {json.dumps(fields)}" if fields else ""))
    return answer


async def _api(ctx: Context, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {name.lower(): value for name, value in (ctx.headers or {}).items() if name.lower() in FORWARDED}
    client = getattr(getattr(ctx.request_context, "request", None), "client", None)
    return await sync_to_async(_call)(method, path, headers, body, getattr(client, "host", ""))


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


Id = Annotated[str, Field(description="A UUID from an earlier answer.")]
Stage = Literal["image", "motion", "speech"]
Camera = Literal["static", "zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down"]
Transition = Literal["cut", "fade", "dissolve", "wipe_left", "wipe_right", "slide_left", "slide_right"]


@server.tool()
async def list_projects(
    ctx: Context,
    query: Annotated[str, Field(description="Words of the title, description or story.")] = "",
    status: Annotated[str, Field(description="Only projects in this status (draft, ready, rendered…).")] = "",
    page: Annotated[int, Field(ge=1)] = 1,
) -> dict[str, Any]:
    """Your projects and those shared with you, most recently changed first (20 a page)."""
    params = {key: value for key, value in (("q", query), ("status", status), ("page", page)) if value}
    return dict(await _api(ctx, "GET", "/api/v1/projects?" + urlencode(params)))


@server.tool()
async def create_project(
    ctx: Context,
    story: Annotated[str, Field(description="The story to film. Give this or idea.")] = "",
    idea: Annotated[str, Field(description="An idea the language model writes a story from, instead.")] = "",
    title: str = "",
    style: Annotated[str, Field(description="A preset (cinematic, watercolor, 电影, 水彩…) or any words.")] = "",
    shot_count: Annotated[int | None, Field(ge=1, le=60)] = None,
    language: Literal["", "en", "zh"] = "",
) -> dict[str, Any]:
    """A new project: from a story, its storyboard task starts at once; from an idea, a story is
    written first (edit it, then start its storyboard). Answers the project and its tasks."""
    if bool(story) == bool(idea):
        raise ToolError("Give either a story or an idea.")
    if idea:
        return dict(await _api(ctx, "POST", "/api/v1/stories/draft", _given(idea=idea, language=language or None)))
    body = _given(
        story=story, title=title or None, style=style or None, shotCount=shot_count, language=language or None
    )
    return dict(await _api(ctx, "POST", "/api/v1/projects", body))


@server.tool()
async def get_storyboard(ctx: Context, project_id: Id) -> dict[str, Any]:
    """The project with its characters, its shots in order and each shot's latest tasks."""
    return dict(await _api(ctx, "GET", f"/api/v1/projects/{project_id}/storyboard"))


@server.tool()
async def edit_shot(
    ctx: Context,
    shot_id: Id,
    prompt: Annotated[str | None, Field(description="What the picture shows (English for the image models).")] = None,
    narration: str | None = None,
    camera: Camera | None = None,
    transition: Transition | None = None,
    speaker_id: Annotated[str | None, Field(description="A character's id; empty: the narrator.")] = None,
) -> dict[str, Any]:
    """Change a shot: only what changed is made again (a new prompt, a new picture; new narration,
    new speech), and the film is recomposed if it had one."""
    body = _given(prompt=prompt, narration=narration, camera=camera, transition=transition)
    if speaker_id is not None:
        body["speakerId"] = speaker_id or None
    if not body:
        raise ToolError("Give at least one of prompt, narration, camera, transition, speaker_id.")
    return dict(await _api(ctx, "PATCH", f"/api/v1/shots/{shot_id}", body))


@server.tool()
async def regenerate(ctx: Context, shot_id: Id, stage: Stage, force: bool = False) -> dict[str, Any]:
    """Make one stage of one shot again (a new picture draws a new seed unless it is pinned);
    ``force`` replaces a file the person uploaded. Answers its task."""
    return dict(await _api(ctx, "POST", f"/api/v1/shots/{shot_id}/generate", {"stage": stage, "force": force}))


@server.tool()
async def rewrite_shot(
    ctx: Context,
    shot_id: Id,
    instruction: Annotated[str, Field(description='What to change, as "make it night, closer on the cat".')],
) -> dict[str, Any]:
    """Have the language model rewrite a shot's prompt and narration on an instruction. Answers its task."""
    return dict(await _api(ctx, "POST", f"/api/v1/shots/{shot_id}/refine", {"instruction": instruction}))


@server.tool()
async def render(ctx: Context, project_id: Id, force: bool = False) -> dict[str, Any]:
    """Compose the film once the shots are made; ``force`` renders although some shots failed."""
    return dict(await _api(ctx, "POST", f"/api/v1/projects/{project_id}/render", {"force": force}))


@server.tool()
async def follow_task(
    ctx: Context, task_id: Id, timeout_s: Annotated[float, Field(gt=0, le=3600)] = 600
) -> dict[str, Any]:
    """Wait for a task to end, sending its progress as it moves; answers the task as it ended (or
    as it is when ``timeout_s`` runs out)."""
    deadline = time.monotonic() + timeout_s
    said: tuple[Any, ...] = ()
    while True:
        task = dict(await _api(ctx, "GET", f"/api/v1/tasks/{task_id}"))
        now = (task["status"], task["progress"], task["message"])
        if now != said:
            said = now
            await ctx.report_progress(task["progress"], 100, f"{task['status']}: {task['message']}".strip(": "))
        if task["status"] in ENDED or time.monotonic() > deadline:
            return task
        await asyncio.sleep(0.5)


@server.tool()
async def cancel_task(ctx: Context, task_id: Id) -> dict[str, Any]:
    """Cancel a blocked, queued or running task (and what waits on it)."""
    return dict(await _api(ctx, "POST", f"/api/v1/tasks/{task_id}/cancel"))


@server.tool()
async def export_urls(ctx: Context, project_id: Id) -> dict[str, Any]:
    """Where to download the film and its exports: the video, poster, subtitles and timeline
    (signed links), and each export format's URL (fetched with the same Authorization header)."""
    project = await _api(ctx, "GET", f"/api/v1/projects/{project_id}")
    if not project["render"]:
        raise ToolError("The project has no film yet: render it, then follow the render task.")
    from projects.exports import exports_offered

    host = next((value for name, value in (ctx.headers or {}).items() if name.lower() == "host"), "localhost")
    base = f"{'https' if settings.HTTPS else 'http'}://{host}/api/v1/projects/{project_id}/exports"
    exports = {export.name: f"{base}/{export.name}" for export in exports_offered()}
    return {"film": project["render"], "exports": exports}


class McpApp:
    """``/mcp`` in the ASGI application: refuses a request without valid credentials (401, as the
    API does), then hands it to the SDK's session manager, which runs in a task group of its own
    on the server's event loop, started with the first request."""

    def __init__(self) -> None:
        self._managers: dict[asyncio.AbstractEventLoop, tuple[StreamableHTTPSessionManager, asyncio.Event]] = {}
        self._serving: set[asyncio.Task[None]] = set()  # each manager's task, held while its loop runs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", [])}
        if not await sync_to_async(_authenticated)(headers.get("authorization", "")):
            body = {"error": {"code": "not_authenticated", "message": _NOT_AUTHENTICATED, "fields": {}}}
            await _json(send, 401, body, [(b"www-authenticate", b'Token realm="api"')])
            return
        manager = await self._manager()
        await manager.handle_request(scope, receive, send)

    async def _manager(self) -> StreamableHTTPSessionManager:
        loop = asyncio.get_running_loop()
        if loop not in self._managers:  # nothing awaited between the check and the entry: one per loop
            manager = StreamableHTTPSessionManager(
                app=server._lowlevel_server,  # the SDK's low-level server, mounted in our own ASGI app
                stateless=True,
                # Every request needs a token or JWT (never a cookie), and each tool's API call meets
                # Django's ALLOWED_HOSTS with the request's Host: the SDK's own host check would repeat it.
                security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            )
            started = asyncio.Event()

            async def serve() -> None:
                async with manager.run():
                    started.set()
                    await asyncio.Event().wait()  # for the life of the event loop

            self._managers[loop] = (manager, started)
            self._serving.add(loop.create_task(serve()))
        manager, started = self._managers[loop]
        await started.wait()
        return manager


_NOT_AUTHENTICATED = "Send an API token or a JWT: Authorization: Token … or Authorization: Bearer …."


def _authenticated(authorization: str) -> bool:
    """Whether the header carries a valid API token or JWT (DRF's own authenticators)."""
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

    from accounts.tokens import HashedTokenAuthentication

    words = authorization.split()
    if len(words) != 2:
        return False
    try:
        if words[0].lower() == "token":
            user = HashedTokenAuthentication().authenticate_credentials(words[1])[0]
        elif words[0].lower() == "bearer":
            jwt = JWTAuthentication()
            user = jwt.get_user(jwt.get_validated_token(words[1].encode()))
        else:
            return False
    except (AuthenticationFailed, InvalidToken, TokenError):
        return False
    return bool(user and user.is_active)


async def _json(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": data})


def mcp_app() -> Any:
    """``/mcp`` as mounted: browsers on ``CORS_ALLOWED_ORIGINS`` may call it as the API (tokens,
    never cookies; preflights answered before authentication)."""
    from starlette.middleware.cors import CORSMiddleware

    return CORSMiddleware(
        McpApp(),
        allow_origins=settings.CORS_ALLOWED_ORIGINS,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=list(settings.CORS_ALLOW_HEADERS),
        expose_headers=["Mcp-Session-Id"],
        allow_credentials=False,
    )
