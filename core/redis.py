"""The Redis connection every process shares: queues, locks, live updates, counters."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def get_redis() -> redis.Redis:
    """One connection pool per process (RQ needs bytes, so responses are not decoded)."""
    return redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30, socket_connect_timeout=5)
