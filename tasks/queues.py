"""The Redis connection and the two RQ queues: ``inference`` (model work) and ``media``."""

from __future__ import annotations

import functools

import redis
from django.conf import settings
from rq import Queue

INFERENCE = "inference"
MEDIA = "media"
QUEUE_FOR_KIND = {
    "storyboard": INFERENCE,
    "image": INFERENCE,
    "motion": INFERENCE,
    "speech": INFERENCE,
    "compose": MEDIA,
    "webhook": MEDIA,
}


@functools.cache
def get_redis() -> redis.Redis:
    """One connection pool per process (RQ needs bytes, so responses are not decoded)."""
    return redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30, socket_connect_timeout=5)


def get_queue(name: str) -> Queue:
    return Queue(name, connection=get_redis(), default_timeout=settings.TASK_TIMEOUT_S)


def queue_for_kind(kind: str) -> Queue:
    return get_queue(QUEUE_FOR_KIND[kind])
