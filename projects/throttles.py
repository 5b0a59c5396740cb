"""New projects per hour per user (made or imported), counted in the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from projects.models import Project
from tasks.selectors import user_limits
from tasks.throttles import GENERATION_THROTTLES


def new_projects_allowed(user: Any, count: int = 1) -> None:
    """Raise Throttled (429 with Retry-After) unless ``count`` more projects fit in the user's
    hourly allowance now; the wait is until enough of the last hour's projects age out."""
    limit = user_limits(int(user.pk)).projects_per_hour
    if count > limit:
        raise Throttled(wait=3600, detail=f"At most {limit} projects may be made in an hour; send fewer at once.")
    hour_ago = timezone.now() - timedelta(hours=1)
    recent = list(
        Project.objects.filter(owner_id=user.pk, created_at__gte=hour_ago)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
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
