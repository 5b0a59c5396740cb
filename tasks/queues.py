"""The RQ queues: ``inference`` (pictures, clips, voices), ``language`` (the language model's
work: storyboards, rewrites, translations, stories), which has a worker of its own so a long
answer never holds up another film's pictures, and ``media`` (ffmpeg)."""

from __future__ import annotations

import os
import socket

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


def presence_beat(queue: str) -> None:
    get_redis().set(_presence_key(queue), b"1", ex=settings.WORKER_PRESENCE_TTL_S)


def presence_end(queue: str) -> None:
    get_redis().delete(_presence_key(queue))


def live_workers() -> dict[str, set[tuple[str, int]]]:
    """Per queue, the (hostname, pid) of every worker process that said it is alive."""
    alive: dict[str, set[tuple[str, int]]] = {queue: set() for queue in QUEUES}
    for key in get_redis().scan_iter(match="storyvideo:alive:*", count=1000):
        _, _, queue, host, pid = key.decode().split(":", 4)
        alive.setdefault(queue, set()).add((host, int(pid)))
    return alive
