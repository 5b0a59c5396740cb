"""The audit log: sign-ins and failed sign-ins, API tokens and JWTs made and revoked, sharing and
share links changed, projects and shots deleted, quotas changed and every staff action in the
admin, each with who, from where and when (``AuditEvent``, read by staff in the admin).

``audit()`` is called where the thing happens; the person acting is the request's (the
middleware keeps the request at hand: DRF sets its user there once it has authenticated it)
unless given. Events older than AUDIT_KEEP_DAYS are pruned as new ones are written."""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("audit_request", default=None)
_written = itertools.count()
PRUNE_EVERY = 200  # events written by a process between two prunes


class AuditMiddleware:
    """Keeps the request at hand for ``audit()`` (who acts, and from which address)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def audit(action: str, *, target: str = "", actor: Any = None, **detail: Any) -> None:
    from accounts.models import AuditEvent

    request = _request.get()
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        action=action,
        target=target[:200],
        detail=detail,
        address=request.META.get("REMOTE_ADDR") if request is not None else None,
    )
    if next(_written) % PRUNE_EVERY == 0:
        AuditEvent.objects.filter(at__lt=timezone.now() - timedelta(days=settings.AUDIT_KEEP_DAYS)).delete()


def listen() -> None:
    """What Django and the admin already announce: sign-ins, sign-outs, failed sign-ins (the
    session's, the token's and the JWT's: each goes through ``authenticate``), quotas saved and
    staff actions."""
    from django.apps import apps
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
    from django.db.models.signals import post_save

    def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        audit("sign_in", actor=user)

    def signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        if user is not None:
            audit("sign_out", actor=user)

    def sign_in_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
        audit("sign_in_failed", target=str(credentials.get("username", ""))[:150])

    def quota_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
        if raw:  # loaded from a backup, not changed
            return
        audit(
            "quota_changed",
            target=f"user {instance.user_id}",
            active_tasks=instance.active_tasks,
            projects_per_hour=instance.projects_per_hour,
        )

    def staff_acted(sender: Any, instance: LogEntry, created: bool, raw: bool = False, **kwargs: Any) -> None:
        if created and not raw:
            what = {1: "added", 2: "changed", 3: "deleted"}.get(instance.action_flag, str(instance.action_flag))
            audit(
                "staff_action",
                actor=instance.user,
                target=f"{instance.content_type} {instance.object_repr}"[:200] if instance.content_type else "",
                what=what,
                change=instance.get_change_message()[:500],
            )

    user_logged_in.connect(signed_in, weak=False, dispatch_uid="accounts.audit.sign_in")
    user_logged_out.connect(signed_out, weak=False, dispatch_uid="accounts.audit.sign_out")
    user_login_failed.connect(sign_in_failed, weak=False, dispatch_uid="accounts.audit.sign_in_failed")
    quota = apps.get_model("tasks", "Quota")
    post_save.connect(quota_saved, sender=quota, weak=False, dispatch_uid="accounts.audit.quota")
    post_save.connect(staff_acted, sender=LogEntry, weak=False, dispatch_uid="accounts.audit.staff")
