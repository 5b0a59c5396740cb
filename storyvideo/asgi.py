import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storyvideo.settings")
django_asgi_app = get_asgi_application()

from django.core.signals import request_finished  # noqa: E402
from django.db import connections  # noqa: E402


def _close_the_requests_connections(**kwargs: object) -> None:
    """Django's ASGI handler runs each request on a thread of its own: a connection kept past the
    request (CONN_MAX_AGE) would outlive its thread, and a burst of requests would pile them up
    until PostgreSQL refuses more clients. So a request's connections end with it (Django's own
    advice for ASGI); the storyboard fast path keeps its few threads' connections. Only requests
    this handler serves: the test client's requests share the test's connection."""
    connections.close_all()


request_finished.connect(_close_the_requests_connections, sender=type(django_asgi_app))

import asyncio  # noqa: E402
import importlib  # noqa: E402
from typing import Any  # noqa: E402

from django.conf import settings  # noqa: E402


class AtMost:
    """At most ``limit`` requests in Django at once in this process; the rest wait their turn.
    Each request in Django holds a database connection on a thread of its own, so a burst (200
    watchers re-reading a project at once) would otherwise open one connection per request,
    past what PostgreSQL allows, and answer 500s."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit
        self.turns: asyncio.Semaphore | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.turns is None:  # made on the server's event loop
            self.turns = asyncio.Semaphore(self.limit)
        async with self.turns:
            await self.app(scope, receive, send)


from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs the apps loaded
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from core.middleware import BodyLimit  # noqa: E402
from projects.fastpath import StoryboardReads  # noqa: E402
from storyvideo.tickets import TicketAuthMiddleware  # noqa: E402
from tasks.routing import websocket_urlpatterns  # noqa: E402


class McpOrDjango:
    """``/mcp`` to the MCP server (storyvideo.mcp), every other path to Django. The SDK is
    imported with the first ``/mcp`` request (about a second), not at every web process's start."""

    def __init__(self, django: Any) -> None:
        self.django: Any = django
        self.mcp: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != "/mcp":
            await self.django(scope, receive, send)
            return
        if self.mcp is None:
            module = await asyncio.to_thread(importlib.import_module, "storyvideo.mcp")
            self.mcp = module.mcp_app()
        await self.mcp(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": BodyLimit(McpOrDjango(StoryboardReads(AtMost(django_asgi_app, settings.WEB_REQUESTS_AT_ONCE)))),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(TicketAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
