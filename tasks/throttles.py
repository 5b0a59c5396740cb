"""Limits on how much work one user may ask for: a request rate (DRF's throttle, counted in
Redis) and the number of tasks waiting or running at once (counted in the database, against
the user's own quota or QUOTA_ACTIVE_TASKS). Work asked for on a project shared with the user
is its owner's, so it counts against the owner's tasks and quota. Both answer 429 with
Retry-After, and only on requests that ask for work (reads, cancels and deletes are never held
back)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import Throttled
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle, UserRateThrottle

from core.access import project_access
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
        owner = _owner(request, view)
        limit = user_limits(owner).active_tasks
        active = active_task_count(owner_id=owner)
        if active >= limit:
            who = "You have" if owner == request.user.pk else "The project's owner has"
            raise Throttled(
                wait=self.WAIT_S,
                detail=f"{who} {active} tasks waiting or running, the most allowed at once ({limit}): "
                "try again when some have finished (or cancel some).",
            )
        return True


def _owner(request: Any, view: Any) -> int:
    """Whose tasks the request would make: the owner of the project its route names (the
    requester's own, or one shared with them), else the requester's (also where the project is
    another's and not shared: the view answers 404, and the throttle tells nothing of it)."""
    for keyword, value in (getattr(view, "kwargs", None) or {}).items():
        owner = project_access().owner_of(request.user.pk, keyword, value)
        if owner is not None:
            return owner
    return int(request.user.pk)


GENERATION_THROTTLES: list[type[BaseThrottle]] = [GenerationRateThrottle, ActiveTasksThrottle]
