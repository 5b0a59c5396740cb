"""A project's characters: their looks, seed and voice; their reference picture and likeness."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from core.api import BINARY, StrictSerializer, multipart
from projects import likeness, selectors, services
from projects.serializers import (
    CharacterCreateSerializer,
    CharacterSerializer,
    CharacterWriteSerializer,
)
from tasks.serializers import TaskSerializer
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


class CharacterReferenceSerializer(StrictSerializer):
    shotId = serializers.UUIDField(help_text="One of the character's shots: its picture becomes the reference.")


class CharacterReferenceApi(APIView):
    throttle_classes = GENERATION_THROTTLES
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        request={"application/json": CharacterReferenceSerializer, **multipart(file=BINARY)},
        responses=CharacterSerializer,
    )
    def post(self, request: Request, character_id: str) -> Response:
        """The character's reference picture: one of its shots' (``{"shotId"}``) or your own
        (multipart ``file``: PNG, JPEG or WebP, fitted to the frame). Its likeness is measured
        against it from then on (the last check is cleared)."""
        character = selectors.character_get(user=request.user, character_id=character_id)
        upload = request.FILES.get("file")
        if upload is not None:
            character = likeness.character_reference_set(character=character, upload=upload)
        else:
            body = CharacterReferenceSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            character = likeness.character_reference_set(character=character, shot_id=body.validated_data["shotId"])
        return Response(CharacterSerializer(character).data)

    @extend_schema(responses={200: CharacterSerializer})
    def delete(self, request: Request, character_id: str) -> Response:
        """No reference picture: its likeness is measured among its own pictures."""
        character = selectors.character_get(user=request.user, character_id=character_id)
        return Response(CharacterSerializer(likeness.character_reference_clear(character=character)).data)


class CharacterLikenessApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=None, responses={202: TaskSerializer})
    def post(self, request: Request, character_id: str) -> Response:
        """Measure how alike the character's pictures are (each against its reference picture, or
        against the rest): a task; its result lands in the character's ``likeness``. 409 where it
        is in fewer than two shots with a picture (one, with a reference picture)."""
        character = selectors.character_get(user=request.user, character_id=character_id)
        task = likeness.character_likeness_check(character=character)
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("projects/<uuid:project_id>/characters", CharacterListApi.as_view(), name="character-list"),
    path("characters/<uuid:character_id>", CharacterDetailApi.as_view(), name="character-detail"),
    path("characters/<uuid:character_id>/reference", CharacterReferenceApi.as_view(), name="character-reference"),
    path("characters/<uuid:character_id>/likeness", CharacterLikenessApi.as_view(), name="character-likeness"),
]
