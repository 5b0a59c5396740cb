from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.throttling import SimpleRateThrottle

from core.api import error_body
from core.asking import asking_scope
from core.tracing import new_trace_id, trace

TRACE_HEADER_OK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MULTIPART_SLACK = 64 * 1024  # a multipart body's boundaries and headers around the file


class ApiPathMiddleware:
    """Serve every API route with and without its trailing slash, and trace each request.

    The canonical API paths have no trailing slash; ``/api/v1/projects/`` resolves to the same
    view (no redirect, which would turn a POST into a GET). The request's trace id (taken from
    ``X-Request-ID`` when it is well formed) is set for every log line and task it causes, and
    the work the request asks for is admitted in a scope of its own (``core.asking``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(("/api/", "/v1/api/")) and len(request.path_info) > 5:
            request.path_info = request.path_info.rstrip("/")
            too_large = self._refuse_large_body(request)
            if too_large is not None:
                return too_large
        supplied = request.headers.get("X-Request-ID", "")
        trace_id = supplied if TRACE_HEADER_OK.match(supplied) else new_trace_id()
        with trace(trace_id), asking_scope():
            response = self.get_response(request)
        response["X-Request-ID"] = trace_id
        return response

    @staticmethod
    def _refuse_large_body(request: HttpRequest) -> HttpResponse | None:
        """413 before reading a body over the limit (DRF's parsers read the stream directly,
        past Django's own DATA_UPLOAD_MAX_MEMORY_SIZE check). Under ASGI, ``BodyLimit`` has
        refused it already, before Django read a byte; this serves WSGI and the test client."""
        limit = body_limit(request.path_info)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= limit:
            return None
        return JsonResponse(_too_large(length, limit), status=413)


def body_limit(path: str) -> int:
    """The most bytes a request's body may hold on this path: an upload's own limit (and the
    multipart around it; the admin's file fields take the largest), else Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE."""
    path = path.rstrip("/")
    if path.startswith("/api/") and path.endswith("/music"):
        return int(settings.MUSIC_MAX_BYTES) + _MULTIPART_SLACK
    if path.startswith("/api/") and path.endswith("/media"):
        return int(settings.OWN_MEDIA_MAX_BYTES) + _MULTIPART_SLACK
    if path.startswith("/api/") and path.endswith("/projects/import"):
        return int(settings.BUNDLE_MAX_UNPACKED_BYTES) + _MULTIPART_SLACK
    if path.startswith("/admin/") and not path.startswith("/admin/login"):  # operators' file fields
        return max(int(settings.MUSIC_MAX_BYTES), int(settings.OWN_MEDIA_MAX_BYTES)) + _MULTIPART_SLACK
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + (0 if path.startswith("/api/") else _MULTIPART_SLACK)


def _too_large(length: int, limit: int, *, at_least: bool = False) -> dict[str, Any]:
    size = f"at least {length}" if at_least else f"{length}"
    return error_body("too_large", f"The request body is {size} bytes; the limit is {limit} bytes.")


class BodyLimit:
    """ASGI: a request body over its path's limit (``body_limit``) is refused as it streams in,
    before Django reads it: at once where Content-Length says so, else as soon as the bytes
    received pass the limit (the rest is never read). Django's ASGI handler would otherwise
    spool the whole body to disk before any middleware could answer, so an anonymous client
    could make the server store a body of any size."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send, _too_large(int(declared), limit))
            return
        received, over, answered = 0, False, False

        async def counted() -> Any:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # Django hears a client gone, and answers nothing
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Any) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, watched)
        if over and not answered:
            await self._refuse(send, _too_large(received, limit, at_least=True))

    @staticmethod
    async def _refuse(send: Any, body: dict[str, Any]) -> None:
        content = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": content})


class ContentSecurityPolicyMiddleware:
    """The app's own pages allow scripts and styles from this origin only (no inline script),
    so text from users and models can never run as code. The admin and the API docs keep
    Django's and Redoc's defaults."""

    POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    EXEMPT = ("/admin/", "/api/v1/docs")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.EXEMPT):
            response.setdefault("Content-Security-Policy", self.POLICY)
        return response


class LoginThrottle(SimpleRateThrottle):
    """Sign-in attempts per client address (``login`` rate) on the pages' and the admin's forms."""

    scope = "login"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginThrottleMiddleware:
    """Throttle POSTs to the sign-in and sign-up forms (the API's token and sign-up endpoints
    have their own throttles)."""

    PATHS = ("/accounts/login/", "/accounts/signup/", "/admin/login/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in self.PATHS:
            throttle = LoginThrottle()
            if not throttle.allow_request(request, None):  # type: ignore[arg-type]
                wait = max(1, int(throttle.wait() or 1))
                response = HttpResponse(
                    f"Too many sign-in attempts from here; try again in {wait} s.",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(wait)
                return response
        return self.get_response(request)
