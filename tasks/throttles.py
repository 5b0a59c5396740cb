"""Limits on how much work one user may ask for: a request rate (DRF's throttle, counted in
Redis) and the number of tasks waiting or running at once (counted in the database, against
the user's own quota or QUOTA_ACTIVE_TASKS). Work asked for on a project shared with the user
is its owner's, so it counts against the owner's tasks and quota. Both answer 429 with
Retry-After.

Both are applied where the work is made (``admit``, called by ``task_create``), not before the
request: a request that makes no task (a rename, a delete, a cancel, a read) is never held back
and never counted, and the active-task limit is checked under a lock on the owner's row in the
transaction that makes the tasks, so concurrent requests cannot all pass one check (a limit of 2
once ended with 17 tasks). A request refused there makes nothing: its transaction rolls back."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.exceptions import Throttled
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle, UserRateThrottle

from core.asking import Asking, asking_register
from tasks.selectors import active_task_count, user_limits

ACTIVE_WAIT_S = 30  # Retry-After when the active-task limit is reached


class GenerationRateThrottle(UserRateThrottle):
    """Counts a request against the person's rate when it first makes work (``admit``)."""

    scope = "generate"

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method in SAFE_METHODS or request.method == "DELETE" or not request.user.is_authenticated:
            return True  # a delete is never held back, nor the recompose that follows it

        def count_rate() -> None:
            if not super(GenerationRateThrottle, self).allow_request(request, view):
                raise Throttled(wait=self.wait())

        if not asking_register(user_id=int(request.user.pk), count_rate=count_rate):
            count_rate()  # no request scope to defer to (a view called outside the middleware)
        return True


def owner_lock(owner_id: int) -> None:
    """Lock the owner's user row until the caller's transaction ends: requests that take from the
    same owner's limits take turns."""
    list(get_user_model().objects.select_for_update().filter(pk=owner_id).values_list("pk", flat=True))


def admit(asking: Asking, owner_id: int) -> None:
    """Admit the request's work for ``owner_id`` once: the active-task limit, under a lock on the
    owner's row (the caller's transaction holds it until it commits), then the request's rate.
    Raises Throttled (429) otherwise."""
    if owner_id in asking.admitted:
        return
    with transaction.atomic():
        owner_lock(owner_id)
        limit = user_limits(owner_id).active_tasks
        active = active_task_count(owner_id=owner_id)
        if active >= limit:
            who = "You have" if owner_id == asking.user_id else "The project's owner has"
            raise Throttled(
                wait=ACTIVE_WAIT_S,
                detail=f"{who} {active} tasks waiting or running, the most allowed at once ({limit}): "
                "try again when some have finished (or cancel some).",
            )
        if asking.count_rate is not None:
            count, asking.count_rate = asking.count_rate, None
            count()
    asking.admitted.add(owner_id)


GENERATION_THROTTLES: list[type[BaseThrottle]] = [GenerationRateThrottle]
