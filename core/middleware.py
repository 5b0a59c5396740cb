from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.throttling import SimpleRateThrottle

from core.api import error_body
from core.tracing import new_trace_id, trace

TRACE_HEADER_OK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MULTIPART_SLACK = 64 * 1024  # a multipart body's boundaries and headers around the file


class ApiPathMiddleware:
    """Serve every API route with and without its trailing slash, and trace each request.

    The canonical API paths have no trailing slash; ``/api/v1/projects/`` resolves to the same
    view (no redirect, which would turn a POST into a GET). The request's trace id (taken from
    ``X-Request-ID`` when it is well formed) is set for every log line and task it causes.
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
        with trace(trace_id):
            response = self.get_response(request)
        response["X-Request-ID"] = trace_id
        return response

    @staticmethod
    def _refuse_large_body(request: HttpRequest) -> HttpResponse | None:
        """413 before reading a body over the limit (DRF's parsers read the stream directly,
        past Django's own DATA_UPLOAD_MAX_MEMORY_SIZE check)."""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request.path_info.endswith("/music"):
            limit = settings.MUSIC_MAX_BYTES + _MULTIPART_SLACK
        elif request.path_info.endswith("/media"):
            limit = settings.OWN_MEDIA_MAX_BYTES + _MULTIPART_SLACK
        elif request.path_info.endswith("/projects/import"):
            limit = settings.BUNDLE_MAX_UNPACKED_BYTES + _MULTIPART_SLACK
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is None or length <= limit:
            return None
        body = error_body("too_large", f"The request body is {length} bytes; the limit is {limit} bytes.")
        return JsonResponse(body, status=413)


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
    """Throttle POSTs to the sign-in forms (the API's token endpoint has its own throttle)."""

    PATHS = ("/accounts/login/", "/admin/login/")

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
