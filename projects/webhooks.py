"""Outgoing webhooks: a project's URL is called when a render finishes or fails.

Each delivery is a ``webhook`` task (so it is retried with backoff like any task, and shows in
the admin); its body is JSON, signed with HMAC-SHA256 over ``timestamp.body`` with the project's
secret (``X-StoryVideo-Signature: t=<unix time>,v1=<hex>``); ``X-StoryVideo-Delivery`` (the
render task's id) lets a receiver drop a repeated delivery. Only http(s) URLs to public
addresses are called, checked when the URL is set and again at each call (the name may resolve
elsewhere by then); redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import ApplicationError
from inference.errors import EngineError
from projects.models import Project
from projects.pipeline import COMPOSE
from tasks.models import Task
from tasks.registry import Progress, SupersededError
from tasks.services import task_create, task_finish

WEBHOOK = "webhook"  # the kind of task that makes one delivery
EVENTS: dict[str, str] = {Task.Status.FINISHED: "render.finished", Task.Status.FAILED: "render.failed"}


def url_problem(url: str) -> str | None:
    """Why this URL may not be called (None when it may): scheme, credentials, and every address
    the host name resolves to must be public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "A webhook URL is http:// or https:// with a host name."
    if parts.username or parts.password:
        return "A webhook URL carries no user name or password; the signature authenticates it."
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except (socket.gaierror, UnicodeError):
        return f"The host {parts.hostname!r} does not resolve."
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if not ip.is_global and not settings.WEBHOOK_ALLOW_PRIVATE:
            return f"The host {parts.hostname!r} is a private, loopback or link-local address ({ip}): refused."
    return None


def webhook_due_of(*, project_id: uuid.UUID) -> Task | None:
    """After a job settled tasks of the project: the delivery for its latest render, once that
    has ended, made once."""
    project = Project.objects.get(pk=project_id)
    if not project.webhook_url:
        return None
    last = project.tasks.filter(kind=COMPOSE).order_by("-created_at").first()
    if last is None or last.status not in EVENTS:
        return None
    if project.tasks.filter(kind=WEBHOOK, params__render=str(last.id)).exists():
        return None
    return task_create(kind=WEBHOOK, project=project, params={"render": str(last.id)})


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the receiver's answer, not a place to go


def webhook_run(task: Task, progress: Progress) -> dict[str, Any]:
    project = task.project
    render = Task.objects.get(pk=task.params["render"])
    problem = url_problem(project.webhook_url) if project.webhook_url else "The project has no webhook URL now."
    if problem:
        raise EngineError(problem, permanent=True)
    body = json.dumps(
        {
            "event": EVENTS[render.status],
            "delivery": str(render.id),
            "projectId": str(project.id),
            "title": project.title,
            "status": project.status,
            "message": render.message,
            "duration": project.render_duration if render.status == Task.Status.FINISHED else None,
        },
        ensure_ascii=False,
    ).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        project.webhook_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "StoryVideo-Webhook/1",
            "X-StoryVideo-Delivery": str(render.id),
            "X-StoryVideo-Signature": f"t={timestamp},v1={signature(project.webhook_secret, timestamp, body)}",
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=10) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise EngineError(
            f"The webhook receiver could not be reached ({exc}); trying again.", permanent=False
        ) from None
    if not 200 <= status < 300:
        raise EngineError(f"The webhook receiver answered {status}; trying again.", permanent=status == 410)
    return {"status": status}


def webhook_apply(task: Task, output: dict[str, Any]) -> str:
    if not task_finish(task=task, result=output, message=f"Delivered: the receiver answered {output['status']}."):
        raise SupersededError
    return "webhook"


def webhook_set(*, project: Project, url: str) -> Project:
    """Set (a new secret with it) or, with an empty URL, clear the project's webhook."""
    if url:
        problem = url_problem(url)
        if problem:
            raise ApplicationError(problem, field="url")
        project.webhook_secret = secrets.token_hex(32)
    else:
        project.webhook_secret = ""
    project.webhook_url = url
    project.save(update_fields=["webhook_url", "webhook_secret", "updated_at"])
    return project
