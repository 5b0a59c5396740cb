"""A project's own live updates (its status, its line and its film) on its channel (tasks.live carries them)."""

from __future__ import annotations

import uuid

from projects.models import Project
from projects.serializers import ProjectSerializer
from tasks import live


def publish_project_on_commit(project_id: uuid.UUID) -> None:
    live.publish_on_commit(
        project_id, "project", lambda: {"project": ProjectSerializer(Project.objects.get(pk=project_id)).data}
    )
