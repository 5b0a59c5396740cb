"""The storyboard re-read, answered before Django's request cycle.

The editor re-reads its storyboard after every live event and API clients poll it; almost all of
those reads are of a version already served: answered 304, or with the body made for that
version the first time. Such an answer needs three things only: who asks (DRF's token check in
one statement, or Django's own session check), the version (one SQL statement,
``selectors.storyboard_version_of``, which also checks that the project is theirs) and the
stored body. Anything else (no credentials, wrong ones, another's project, a host not allowed,
plain HTTP where HTTPS is required, a version whose body was never made, a query string, a
repeated header, a path Django's converter would not take, an error) goes on to Django, which
answers as it always does; so this adds no answer Django would not give. The headers are those
Django's middleware put on its own answer (security, CSP, Vary), and the request is counted in
the metrics like any other.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user, get_user_model
from django.core.cache import cache
from django.db import close_old_connections, connection, connections
from django.http import Http404, HttpRequest
from django.http.request import split_domain_port, validate_host
from django.utils.module_loading import import_string
from django.utils.translation import get_language_from_request

from accounts.models import ApiToken
from accounts.tokens import token_digest
from core.metrics import request_observed
from core.middleware import TRACE_HEADER_OK
from core.tracing import new_trace_id
from projects.selectors import storyboard_body_key, storyboard_version_of

logger = logging.getLogger("storyvideo.fastpath")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Exactly the ids Django's ``<uuid:…>`` converter takes (lowercase), with no trailing slash.
STORYBOARD = re.compile(r"^/api/v1/projects/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/storyboard$")

# Headers Django's middleware adds to a storyboard answer, learnt from the first one it gives
# in this process (they do not depend on the request: security headers, CSP, Vary).
_learnt: list[tuple[bytes, bytes]] | None = None
_PER_ANSWER = {
    b"etag",
    b"content-length",
    b"content-type",
    b"set-cookie",
    b"date",
    b"server",
    b"content-language",
    b"x-request-id",
}


def _served_here(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """What Django's middleware would refuse or redirect before the view (a host not allowed,
    plain HTTP where HTTPS is required) is left to it."""
    host = headers.get(b"host", b"").decode("latin-1")
    if settings.USE_X_FORWARDED_HOST and b"x-forwarded-host" in headers:
        host = headers[b"x-forwarded-host"].decode("latin-1").rsplit(",", 1)[-1].strip()
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    if settings.SECURE_SSL_REDIRECT and scope.get("scheme") != "https":
        proxy: tuple[str, str] | None = settings.SECURE_PROXY_SSL_HEADER
        if proxy is None:
            return False
        header = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        return headers.get(header, b"").decode("latin-1").split(",")[0].strip() == proxy[1]
    return True


def _request(headers: dict[bytes, bytes]) -> HttpRequest:
    """The request as Django's session and locale functions read it: cookies and languages."""
    request = HttpRequest()
    cookies = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
    request.COOKIES = {name: morsel.value for name, morsel in cookies.items()}
    request.META["HTTP_ACCEPT_LANGUAGE"] = headers.get(b"accept-language", b"").decode("latin-1")
    return request


def _user_id(headers: dict[bytes, bytes], request: HttpRequest) -> int | None:
    """Who asks, as DRF's TokenAuthentication and Django's session would say; None for anyone
    they would not let in (Django then answers them)."""
    authorization = headers.get(b"authorization", b"").decode("latin-1").split()
    if authorization:
        if len(authorization) != 2:
            return None
        if authorization[0] == "Bearer":
            return _jwt_user_id(authorization[1])
        if authorization[0].lower() != "token":
            return None
        return _token_user_id(authorization[1])
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if session_key is None:
        return None
    request.session = import_string(settings.SESSION_ENGINE + ".SessionStore")(session_key)
    user = get_user(request)  # Django's own: the session's user, its password hash checked
    return int(user.pk) if user.is_authenticated else None


