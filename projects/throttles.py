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


class NewProjectsThrottle(BaseThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method != "POST" or not request.user.is_authenticated:
            return True
        limit = user_limits(request.user).projects_per_hour
        hour_ago = timezone.now() - timedelta(hours=1)
        recent = list(
            Project.objects.filter(owner_id=request.user.pk, created_at__gte=hour_ago)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            wait = (recent[-1] - hour_ago).total_seconds()
            raise Throttled(
                wait=max(1, wait),
                detail=f"You have made {limit} projects in the last hour, the most allowed: "
                f"the next may be made in {max(1, round(wait / 60))} min.",
            )
        return True


NEW_PROJECT_THROTTLES = [*GENERATION_THROTTLES, NewProjectsThrottle]
