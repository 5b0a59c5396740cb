"""A shot's live updates, on its project's channel (tasks.live carries them)."""

from __future__ import annotations

import uuid

from shots.models import Shot
from shots.serializers import ShotSerializer
from tasks import live


def publish_shot_on_commit(shot: Shot) -> None:
    live.publish_on_commit(shot.project_id, "shot", lambda: {"shot": ShotSerializer(shot).data})


def publish_storyboard_on_commit(project_id: uuid.UUID) -> None:
    """Shots were added, removed or reordered: clients re-read the storyboard."""
    live.publish_on_commit(project_id, "storyboard", dict)
