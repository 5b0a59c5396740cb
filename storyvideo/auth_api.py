"""Accounts for programs: JWT access and refresh tokens, and one-use WebSocket tickets.

Beside the API token (``Authorization: Token …``) and the browser's session: a program registers
or logs in for a short-lived access token (``Authorization: Bearer …``) and a refresh token.
Each refresh answers a new pair and refuses the old refresh token from then on; logging out
revokes it. A WebSocket is opened with a ticket that works once, for a minute, so no long-lived
credential ends up in a URL (and in the logs of whatever proxies it).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenBlacklistView, TokenObtainPairView, TokenRefreshView

from accounts.audit import audit
from storyvideo.system_api import SignupApi, SignupSerializer, signup
from storyvideo.tickets import ticket_issue

TokenPair = inline_serializer(
    "TokenPair",
    {
        "access": serializers.CharField(help_text="Send as 'Authorization: Bearer …'; short-lived."),
        "refresh": serializers.CharField(help_text="POST to …/jwt/refresh for a new pair; works once."),
    },
)


class JwtRegisterApi(SignupApi):
    @extend_schema(request=SignupSerializer, responses={201: TokenPair})
    def post(self, request: Request) -> Response:
        """Create an account (when ALLOW_SIGNUP is on) and answer its first access and refresh tokens."""
        user = signup(request)
        refresh = RefreshToken.for_user(user)
        audit("jwt_created", actor=user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)}, status=status.HTTP_201_CREATED)


class JwtLoginApi(TokenObtainPairView):
    """Exchange a username and password for an access and a refresh token."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().post(request, *args, **kwargs)
        if response.status_code == status.HTTP_200_OK:  # a failed one is logged by authenticate()
            actor = get_user_model().objects.filter(username=request.data.get("username")).first()
            audit("jwt_created", actor=actor)
        return response


class JwtRefreshApi(TokenRefreshView):
    """A new access and refresh token for a refresh token, which is refused from then on."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"


class JwtLogoutApi(TokenBlacklistView):
    """Revoke a refresh token (log out): it is refused from then on. The access tokens it gave
    run out on their own, within JWT_ACCESS_MINUTES."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().post(request, *args, **kwargs)
        if response.status_code == status.HTTP_200_OK:
            audit("jwt_revoked")
        return response


class WsTicketApi(APIView):
    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                "WsTicket", {"ticket": serializers.CharField(), "expiresIn": serializers.IntegerField()}
            )
        },
    )
    def post(self, request: Request) -> Response:
        """A ticket to open a WebSocket as this user: ``/ws/projects/{id}/?ticket=…`` or
        ``/tasks/{id}/wss?ticket=…``. It works once, within ``expiresIn`` seconds."""
        ticket = ticket_issue(request.user.pk)  # type: ignore[arg-type]  # authenticated: it has one
        return Response({"ticket": ticket, "expiresIn": settings.WS_TICKET_TTL_S}, status=status.HTTP_201_CREATED)
