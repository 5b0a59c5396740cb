"""One-use tickets that open a WebSocket as a user (``?ticket=…``), so that no long-lived
credential is put in a URL. ``POST /api/v1/auth/ws-ticket`` issues them."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache

TICKET_PREFIX = "ws-ticket:"


def ticket_issue(user_id: int) -> str:
    ticket = secrets.token_urlsafe(32)
    cache.set(TICKET_PREFIX + ticket, user_id, timeout=settings.WS_TICKET_TTL_S)
    return ticket


def ticket_redeem(ticket: str) -> Any:
    """The active user a ticket was issued to, once: a second use, or a late one, is None."""
    key = TICKET_PREFIX + ticket
    user_id = cache.get(key)
    if user_id is None or not cache.delete(key):  # of two sockets racing with one ticket, one wins
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


class TicketAuthMiddleware:
    """ASGI: a WebSocket whose query string has ``ticket=`` is that ticket's user (or anonymous
    where it is used, late or unknown); without one, the session's user stays."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        tickets = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket")
        if tickets:
            user = await database_sync_to_async(ticket_redeem)(tickets[0])
            scope = {**scope, "user": user or AnonymousUser()}
        return await self.inner(scope, receive, send)
