"""Limits on how much work one user may ask for: a request rate (DRF's throttle, counted in
Redis) and the number of tasks waiting or running at once (counted in the database, against
the user's own quota or QUOTA_ACTIVE_TASKS). Both answer 429 with Retry-After, and only on
requests that ask for work (reads, cancels and deletes are never held back)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import Throttled
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle, UserRateThrottle

from tasks.selectors import active_task_count, user_limits


class GenerationRateThrottle(UserRateThrottle):
    scope = "generate"

    def allow_request(self, request: Any, view: Any) -> bool:
        return request.method in SAFE_METHODS or super().allow_request(request, view)


class ActiveTasksThrottle(BaseThrottle):
    WAIT_S = 30

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method in SAFE_METHODS or not request.user.is_authenticated:
            return True
        limit = user_limits(request.user).active_tasks
        active = active_task_count(owner=request.user)
        if active >= limit:
            raise Throttled(
                wait=self.WAIT_S,
                detail=f"You have {active} tasks waiting or running, the most allowed at once ({limit}): "
                "try again when some have finished (or cancel some).",
            )
        return True


GENERATION_THROTTLES: list[type[BaseThrottle]] = [GenerationRateThrottle, ActiveTasksThrottle]
