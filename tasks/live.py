"""Live updates: task changes (and whatever the apps publish) pushed to the project's Channels group after commit.

Channels delivery is at-most-once, so each message carries a per-project sequence number
(a Redis counter), the object's ids and version, and the time it was sent: a client that
sees a jump in ``seq`` knows it missed something and re-reads the storyboard over REST.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from core.redis import get_redis
from tasks.serializers import TaskSerializer

if TYPE_CHECKING:
    from tasks.models import Task

logger = logging.getLogger(__name__)


def group_name(project_id: uuid.UUID | str) -> str:
    return f"project.{project_id}"


def _send(project_id: uuid.UUID | str, kind: str, body: dict[str, Any]) -> None:
    try:
        counter: Any = get_redis().incr(f"storyvideo:seq:{project_id}")
        seq = int(counter)
        message = {
            "type": "project.event",
            "event": {
                "type": kind,
                "seq": seq,
                "projectId": str(project_id),
                "sentAt": timezone.now().isoformat(),
                **body,
            },
        }
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group_name(project_id), message)
    except Exception:  # a lost live update is repaired by the client's re-read; never fail the work
        logger.warning("Could not publish a %s update for project %s", kind, project_id, exc_info=True)


def current_seq(project_id: uuid.UUID | str) -> int:
    value: Any = get_redis().get(f"storyvideo:seq:{project_id}")
    return int(value) if value else 0


def publish_on_commit(project_id: uuid.UUID | str, kind: str, body: Callable[[], dict[str, Any]]) -> None:
    """Push an update (``kind``: what changed) to the project's group once the transaction
    commits; its JSON ``body`` is made then, from the committed state."""
    transaction.on_commit(lambda: _send(project_id, kind, body()))


def publish_task(task: Task) -> None:
    _send(task.project_id, "task", {"task": TaskSerializer(task).data})


def publish_task_on_commit(task: Task) -> None:
    transaction.on_commit(lambda: publish_task(task))
