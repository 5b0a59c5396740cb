from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import selectors, services
from projects.serializers import (
    CharacterCreateSerializer,
    CharacterSerializer,
    CharacterWriteSerializer,
    ProjectCreatedSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
    StoryboardSerializer,
    project_changes,
)
from storyvideo.api import Pagination
from tasks.selectors import task_list_latest
from tasks.serializers import TaskSerializer


class ProjectListApi(APIView):
    @extend_schema(responses=ProjectSerializer(many=True), operation_id="projects_list")
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.project_list(user=request.user), request, view=self)
        return paginator.get_paginated_response(ProjectSerializer(page, many=True).data)

    @extend_schema(request=ProjectCreateSerializer, responses={202: ProjectCreatedSerializer})
    def post(self, request: Request) -> Response:
        """Create a project from a story. 202: the storyboard task was queued."""
        return project_create_response(request)


def project_create_response(request: Request) -> Response:
    serializer = ProjectCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    project, tasks = services.project_create(owner=request.user, **project_changes(serializer.validated_data))  # type: ignore[arg-type]
    body = {"project": ProjectSerializer(project).data, "tasks": TaskSerializer(tasks, many=True).data}
    return Response(body, status=status.HTTP_202_ACCEPTED)


class ProjectDetailApi(APIView):
    @extend_schema(responses=ProjectSerializer)
    def get(self, request: Request, project_id: str) -> Response:
        return Response(ProjectSerializer(selectors.project_get(user=request.user, project_id=project_id)).data)

    @extend_schema(request=ProjectUpdateSerializer, responses=ProjectSerializer)
    def patch(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        serializer = ProjectUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_update(project=project, changes=project_changes(serializer.validated_data))
        return Response(ProjectSerializer(project).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str) -> Response:
        services.project_delete(project=selectors.project_get(user=request.user, project_id=project_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StoryboardApi(APIView):
    @extend_schema(responses=StoryboardSerializer)
    def get(self, request: Request, project_id: str) -> Response:
        """The project, its characters and its ordered shots, with the latest tasks, in one read."""
        return Response(storyboard_body(request, project_id))


def storyboard_body(request: Request, project_id: str) -> dict[str, Any]:
    project = selectors.project_storyboard(user=request.user, project_id=project_id)
    return StoryboardSerializer(
        {
            "project": project,
            "characters": project.characters.all(),
            "shots": project.shots.all(),
            "tasks": task_list_latest(project=project),
        }
    ).data


class CharacterListApi(APIView):
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
    @extend_schema(responses=CharacterSerializer)
    def get(self, request: Request, character_id: str) -> Response:
        return Response(CharacterSerializer(selectors.character_get(user=request.user, character_id=character_id)).data)

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


class ProjectRenderApi(APIView):
    @extend_schema(request=None, responses={202: TaskSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """Compose the film; the task waits for any shot media still being generated."""
        from rest_framework.exceptions import ValidationError

        from tasks.pipeline import project_render

        project = selectors.project_get(user=request.user, project_id=project_id)
        if not project.shots.exists():
            raise ValidationError("The project has no shots yet; wait for its storyboard or add a shot.")
        task = project_render(project=project)
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)
