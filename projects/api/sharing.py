"""Sharing: members (viewers and editors) and read-only links to watch the film."""

from __future__ import annotations

import uuid
from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from core.access import Role
from core.api import StrictSerializer
from projects import selectors
from projects.models import Member
from projects.serializers import (
    ProjectSerializer,
    RenderSerializer,
)
from projects.sharing import (
    link_create,
    link_list,
    link_path,
    link_project,
    link_revoke,
    link_token,
    member_list,
    member_remove,
    member_set,
)


class MemberSerializer(serializers.ModelSerializer[Member]):
    userId = serializers.IntegerField(source="user_id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Member
        fields = ["userId", "username", "role", "createdAt"]
        read_only_fields = fields


class MemberWriteSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Member.Role.choices, help_text="viewer: watch and download; editor: change.")


class ShareLinkSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    token = serializers.CharField(help_text="Signed; GET /api/v1/shared/{token} reads the film.")
    url = serializers.CharField(help_text="The page that plays the film, for anyone with the link.")
    createdAt = serializers.DateTimeField()


class SharedFilmSerializer(serializers.Serializer):
    title = serializers.CharField()
    language = serializers.CharField()
    render = RenderSerializer(allow_null=True)


class MemberListApi(APIView):
    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """Who the project is shared with, and as what (anyone it is shared with may read this)."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        return Response(MemberSerializer(member_list(project=project), many=True).data)

    @extend_schema(request=MemberWriteSerializer, responses={200: MemberSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """Share the project with a user as ``viewer`` (watch and download; every change answers
        403) or ``editor`` (change the storyboard and make media), or change their role. Only
        the owner shares; sharing, deleting and the webhook stay the owner's."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        serializer = MemberWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(MemberSerializer(member_set(project=project, **serializer.validated_data)).data)


class MemberDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str, user_id: int) -> Response:
        """Stop sharing the project with the user."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        member_remove(project=project, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _link_body(request: Request, link: Any) -> dict[str, Any]:
    url = request.build_absolute_uri(link_path(link))
    return ShareLinkSerializer(
        {"id": link.id, "token": link_token(link), "url": url, "createdAt": link.created_at}
    ).data


class ShareLinkListApi(APIView):
    @extend_schema(responses=ShareLinkSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """The project's read-only links that still work (the owner's)."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        return Response([_link_body(request, link) for link in link_list(project=project)])

    @extend_schema(request=None, responses={201: ShareLinkSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """A new read-only link: anyone who has it may watch the film and download it, with no
        account, until it is revoked."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        link = link_create(project=project, by=request.user)  # type: ignore[arg-type]
        return Response(_link_body(request, link), status=status.HTTP_201_CREATED)


class ShareLinkDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str, link_id: uuid.UUID) -> Response:
        """Revoke the link: it stops working at once, wherever it was sent."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        link_revoke(project=project, link_id=link_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SharedFilmThrottle(AnonRateThrottle):
    scope = "shared"


class SharedFilmApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [SharedFilmThrottle]

    @extend_schema(responses=SharedFilmSerializer, auth=[])
    def get(self, request: Request, token: str) -> Response:
        """The film a read-only link opens (no account needed): its title and render, with
        signed URLs to play or download it. 404 where the link was revoked."""
        project = link_project(token)
        render = ProjectSerializer().get_render(project)
        return Response(
            SharedFilmSerializer({"title": project.title, "language": project.language, "render": render}).data
        )


urlpatterns = [
    path("projects/<uuid:project_id>/members", MemberListApi.as_view(), name="project-members"),
    path("projects/<uuid:project_id>/members/<int:user_id>", MemberDetailApi.as_view(), name="project-member"),
    path("projects/<uuid:project_id>/links", ShareLinkListApi.as_view(), name="project-links"),
    path("projects/<uuid:project_id>/links/<uuid:link_id>", ShareLinkDetailApi.as_view(), name="project-link"),
    path("shared/<str:token>", SharedFilmApi.as_view(), name="shared-film"),
]
