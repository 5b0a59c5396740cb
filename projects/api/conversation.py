"""The conversation with the language model: a shot or the whole storyboard rewritten on an
instruction, and the turns so far."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from core.api import StrictSerializer, TextField
from projects import selectors
from projects.conversation import shot_refine, storyboard_refine, turn_list
from projects.models import Turn
from shots.selectors import shot_get
from tasks.serializers import TaskSerializer
from tasks.throttles import GENERATION_THROTTLES


class RefineSerializer(StrictSerializer):
    instruction = TextField(
        min_length=1,
        max_length=500,
        multiline=False,
        help_text='What to change, e.g. "make it night, closer on the cat".',
    )
    narration = serializers.BooleanField(default=False, help_text="Let the model rewrite the narration too.")


class TurnSerializer(serializers.ModelSerializer[Turn]):
    """One exchange of the project's conversation with the language model."""

    shotId = serializers.UUIDField(source="shot_id", read_only=True, allow_null=True)
    taskId = serializers.UUIDField(source="task_id", read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Turn
        fields = [
            "id",
            "shotId",
            "taskId",
            "instruction",
            "before",
            "after",
            "changed",
            "backend",
            "model",
            "createdAt",
        ]
        read_only_fields = fields


class TurnQuerySerializer(StrictSerializer):
    shotId = serializers.UUIDField(source="shot_id", required=False, help_text="Only the turns on this shot.")


class StoryboardRefineSerializer(StrictSerializer):
    instruction = TextField(
        min_length=1, max_length=500, multiline=False, help_text='What to change, e.g. "fewer shots, more suspense".'
    )


class ShotRefineApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=RefineSerializer, responses={202: TaskSerializer})
    def post(self, request: Request, shot_id: str) -> Response:
        """Ask the storyboard's language model to rewrite the shot's picture prompt (and, with
        ``narration``, its narration) on an instruction; 202 with its task. Earlier instructions
        on the shot go with it. When it is done only what changed is made again. 409 where the
        storyboard back end is the draft, which cannot follow an instruction."""
        shot = shot_get(user=request.user, shot_id=shot_id)
        serializer = RefineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = shot_refine(shot=shot, **serializer.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


class StoryboardRefineApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=StoryboardRefineSerializer, responses={202: TaskSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """Ask the storyboard's language model to rewrite the whole storyboard on an instruction
        ("fewer shots, more suspense"); 202 with its task. Locked shots come back as they are;
        shots still there keep their media; the storyboard before is kept and can be restored."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        serializer = StoryboardRefineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = storyboard_refine(project=project, **serializer.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


class ConversationApi(APIView):
    @extend_schema(parameters=[TurnQuerySerializer], responses=TurnSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """The project's conversation with the language model, oldest first."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        query = TurnQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        turns = turn_list(project=project, shot_id=query.validated_data.get("shot_id"))
        return Response(TurnSerializer(turns, many=True).data)


urlpatterns = [
    path("shots/<uuid:shot_id>/refine", ShotRefineApi.as_view(), name="shot-refine"),
    path(
        "projects/<uuid:project_id>/storyboard/refine", StoryboardRefineApi.as_view(), name="project-storyboard-refine"
    ),
    path("projects/<uuid:project_id>/conversation", ConversationApi.as_view(), name="project-conversation"),
]
