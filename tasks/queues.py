"""The RQ queues: ``inference`` (pictures, clips, voices), ``language`` (the language model's
work: storyboards, rewrites, translations, stories), which has a worker of its own so a long
answer never holds up another film's pictures, and ``media`` (ffmpeg)."""

from __future__ import annotations

import json
import os
import socket
from typing import cast

from django.conf import settings
from rq import Queue

from core.redis import get_redis

# Each kind of work names its queue in its declaration (tasks.registry).
INFERENCE = "inference"
LANGUAGE = "language"
MEDIA = "media"
QUEUES = (INFERENCE, LANGUAGE, MEDIA)


def get_queue(name: str) -> Queue:
    return Queue(name, connection=get_redis(), default_timeout=settings.TASK_TIMEOUT_S)


# Presence: each worker process says every second that it is alive, in a key that lapses
# WORKER_PRESENCE_TTL_S after the last word. RQ's own registry keeps a killed worker for up to
# its worker_ttl + 60 s, and a worker busy with an in-process job does not beat there at all.
def _presence_key(queue: str) -> str:
    return f"storyvideo:alive:{queue}:{socket.gethostname()}:{os.getpid()}"


def presence_beat(queue: str, cannot: dict[str, list[str]] | None = None) -> None:
    """Say this worker is alive, and what of its queue's work it cannot do here (kind -> [with
    what, why])."""
    get_redis().set(_presence_key(queue), json.dumps(cannot or {}).encode(), ex=settings.WORKER_PRESENCE_TTL_S)


def presence_end(queue: str) -> None:
    get_redis().delete(_presence_key(queue))


def why_no_worker_can(*, queue: str, kind: str, configuration: str = "") -> str | None:
    """Why none of the live workers of ``queue`` can do ``kind``'s work with ``configuration``
    (each said why with its presence), or None: one can (or says nothing of that configuration),
    or none is live (the work then waits for one)."""
    redis = get_redis()
    keys = list(redis.scan_iter(match=f"storyvideo:alive:{queue}:*", count=1000))
    reasons = []
    for value in cast(list[bytes | None], redis.mget(keys) if keys else []):
        if value is None:
            continue  # lapsed between the scan and the read
        said = None if value == b"1" else json.loads(value).get(kind)  # "1": a worker of an earlier version
        if said is None or said[0] != configuration:
            return None
        reasons.append(said[1])
    return reasons[0] if reasons else None


def live_workers() -> dict[str, set[tuple[str, int]]]:
    """Per queue, the (hostname, pid) of every worker process that said it is alive."""
    alive: dict[str, set[tuple[str, int]]] = {queue: set() for queue in QUEUES}
    for key in get_redis().scan_iter(match="storyvideo:alive:*", count=1000):
        _, _, queue, host, pid = key.decode().split(":", 4)
        alive.setdefault(queue, set()).add((host, int(pid)))
    return alive
