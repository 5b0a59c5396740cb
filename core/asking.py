"""The work a request asks for, admitted where it is made.

A request opens a scope (``ApiPathMiddleware``); a view that may make work says so by letting
its generation throttle register the person asking and how to count the request against their
rate (``asking_register``). The task engine admits the request when it makes the first task of
an owner, inside the transaction that makes it (``tasks.quota.admit``): the owner's limits are
checked under a lock on their row, so concurrent requests take turns, and a request that makes
no work (a rename, a delete, a cancel) is neither held back nor counted. Outside a request (a
worker's follow-up work, a command) nothing is asked: the work was admitted when it was asked for.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Asking:
    user_id: int | None = None  # who asks; None until a view that makes work registers them
    count_rate: Callable[[], None] | None = None  # counts the request against their rate, or raises
    admitted: set[int] = field(default_factory=set)  # owners whose limits this request passed


_current: contextvars.ContextVar[Asking | None] = contextvars.ContextVar("asking", default=None)


@contextmanager
def asking_scope() -> Iterator[Asking]:
    """One request's scope: whatever a view registers in it ends with the request."""
    scope = Asking()
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def asking_register(*, user_id: int, count_rate: Callable[[], None]) -> bool:
    """The request may make work for ``user_id``; ``count_rate`` is called once, when it first
    does. False outside a request's scope (the caller then counts at once)."""
    scope = _current.get()
    if scope is None:
        return False
    scope.user_id, scope.count_rate = user_id, count_rate
    return True


def asking_now() -> Asking | None:
    """The request's scope where a view registered who asks, else None (nothing to admit)."""
    scope = _current.get()
    return scope if scope is not None and scope.user_id is not None else None