def _token_user_id(key: str) -> int | None:
    """TokenAuthentication's check (the key's user, active) in one statement: the ORM's query
    building cost more than the rest of a re-read."""
    token, users = ApiToken._meta.db_table, get_user_model()._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.id FROM {token} t JOIN {users} u ON u.id = t.user_id WHERE t.digest = %s AND u.is_active",  # noqa: S608 - table names from the models
            [token_digest(key)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _jwt_user_id(raw: str) -> int | None:
    """JWTAuthentication's check: a valid, unexpired access token of an active user."""
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

    authentication = JWTAuthentication()
    try:
        user = authentication.get_user(authentication.get_validated_token(raw.encode()))
    except (InvalidToken, AuthenticationFailed):
        return None
    return int(user.pk) if user.is_active else None


Answer = tuple[int, str, bytes, str]  # status, ETag, body, language


def _answer(headers: dict[bytes, bytes], project_id: str, started: float) -> Answer | None:
    try:
        answer = _storyboard(headers, project_id)
    except Exception:  # Django answers instead, as it would have (and says why in its own way)
        logger.exception("The storyboard fast path failed; Django answers")
        return None
    if answer is not None:
        request_observed("GET", answer[0], time.monotonic() - started)
    return answer


def _storyboard(headers: dict[bytes, bytes], project_id: str) -> Answer | None:
    close_old_connections()
    request = _request(headers)
    user_id = _user_id(headers, request)
    if user_id is None:
        return None
    try:
        version = storyboard_version_of(user_id=user_id, project_id=project_id)
    except Http404:
        return None
    # The language LocaleMiddleware would pick: its cookie, else Accept-Language, else the default.
    etag, language = f'"{version}"', get_language_from_request(request)
    wanted = headers.get(b"if-none-match", b"").decode("latin-1")
    if etag in [tag.strip() for tag in wanted.split(",")]:
        return 304, etag, b"", language
    body = cache.get(storyboard_body_key(version, language))
    return None if body is None else (200, etag, body, language)


class StoryboardReads:
    """ASGI middleware in front of Django's HTTP application (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, threads: int = 4) -> None:
        self.app, self.threads = app, threads
        # Its own threads, each with its own database connection (kept, as Django keeps its own).
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="storyboard-reads")
        self.answer = sync_to_async(_answer, thread_sensitive=False, executor=self.executor)

    def close(self) -> None:
        """Close every thread's database connections, then end the threads (tests, a shutdown)."""
        everyone = threading.Barrier(self.threads)  # one call on each thread: none can take two

        def close_here() -> None:
            connections.close_all()
            everyone.wait(timeout=10)

        for done in [self.executor.submit(close_here) for _ in range(self.threads)]:
            done.result()
        self.executor.shutdown()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = STORYBOARD.match(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        if match is None or scope["query_string"] or _learnt is None:
            await self.app(scope, receive, send if match is None else self._learning(send))
            return
        headers = dict(scope["headers"])
        # A repeated header is one value to Django ("a,b"), another to a dict: Django answers it.
        if len(headers) != len(scope["headers"]) or not _served_here(scope, headers):
            await self.app(scope, receive, send)
            return
        answer = await self.answer(headers, match[1], time.monotonic())
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, etag, body, language = answer
        supplied = headers.get(b"x-request-id", b"").decode("latin-1")
        trace_id = supplied if TRACE_HEADER_OK.match(supplied) else new_trace_id()
        out = [
            *_learnt,
            (b"etag", etag.encode()),
            (b"cache-control", b"private, no-cache"),
            (b"x-request-id", trace_id.encode()),
            (b"content-language", language.encode()),
        ]
        if status == 200:
            out += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _learning(send: Send) -> Send:
        async def learn(message: Message) -> None:
            global _learnt
            if _learnt is None and message["type"] == "http.response.start" and message["status"] in (200, 304):
                _learnt = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in _PER_ANSWER and name.lower() != b"cache-control"
                ]
            await send(message)

        return learn
