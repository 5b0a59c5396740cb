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
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from core.redis import get_redis
from tasks.serializers import TaskSerializer

if TYPE_CHECKING:
    from tasks.models import Task

logger = logging.getLogger(__name__)


def group_name(project_id: uuid.UUID | str) -> str:
    return f"project.{project_id}"


def user_group_name(user_id: int) -> str:
    """Every socket of a user, whatever it watches: told when the user's rights end."""
    return f"user.{user_id}"


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


def access_changed(
    *, project_id: uuid.UUID | str | None = None, user_id: int | None = None, session_key: str | None = None
) -> None:
    """Tell the sockets watching the project (or the user's sockets) that a right was taken away:
    each checks again at once and closes where it may no longer watch. With ``session_key`` (a
    sign-out), the sockets of that session close whatever their rights."""
    message = {"type": "access.changed", "session": session_key}
    groups = [group_name(project_id)] if project_id is not None else []
    groups += [user_group_name(user_id)] if user_id is not None else []
    try:
        layer = get_channel_layer()
        for group in groups if layer is not None else []:
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # each socket also checks before it forwards anything: nothing leaks meanwhile
        logger.warning("Could not tell the sockets of %s that a right was taken away", groups, exc_info=True)


def access_changed_on_commit(*, project_id: uuid.UUID | str | None = None, user_id: int | None = None) -> None:
    transaction.on_commit(lambda: access_changed(project_id=project_id, user_id=user_id))


def _signed_out(sender: object, request: Any, user: Any, **kwargs: object) -> None:
    session = getattr(request, "session", None)
    if user is not None and session is not None and session.session_key:
        access_changed(user_id=user.pk, session_key=session.session_key)


def _account_changed(sender: object, instance: Any, **kwargs: object) -> None:
    if kwargs.get("signal") is post_delete or not instance.is_active:
        access_changed_on_commit(user_id=instance.pk)


def tell_sockets_of_signed_out_and_deactivated_accounts() -> None:
    """Connected at start-up (``TasksConfig.ready``)."""
    user_model = get_user_model()
    user_logged_out.connect(_signed_out, dispatch_uid="storyvideo.live.signed_out")
    post_save.connect(_account_changed, sender=user_model, dispatch_uid="storyvideo.live.account_saved")
    post_delete.connect(_account_changed, sender=user_model, dispatch_uid="storyvideo.live.account_deleted")


def current_seq(project_id: uuid.UUID | str) -> int:
    value: Any = get_redis().get(f"storyvideo:seq:{project_id}")
    return int(value) if value else 0


def publish_on_commit(project_id: uuid.UUID | str, kind: str, body: Callable[[], dict[str, Any]]) -> None:
    """Push an update (``kind``: what changed) to the project's group once the transaction
    commits; its JSON ``body`` is made then, from the committed state."""
    transaction.on_commit(lambda: _send(project_id, kind, body()))


def publish_task(task: Task) -> None:
    if task.project_id is None:  # work outside any film: its page asks for it (GET /api/v1/tasks/{id})
        return
    _send(task.project_id, "task", {"task": TaskSerializer(task).data})


def publish_task_on_commit(task: Task) -> None:
    transaction.on_commit(lambda: publish_task(task))
