"""The "StoryToVideo standard" contract (``/v1/api/...``), served as thin aliases of the v1 API.

Clients written against that contract work unchanged: its routes, its parameter names
(``Title``, ``StoryText``, ``Style``, ``ShotCount``; ``prompt``, ``transition``) and its answers
(``{"project_id", "text_task_id", "shot_task_ids"}``, ``{"shot_id", "task_id", "message"}``,
``{"task": {...}}``). Parameters come in the query string, as the contract has them, or in a
JSON body (the contract lists query-only updates as a defect of its own); the body wins. Every
route calls the v1 API's services with the same owner scoping and answers the same errors (a
field named in an error keeps the contract's name). Left out of the OpenAPI schema, which
describes v1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from projects import selectors as project_selectors
from projects import services as project_services
from projects.api.projects import ProjectDetailApi
from projects.pipeline import STORYBOARD, project_render, shots_regenerate
from projects.serializers import ProjectCreateSerializer, ProjectSerializer, ProjectUpdateSerializer
from projects.throttles import NEW_PROJECT_THROTTLES
from shots import selectors as shot_selectors
from shots import services as shot_services
from shots.api import ShotDetailApi, ShotListApi
from shots.serializers import ShotSerializer, ShotWriteSerializer
from shots.stages import IMAGE, SPEECH
from storyvideo.system_api import HealthApi
from tasks import selectors as task_selectors
from tasks.models import Task
from tasks.serializers import TaskSerializer, standard_task
from tasks.throttles import GENERATION_THROTTLES

# The contract's names of a project's fields, and v1's. Other keys pass to v1 as they are.
PROJECT_NAMES = {"Title": "title", "StoryText": "story", "Style": "style", "ShotCount": "shotCount"}


def _values(request: Request) -> dict[str, Any]:
    """The request's parameters: the query string's, then the JSON body's over them."""
    values: dict[str, Any] = {key: request.query_params.get(key) for key in request.query_params}
    if isinstance(request.data, Mapping):
        values.update(request.data)
    return values


