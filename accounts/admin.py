from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import ApiToken, AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read only: the log is what happened."""

    list_display = ["at", "actor_name", "action", "target", "address"]
    list_filter = ["action"]
    search_fields = ["actor_name", "target"]
    date_hierarchy = "at"
    readonly_fields = ["at", "actor", "actor_name", "action", "target", "detail", "address"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are listed and revoked here (deleting one); a key is only ever shown to whoever made it."""

    list_display = ["prefix", "user", "created_at", "last_used_at"]
    search_fields = ["user__username", "prefix"]
    readonly_fields = ["user", "prefix", "digest", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


def _without_drf_tokens() -> None:
    """DRF's own token table is emptied by the migration that hashed its keys: not offered."""
    from contextlib import suppress

    from django.contrib.admin.exceptions import NotRegistered
    from rest_framework.authtoken.models import TokenProxy

    with suppress(NotRegistered):
        admin.site.unregister(TokenProxy)


_without_drf_tokens()
