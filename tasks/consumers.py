"""The project's live channel: task and shot updates pushed to its owner's browser."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from storyvideo.access import rules
from tasks.live import current_seq, group_name

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


class ProjectConsumer(AsyncJsonWebsocketConsumer):
    """Authenticated by the session; only a user who may see the project (its owner, or one it
    is shared with: ``storyvideo.access``) may join its group. The first
    message says the current sequence number, so the client knows where the stream starts."""

    group: str = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        project_id = self.scope["url_route"]["kwargs"]["project_id"]
        if await database_sync_to_async(rules().role_of)(user.pk, project_id) is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = group_name(project_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        seq = await database_sync_to_async(current_seq)(project_id)
        await self.send_json({"type": "hello", "projectId": str(project_id), "seq": seq})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def project_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
