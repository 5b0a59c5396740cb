"""What a task engine needs to know of work that runs these engines, and cannot know itself:
which errors a retry can help, how a batch splits when it runs out of memory, what an attempt
used, and what to end when the worker running it stops. The film's kinds of work declare
:data:`ENGINES` as their policy (``tasks.registry.Policy``); nothing here imports Django.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from inference.errors import DiskFullError, EngineError
from inference.media import stop_running_ffmpeg
from inference.models import in_halves_on_oom
from inference.usage import Usage, metering

logger = logging.getLogger("storyvideo.engines")
T = TypeVar("T")
R = TypeVar("R")


class EnginePolicy:
    def failure(self, exc: BaseException) -> tuple[str, bool, bool] | None:
        """(message, permanent, waits). An engine's error says itself whether it is permanent; a
        full disk waits for space to be freed. Anything else is unexpected."""
        if isinstance(exc, DiskFullError) or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):
            return str(DiskFullError()), False, True
        if isinstance(exc, EngineError):
            return str(exc), exc.permanent, False
        return None

    def in_parts(self, run: Callable[[list[T]], list[R]], items: list[T]) -> list[R]:
        """Out of memory, a batch is split in halves, each run in turn; a single item that still
        does not fit is a transient EngineError that says what to do."""

        def on_split(first: int, second: int) -> None:
            logger.warning(
                "Out of memory with a batch of %d; trying halves of %d and %d", first + second, first, second
            )

        return in_halves_on_oom(run, items, on_split=on_split)

    @contextmanager
    def metered(self) -> Iterator[Usage]:
        with metering() as usage:
            yield usage

    def stop(self) -> int:
        """The ffmpegs the running work started; how many were ended."""
        return stop_running_ffmpeg()


ENGINES = EnginePolicy()