def _validated(serializer_class: Any, values: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """v1's serializer's verdict on the contract's parameters; its errors name them as the
    client sent them."""
    serializer = serializer_class(data={names.get(key, key): value for key, value in values.items()})
    if not serializer.is_valid():
        back = {v1: contract for contract, v1 in names.items()}
        raise ValidationError({back.get(key, key): problem for key, problem in serializer.errors.items()})
    return dict(serializer.validated_data)


@extend_schema(exclude=True)
class StandardHealthApi(HealthApi):
    """v1's health, under the contract's path."""


@extend_schema(exclude=True)
class StandardProjectsApi(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES

    def post(self, request: Request) -> Response:
        """``POST /v1/api/projects?Title=&StoryText=&Style=&ShotCount=``."""
        data = _validated(ProjectCreateSerializer, _values(request), PROJECT_NAMES)
        # With ShotCount, the shots' picture tasks are made now, blocked on the storyboard: the
        # client follows them from the start (they take the storyboard's shots in order).
        upfront = "shot_count" in data
        project, tasks = project_services.project_create(owner=request.user, shot_tasks=upfront, **data)  # type: ignore[arg-type]
        text = next(task for task in tasks if task.kind == STORYBOARD)
        shots = [str(task.id) for task in tasks if task.kind == IMAGE.name]
        body = {"project_id": str(project.id), "text_task_id": str(text.id), "shot_task_ids": shots}
        return Response(body, status=status.HTTP_202_ACCEPTED)


@extend_schema(exclude=True)
class StandardProjectApi(ProjectDetailApi):
    """v1's project (GET, DELETE), and the contract's PUT with its parameter names."""

    def put(self, request: Request, project_id: str) -> Response:
        project = project_selectors.project_get(user=request.user, project_id=project_id)
        changes = _validated(ProjectUpdateSerializer, _values(request), PROJECT_NAMES)
        return Response(ProjectSerializer(project_services.project_update(project=project, changes=changes)).data)


@extend_schema(exclude=True)
class StandardShotsApi(ShotListApi):
    """v1's shots of a project, under the contract's path."""


@extend_schema(exclude=True)
class StandardShotApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    def _shot(self, request: Request, project_id: str, shot_id: str, role: Role) -> Any:
        shot = shot_selectors.shot_get(user=request.user, shot_id=shot_id, role=role)
        if str(shot.project_id) != str(project_id):
            raise Http404("No such shot in this project.")
        return shot

    def get(self, request: Request, project_id: str, shot_id: str) -> Response:
        return Response(ShotSerializer(self._shot(request, project_id, shot_id, Role.VIEWER)).data)

    def post(self, request: Request, project_id: str, shot_id: str) -> Response:
        """Update the shot (``prompt``, ``transition``, or any v1 field) and make its picture
        again: the new prompt's, or the same prompt's once more when it did not change."""
        shot = self._shot(request, project_id, shot_id, Role.EDITOR)
        changes = _validated(ShotWriteSerializer, _values(request), {})
        since = timezone.now()
        shot = shot_services.shot_update(shot=shot, changes=changes)
        queued = Task.objects.filter(shot_id=shot.pk, kind=IMAGE.name, created_at__gte=since)
        task = queued.first() or shot_services.shot_generate(shot=shot, stage=IMAGE)
        message = "Shot updated; its picture is being made again." if changes else "Its picture is being made again."
        return Response({"shot_id": str(shot.pk), "task_id": str(task.id), "message": message})


@extend_schema(exclude=True)
class StandardShotDeleteApi(ShotDetailApi):
    """v1's shot (the contract DELETEs it), under the contract's path."""


@extend_schema(exclude=True)
class StandardVideoApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    def post(self, request: Request, project_id: str) -> Response:
        """Compose the film (``force`` renders even with failed shots, as v1)."""
        project = project_selectors.project_get(user=request.user, project_id=project_id)
        force = str(_values(request).get("force", "")).lower() in ("1", "true", "yes")
        task = project_render(project=project, force=force)
        body = {"project_id": str(project.id), "task_id": str(task.id), "message": "The film is being composed."}
        return Response(body, status=status.HTTP_202_ACCEPTED)


@extend_schema(exclude=True)
class StandardSpeechApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    def post(self, request: Request, project_id: str) -> Response:
        """Speak every shot's narration again (and recompose the film, if it had one)."""
        project = project_selectors.project_get(user=request.user, project_id=project_id)
        tasks = shots_regenerate(shots=project.shots.all(), stages={SPEECH}, explicit=True)
        speech = [str(task.id) for task in tasks if task.kind == SPEECH.name]
        message = f"{len(speech)} narration(s) being spoken again." if speech else "No shot has narration to speak."
        body = {"project_id": str(project.id), "task_ids": speech, "message": message}
        return Response(body, status=status.HTTP_202_ACCEPTED)


@extend_schema(exclude=True)
class StandardTaskApi(APIView):
    def get(self, request: Request, task_id: str) -> Response:
        task = task_selectors.task_get(user=request.user, task_id=task_id, role=Role.VIEWER)
        return Response(standard_task(TaskSerializer(task).data))


urlpatterns = [
    path("health", StandardHealthApi.as_view()),
    path("projects", StandardProjectsApi.as_view()),
    path("projects/<uuid:project_id>", StandardProjectApi.as_view()),
    path("projects/<uuid:project_id>/shots", StandardShotsApi.as_view()),
    path("projects/<uuid:project_id>/shots/<uuid:shot_id>", StandardShotApi.as_view()),
    path("shots/<uuid:shot_id>", StandardShotDeleteApi.as_view()),
    path("projects/<uuid:project_id>/video", StandardVideoApi.as_view()),
    path("projects/<uuid:project_id>/tts", StandardSpeechApi.as_view()),
    path("tasks/<uuid:task_id>", StandardTaskApi.as_view()),
]
