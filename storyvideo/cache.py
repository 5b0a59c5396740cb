"""Django's Redis cache, failing open: while Redis is away a read finds nothing and a write is
dropped, so throttles let requests through instead of answering 500."""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

logger = logging.getLogger(__name__)


class RedisCache(DjangoRedisCache):
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except redis.RedisError as exc:
            logger.warning("Cache read skipped: Redis is unreachable (%s)", exc)
            return default

    def set(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except redis.RedisError as exc:
            logger.warning("Cache write skipped: Redis is unreachable (%s)", exc)
