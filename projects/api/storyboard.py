"""The storyboard: read in one request (with its ETag), written from the story (and the story from
an idea), its earlier versions kept and restored."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.cache import cache
from django.http import HttpResponse
from django.urls import path
from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from core.api import StrictSerializer, TextField
from inference.styles import LANGUAGES
from projects import selectors
from projects.models import StoryboardSnapshot
from projects.serializers import (
    CharacterSerializer,
    ProjectSerializer,
)
from projects.stories import story_draft, storyboard_start
from projects.storyboards import storyboard_restore
from projects.throttles import NEW_PROJECT_THROTTLES, new_projects_allowed
from shots.serializers import ShotSerializer
from tasks.selectors import task_list_latest
from tasks.serializers import TaskSerializer
from tasks.throttles import GENERATION_THROTTLES


class DraftSerializer(serializers.Serializer):
    stage = serializers.CharField()
    runs = serializers.CharField(help_text="The back end that ran.")
    spec = serializers.CharField(help_text="The back end configured, which could not run.")
    reason = serializers.CharField()
    reasonParts = serializers.ListField(
        child=serializers.DictField(), help_text="reason as sentences (a code and its values), where it is one."
    )


class StoryboardSerializer(serializers.Serializer):
    project = ProjectSerializer()
    characters = CharacterSerializer(many=True)
    shots = ShotSerializer(many=True)
    tasks = TaskSerializer(many=True, help_text="The latest task of each kind per shot, and the project's own.")
    drafts = DraftSerializer(many=True, help_text="Stages whose newest result a draft back end made, and why.")


class SnapshotSerializer(serializers.ModelSerializer[StoryboardSnapshot]):
    """An earlier storyboard, kept before a rewrite or a restore."""

    shots = serializers.SerializerMethodField(help_text="How many shots it had.")
    reasonParts = serializers.SerializerMethodField(help_text="reason as sentences (a code and its values).")
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = StoryboardSnapshot
        fields = ["id", "reason", "reasonParts", "shots", "createdAt"]
        read_only_fields = fields

    def get_shots(self, snapshot: StoryboardSnapshot) -> int:
        return len(snapshot.data.get("shots", []))

    def get_reasonParts(self, snapshot: StoryboardSnapshot) -> list[dict[str, Any]]:  # noqa: N802 - the JSON name
        return list(snapshot.data.get("reasonParts", []))


class StoryDraftSerializer(StrictSerializer):
    idea = TextField(min_length=1, max_length=500, multiline=False, help_text="A line or two: what the story is about.")
    language = serializers.ChoiceField(choices=LANGUAGES, help_text="The story's language.")
    genre = TextField(max_length=100, required=False, allow_blank=True, multiline=False, default="")
    length = serializers.ChoiceField(choices=["short", "medium"], default="short", help_text="8-12 or 20-30 sentences.")


class StoryDraftedSerializer(serializers.Serializer):
    project = ProjectSerializer()
    task = TaskSerializer()


class StoryboardApi(APIView):
    @extend_schema(
        responses={200: StoryboardSerializer, 304: OpenApiResponse(description="Unchanged since the ETag sent.")},
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False)],
    )
    def get(self, request: Request, project_id: str) -> HttpResponse:
        """The project, its characters and its ordered shots, with the latest tasks, in one read.
        Send the ETag of the last read as ``If-None-Match``: unchanged, it answers 304 at once."""
        version = selectors.storyboard_version(user=request.user, project_id=project_id)
        etag = f'"{version}"'
        response: HttpResponse
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            response = HttpResponse(status=status.HTTP_304_NOT_MODIFIED)
        else:
            # The body of a version is made once per language (it holds the status in words):
            # every read of it after that (the editor's re-reads, other tabs) is the stored
            # bytes. The version names the project and everything the body shows, so a stored
            # body is never another's or out of date.
            key = selectors.storyboard_body_key(version, get_language())
            body = cache.get(key)
            if body is None:
                body = JSONRenderer().render(storyboard_body(request, project_id))
                cache.set(key, body, timeout=3600)
            response = HttpResponse(body, content_type="application/json")
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
        return response


def storyboard_body(request: Request, project_id: str) -> dict[str, Any]:
    project = selectors.project_storyboard(user=request.user, project_id=project_id)
    return StoryboardSerializer(
        {
            "project": project,
            "characters": project.characters.all(),
            "shots": project.shots.all(),
            "tasks": task_list_latest(project_id=project.id),
            "drafts": selectors.project_drafts(project=project),
        }
    ).data


class StoryDraftApi(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES

    @extend_schema(request=StoryDraftSerializer, responses={202: StoryDraftedSerializer})
    def post(self, request: Request) -> Response:
        """Have the storyboard's language model write a story from an idea, into a new project
        (202: the project and its task). Edit the story (PATCH the project's ``story``), then
        ``POST …/storyboard/start``. 409 where the storyboard back end is the draft."""
        serializer = StoryDraftSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new_projects_allowed(request.user, 1)
        project, task = story_draft(owner=request.user, **serializer.validated_data)
        body = StoryDraftedSerializer({"project": project, "task": task}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class StoryboardStartSerializer(StrictSerializer):
    again = serializers.BooleanField(
        default=False,
        help_text="Make a made storyboard again from the story (its shots replaced; the one it has now is kept "
        "among the earlier storyboards, to restore).",
    )


class StoryboardStartApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=StoryboardStartSerializer, responses={202: TaskSerializer(many=True)})
    def post(self, request: Request, project_id: str) -> Response:
        """Cut the project's story into shots (a story drafted from an idea, or once more after
        a failed storyboard). A project with a storyboard: 409, unless ``again`` (the storyboard
        is made again from the story; the one it has now is kept among the earlier ones). 409
        while one is being written."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        serializer = StoryboardStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tasks = storyboard_start(project=project, **serializer.validated_data)
        return Response(TaskSerializer(tasks, many=True).data, status=status.HTTP_202_ACCEPTED)


class SnapshotListApi(APIView):
    @extend_schema(responses=SnapshotSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """The project's earlier storyboards, newest first."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        return Response(SnapshotSerializer(project.snapshots.all(), many=True).data)


class SnapshotRestoreApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=None, responses=ShotSerializer(many=True))
    def post(self, request: Request, project_id: str, snapshot_id: uuid.UUID) -> Response:
        """Bring back an earlier storyboard with its media; the one it replaces is kept first."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        shots = storyboard_restore(project=project, snapshot_id=snapshot_id)
        return Response(ShotSerializer(shots, many=True).data)


urlpatterns = [
    path("projects/<uuid:project_id>/storyboard", StoryboardApi.as_view(), name="project-storyboard"),
    path("stories/draft", StoryDraftApi.as_view(), name="story-draft"),
    path("projects/<uuid:project_id>/storyboard/start", StoryboardStartApi.as_view(), name="project-storyboard-start"),
    path("projects/<uuid:project_id>/storyboard/snapshots", SnapshotListApi.as_view(), name="project-snapshots"),
    path(
        "projects/<uuid:project_id>/storyboard/snapshots/<uuid:snapshot_id>/restore",
        SnapshotRestoreApi.as_view(),
        name="project-snapshot-restore",
    ),
]
