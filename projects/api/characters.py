"""A project's characters: their look, seed and voice."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from projects import selectors, services
from projects.serializers import (
    CharacterCreateSerializer,
    CharacterSerializer,
    CharacterWriteSerializer,
)
from tasks.throttles import GENERATION_THROTTLES


class CharacterListApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(responses=CharacterSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        project = selectors.project_storyboard(user=request.user, project_id=project_id)
        return Response(CharacterSerializer(project.characters.all(), many=True).data)

    @extend_schema(request=CharacterCreateSerializer, responses={201: CharacterSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        serializer = CharacterCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        character = services.character_create(project=project, **serializer.validated_data)
        return Response(CharacterSerializer(character).data, status=status.HTTP_201_CREATED)


class CharacterDetailApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(responses=CharacterSerializer)
    def get(self, request: Request, character_id: str) -> Response:
        return Response(
            CharacterSerializer(
                selectors.character_get(user=request.user, character_id=character_id, role=Role.VIEWER)
            ).data
        )

    @extend_schema(request=CharacterWriteSerializer, responses=CharacterSerializer)
    def patch(self, request: Request, character_id: str) -> Response:
        character = selectors.character_get(user=request.user, character_id=character_id)
        serializer = CharacterWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        character = services.character_update(character=character, changes=dict(serializer.validated_data))
        return Response(CharacterSerializer(character).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, character_id: str) -> Response:
        services.character_delete(character=selectors.character_get(user=request.user, character_id=character_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("projects/<uuid:project_id>/characters", CharacterListApi.as_view(), name="character-list"),
    path("characters/<uuid:character_id>", CharacterDetailApi.as_view(), name="character-detail"),
]
