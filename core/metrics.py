"""Request counts and durations, added to a Redis hash by every web process (the composition
root's ``/metrics`` reads them with the task figures)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.redis import get_redis

REQUESTS_KEY = "storyvideo:metrics:requests"


class RequestMetricsMiddleware:
    """Count every request by method and status class, with its duration."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        request_observed(request.method or "", response.status_code, time.perf_counter() - started)
        return response


def request_observed(method: str, status: int, seconds: float) -> None:
    """Count one answered request by method and status class, with its duration."""
    label = f"{method}:{status // 100}xx"
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.hincrby(REQUESTS_KEY, f"count:{label}", 1)
        pipe.hincrbyfloat(REQUESTS_KEY, f"seconds:{label}", seconds)
        pipe.execute()
    except Exception:  # metrics never fail a request  # noqa: S110
        pass
