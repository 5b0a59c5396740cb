"""Outgoing webhooks: a project's URL is called when a render finishes or fails.

Each delivery is a ``webhook`` task (so it is retried with backoff like any task, and shows in
the admin); its body is JSON, signed with HMAC-SHA256 over ``timestamp.body`` with the project's
secret (``X-StoryVideo-Signature: t=<unix time>,v1=<hex>``); ``X-StoryVideo-Delivery`` (the
render task's id) lets a receiver drop a repeated delivery. Only http(s) URLs to public
addresses are called, checked when the URL is set and again at each call (the name may resolve
elsewhere by then), and each call connects to the address it checked (a name that resolves to a
public address for the check and a private one for the call reaches nothing); redirects are not
followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import ApplicationError
from inference.errors import EngineError
from inference.sentences import Sentence
from projects.match import match_waits
from projects.models import Project
from projects.pipeline import COMPOSE
from projects.selectors import film_of
from tasks.models import Task
from tasks.registry import Progress, SupersededError
from tasks.services import task_create, task_finish

WEBHOOK = "webhook"  # the kind of task that makes one delivery
EVENTS: dict[str, str] = {Task.Status.FINISHED: "render.finished", Task.Status.FAILED: "render.failed"}


# Addresses that are public on paper but reach somewhere else: NAT64 and 6to4 carry an IPv4
# address inside (a private one, as like as not), ::/96 is IPv4-compatible (and ::1), ::ffff:0:0/96
# IPv4-mapped.
_TUNNELS = [ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "::/96", "::ffff:0:0/96")]


class TargetRefusedError(Exception):
    """Why a webhook URL may not be called."""


@dataclass(frozen=True)
class Target:
    """A webhook URL with the one address it is called at (checked, then used: never resolved
    again between the check and the call)."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if not ip.is_global:
        return "a private, loopback or link-local address"
    if ip.version == 6 and any(ip in network for network in _TUNNELS):
        return "a tunnelled address (NAT64, 6to4, or IPv4 inside IPv6)"
    return "a multicast address" if ip.is_multicast else None


def webhook_target(url: str) -> Target:
    """The URL checked (scheme, credentials, port, and every address its host name resolves to
    must be public) and pinned to one of those addresses; TargetRefusedError says why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefusedError("A webhook URL is http:// or https:// with a host name.")
    if parts.username or parts.password:
        raise TargetRefusedError("A webhook URL carries no user name or password; the signature authenticates it.")
    try:
        port = parts.port
    except ValueError:  # past 65535
        port = 0
    if port == 0:
        raise TargetRefusedError("The URL's port is not a port number (1-65535).")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetRefusedError(f"The host {parts.hostname!r} does not resolve.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))  # in the system's order
    for address in addresses if not settings.WEBHOOK_ALLOW_PRIVATE else ():
        problem = _address_problem(ipaddress.ip_address(address.split("%")[0]))
        if problem:
            raise TargetRefusedError(f"The host {parts.hostname!r} is {problem} ({address}): refused.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


def url_problem(url: str) -> str | None:
    """Why this URL may not be called (None when it may)."""
    try:
        webhook_target(url)
    except TargetRefusedError as refused:
        return str(refused)
    return None


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the target's checked address; the Host header names its host."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """As _PinnedHTTP, with TLS verified against the host name (SNI and certificate)."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self.tls)
        self.address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float = 10) -> int:
    """POST ``body`` to the target's pinned address: the receiver's status (redirects are its
    answer, not a place to go). OSError where it cannot be reached."""
    connection = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


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
    if match_waits(project):  # the film's CLIP score is still to join its check: called after it
        return None
    return task_create(kind=WEBHOOK, project=project, params={"render": str(last.id)})


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def webhook_run(task: Task, progress: Progress) -> dict[str, Any]:
    project = film_of(task)
    render = Task.objects.get(pk=task.params["render"])
    if not project.webhook_url:
        raise EngineError("The project has no webhook URL now.", permanent=True)
    try:
        target = webhook_target(project.webhook_url)  # checked again: the name may resolve elsewhere now
    except TargetRefusedError as refused:
        raise EngineError(str(refused), permanent=True) from None
    body = json.dumps(
        {
            "event": EVENTS[render.status],
            "delivery": str(render.id),
            "projectId": str(project.id),
            "title": project.title,
            "status": project.status,
            "message": render.message,
            "duration": project.render_duration if render.status == Task.Status.FINISHED else None,
            "check": _check_of(project) if render.status == Task.Status.FINISHED else None,
        },
        ensure_ascii=False,
    ).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "StoryVideo-Webhook/1",
        "X-StoryVideo-Delivery": str(render.id),
        "X-StoryVideo-Signature": f"t={timestamp},v1={signature(project.webhook_secret, timestamp, body)}",
    }
    try:
        status = post(target, body, headers)
    except (OSError, http.client.HTTPException) as exc:
        raise EngineError(
            f"The webhook receiver could not be reached ({exc}); trying again.", permanent=False
        ) from None
    if not 200 <= status < 300:
        raise EngineError(f"The webhook receiver answered {status}; trying again.", permanent=status == 410)
    return {"status": status}


def _check_of(project: Project) -> dict[str, Any] | None:
    """The film check in brief: its counts, loudness and findings (GET …/check has the same)."""
    check = (project.render_manifest or {}).get("check")
    if not check:
        return None
    return {key: check[key] for key in ("errorCount", "warningCount", "loudness", "findings")}


def webhook_apply(task: Task, output: dict[str, Any]) -> str:
    if not task_finish(
        task=task,
        result=output,
        message=Sentence("delivered", "Delivered: the receiver answered %(status)s.", status=output["status"]),
    ):
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
