"""New projects per hour per user (made, imported, duplicated or drafted), counted in the
database: each project made leaves a row (``ProjectMade``) that deleting it does not remove, and
the rows are taken under a lock on the user's row, in the transaction that makes the projects, so
concurrent requests cannot all pass one check (60 at once against 30 an hour once made 42)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from projects.models import ProjectMade
from tasks.selectors import user_limits
from tasks.throttles import GENERATION_THROTTLES, owner_lock


def new_projects_take(*, owner_id: int, count: int = 1) -> None:
    """Count ``count`` new projects against the owner's hourly allowance, or raise Throttled.
    Call it in the transaction that makes them: a lock on the owner's row makes concurrent
    creations take turns, and a creation that fails gives its rows back with its rollback."""
    with transaction.atomic():
        owner_lock(owner_id)
        _allowed(owner_id, count)
        ProjectMade.objects.bulk_create([ProjectMade(owner_id=owner_id) for _ in range(count)])


def new_projects_allowed(user: Any, count: int = 1) -> None:
    """Raise Throttled (429 with Retry-After) unless ``count`` more projects fit in the user's
    hourly allowance now (a check before the work, not a promise: ``new_projects_take`` is)."""
    _allowed(int(user.pk), count)


def _allowed(owner_id: int, count: int) -> None:
    """The wait is until enough of the last hour's projects age out."""
    limit = user_limits(owner_id).projects_per_hour
    if count > limit:
        raise Throttled(wait=3600, detail=f"At most {limit} projects may be made in an hour; send fewer at once.")
    hour_ago = timezone.now() - timedelta(hours=1)
    recent = list(
        ProjectMade.objects.filter(owner_id=owner_id, made_at__gte=hour_ago)
        .order_by("-made_at")
        .values_list("made_at", flat=True)[:limit]
    )
    over = len(recent) + count - limit
    if over > 0:
        wait = (recent[len(recent) - over] - hour_ago).total_seconds()
        raise Throttled(
            wait=max(1, wait),
            detail=f"You have made {len(recent)} projects in the last hour, of {limit} allowed: "
            f"{'the next' if count == 1 else f'{count} more'} may be made in {max(1, round(wait / 60))} min.",
        )


class NewProjectsThrottle(BaseThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method == "POST" and request.user.is_authenticated:
            new_projects_allowed(request.user)
        return True


NEW_PROJECT_THROTTLES = [*GENERATION_THROTTLES, NewProjectsThrottle]
