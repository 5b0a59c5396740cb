"""API tokens: made with a random key shown once, kept as its SHA-256 (a lookup by digest: the
key is 160 random bits, so no slow hash is needed), checked as DRF's TokenAuthentication would."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from accounts.audit import audit
from accounts.models import ApiToken


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def token_create(*, user: Any) -> str:
    """A new token for the user; the key is answered now and never again. Past API_TOKENS_PER_USER
    the oldest of the user's tokens are revoked."""
    key = secrets.token_hex(20)
    ApiToken.objects.create(user=user, prefix=key[:8], digest=token_digest(key))
    audit("token_created", target=f"token {key[:8]}", actor=user)
    kept = ApiToken.objects.filter(user=user).order_by("-created_at").values_list("pk", flat=True)
    old = list(kept[settings.API_TOKENS_PER_USER :])
    if old:
        ApiToken.objects.filter(pk__in=old).delete()
        audit("token_revoked", target=f"{len(old)} oldest token(s)", actor=user, why="API_TOKENS_PER_USER")
    return key


def token_revoke(*, user: Any, key: str) -> bool:
    revoked, _ = ApiToken.objects.filter(user=user, digest=token_digest(key)).delete()
    if revoked:
        audit("token_revoked", target=f"token {key[:8]}", actor=user)
    return bool(revoked)


class HashedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, checked against the kept digests."""

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # at most once a minute
        return token.user, token
