"""A trace id that follows work from the request that started it to every task it caused."""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

_trace_id: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="-")


def current_trace_id() -> str:
    return _trace_id.get()


def new_trace_id() -> str:
    return uuid.uuid4().hex[:16]


@contextmanager
def trace(trace_id: str) -> Iterator[str]:
    token = _trace_id.set(trace_id or "-")
    try:
        yield trace_id
    finally:
        _trace_id.reset(token)


class TraceFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = _trace_id.get()
        return True
