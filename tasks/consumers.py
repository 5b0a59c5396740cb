"""The live channels: a project's task and shot updates pushed to the browsers of those who
may see it, and one task's updates (the "StoryToVideo standard" contract's ``/tasks/{id}/wss``).

A right is checked at connect, and again before an event is forwarded where the last check is
over a second old (a socket of a crowd of watchers would otherwise cost three queries per event);
taking a right away (a member removed, the project deleted, the account deactivated, a sign-out)
tells the sockets at once (``tasks.live.access_changed``): each checks then, and those that may
no longer watch close."""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model

from core.access import project_access
from tasks.live import current_seq, group_name, user_group_name
from tasks.models import Task
from tasks.serializers import TaskSerializer, standard_task

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
RIGHT_CHECKED_FOR_S = 1.0


class _Watcher(AsyncJsonWebsocketConsumer):
    """A socket that forwards one project's events to one user while, and only while, the user may
    see the project."""

    project_id: str = ""
    groups: tuple[str, ...] = ()
    ended: bool = False
    checked_at: float = float("-inf")

    async def watch(self, project_id: object) -> None:
        self.project_id = str(project_id)
        self.groups = (group_name(self.project_id), user_group_name(self.scope["user"].pk))
        for group in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        for group in self.groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def end(self, code: int) -> None:
        if not self.ended:
            self.ended = True
            await self.close(code=code)

    async def may_still_watch(self, *, at_once: bool = False) -> bool:
        if not at_once and time.monotonic() - self.checked_at < RIGHT_CHECKED_FOR_S:
            return True
        if not await database_sync_to_async(_may_watch)(self.scope["user"].pk, self.project_id):
            return False
        self.checked_at = time.monotonic()
        return True

    async def access_changed(self, message: dict[str, Any]) -> None:
        session = self.scope.get("session")
        signed_out = message.get("session")
        if signed_out and session is not None and session.session_key == signed_out:
            await self.end(CLOSE_UNAUTHENTICATED)
        elif not self.ended and not await self.may_still_watch(at_once=True):
            await self.end(CLOSE_NOT_FOUND)

    async def project_event(self, message: dict[str, Any]) -> None:
        if self.ended:
            return
        if not await self.may_still_watch():
            await self.end(CLOSE_NOT_FOUND)
            return
        await self.forward(message["event"])

    async def forward(self, event: dict[str, Any]) -> None:
        raise NotImplementedError


class ProjectConsumer(_Watcher):
    """Authenticated by the session; only a user who may see the project (its owner, or one it
    is shared with: ``core.access``) may join its group. The first
    message says the current sequence number, so the client knows where the stream starts."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        project_id = self.scope["url_route"]["kwargs"]["project_id"]
        if await database_sync_to_async(project_access().role_of)(user.pk, project_id) is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.watch(project_id)
        await self.accept()
        seq = await database_sync_to_async(current_seq)(project_id)
        await self.send_json({"type": "hello", "projectId": str(project_id), "seq": seq})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def forward(self, event: dict[str, Any]) -> None:
        await self.send_json(event)


class TaskConsumer(_Watcher):
    """One task's progress, as the standard contract has it: ``{"task": {"id", "projectId",
    "type", "status", "progress", "message", ...}}`` now and at each change, closed once the task
    has ended. Authenticated by the session or a one-use ticket (``?ticket=``); a task of a
    project the user may not see closes with 4404, as one that does not exist."""

    task_id: str = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.task_id = str(self.scope["url_route"]["kwargs"]["task_id"])
        task = await database_sync_to_async(_visible_task)(user.pk, self.task_id)
        if task is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.watch(task.project_id)
        await self.accept()
        # Read again after joining: a change between the first read and the join is not lost.
        task = await database_sync_to_async(Task.objects.get)(pk=self.task_id)
        await self._send_task(await database_sync_to_async(lambda: TaskSerializer(task).data)())

    async def forward(self, event: dict[str, Any]) -> None:
        if event.get("type") == "task" and event["task"].get("id") == self.task_id:
            await self._send_task(event["task"])

    async def _send_task(self, data: dict[str, Any]) -> None:
        await self.send_json(standard_task(data))
        if data["status"] in Task.ENDED:
            await self.end(1000)


def _may_watch(user_id: int, project_id: str) -> bool:
    active = get_user_model().objects.filter(pk=user_id, is_active=True).exists()
    return active and project_access().role_of(user_id, project_id) is not None


def _visible_task(user_id: int, task_id: str) -> Task | None:
    task = Task.objects.filter(pk=task_id).only("id", "project_id").first()
    if task is None or task.project_id is None or project_access().role_of(user_id, task.project_id) is None:
        return None
    return task
