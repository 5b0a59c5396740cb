"""The routes of the first architecture draft, kept as thin aliases of the v1 API.

They call the same services and answer in the same shapes, so clients written against the
draft contract keep working. They are left out of the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from core.api import StrictSerializer
from projects.api.projects import project_create_response
from projects.api.storyboard import storyboard_body
from projects.throttles import NEW_PROJECT_THROTTLES
from shots.api import shot_generate_response, shot_update_response
from shots.stages import IMAGE, MOTION
from tasks import selectors
from tasks.serializers import TaskSerializer
from tasks.throttles import GENERATION_THROTTLES


class PromptSerializer(StrictSerializer):
    """The draft's ``update_prompt``: the picture's prompt, the narration (旁白), or both."""

    prompt = serializers.CharField(max_length=2000, required=False)
    narration = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Send a prompt, a narration or both.")
        return attrs


@extend_schema(exclude=True)
class CreateProjectAlias(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES

    def post(self, request: Request) -> Response:
        return project_create_response(request)


@extend_schema(exclude=True)
class StoryboardAlias(APIView):
    def get(self, request: Request, project_id: str) -> Response:
        return Response(storyboard_body(request, project_id))


@extend_schema(exclude=True)
class UpdatePromptAlias(APIView):
    throttle_classes = GENERATION_THROTTLES

    def post(self, request: Request, shot_id: str) -> Response:
        serializer = PromptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return shot_update_response(request, shot_id, serializer.validated_data)


@extend_schema(exclude=True)
class GenerateImageAlias(APIView):
    throttle_classes = GENERATION_THROTTLES

    def post(self, request: Request, shot_id: str) -> Response:
        return shot_generate_response(request, shot_id, IMAGE)


@extend_schema(exclude=True)
class GenerateVideoAlias(APIView):
    throttle_classes = GENERATION_THROTTLES

    def post(self, request: Request, shot_id: str) -> Response:
        return shot_generate_response(request, shot_id, MOTION)


@extend_schema(exclude=True)
class TaskStatusAlias(APIView):
    def get(self, request: Request, task_id: str) -> Response:
        return Response(TaskSerializer(selectors.task_get(user=request.user, task_id=task_id, role=Role.VIEWER)).data)


urlpatterns = [
    path("projects/create", CreateProjectAlias.as_view()),
    path("projects/<uuid:project_id>/storyboard", StoryboardAlias.as_view()),
    path("shots/<uuid:shot_id>/update_prompt", UpdatePromptAlias.as_view()),
    path("shots/<uuid:shot_id>/generate_image", GenerateImageAlias.as_view()),
    path("shots/<uuid:shot_id>/generate_video", GenerateVideoAlias.as_view()),
    path("tasks/<uuid:task_id>/status", TaskStatusAlias.as_view()),
]
