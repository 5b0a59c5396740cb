"""Projects: made from a story (one or a batch), read, changed, copied, deleted, imported from a
bundle; their music; their render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from core.api import BINARY, Pagination, StrictSerializer, multipart, paginated
from projects import selectors, services
from projects.bundles import bundle_import
from projects.models import Project
from projects.pipeline import project_render
from projects.serializers import (
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
)
from projects.throttles import NEW_PROJECT_THROTTLES, new_projects_allowed
from tasks.serializers import TaskSerializer
from tasks.throttles import GENERATION_THROTTLES


class ProjectQuerySerializer(serializers.Serializer):
    """The project list's filters (other query parameters, such as ``page``, pass by)."""

    status = serializers.ChoiceField(choices=Project.Status.values, required=False)
    q = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Words of the title, description or story."
    )


class ProjectCreatedSerializer(serializers.Serializer):
    project = ProjectSerializer()
    tasks = TaskSerializer(many=True)


class ProjectBatchSerializer(StrictSerializer):
    projects: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=ProjectCreateSerializer(),
        allow_empty=False,
        max_length=settings.PROJECT_BATCH_MAX,
        help_text="The projects to make, each as POST /api/v1/projects takes it (PROJECT_BATCH_MAX at most).",
    )


class ProjectBatchCreatedSerializer(serializers.Serializer):
    projects = ProjectCreatedSerializer(many=True)


class RenderRequestSerializer(StrictSerializer):
    force = serializers.BooleanField(
        default=False,
        help_text="Render although some shots' picture, clip or voice failed (409 names them otherwise).",
    )


class ProjectListApi(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES

    @extend_schema(
        parameters=[ProjectQuerySerializer],
        responses=paginated(ProjectSerializer, "ProjectPage"),
        operation_id="projects_list",
    )
    def get(self, request: Request) -> Response:
        """Your projects and those shared with you, most recently changed first: of one
        ``status``, and matching ``q`` (best match first)."""
        query = ProjectQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        projects = selectors.project_list(
            user=request.user, status=query.validated_data.get("status"), query=query.validated_data.get("q", "")
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(projects, request, view=self)
        return paginator.get_paginated_response(ProjectSerializer(page, many=True).data)

    @extend_schema(request=ProjectCreateSerializer, responses={202: ProjectCreatedSerializer})
    def post(self, request: Request) -> Response:
        """Create a project from a story. 202: the storyboard task was queued."""
        return project_create_response(request)


def project_create_response(request: Request) -> Response:
    serializer = ProjectCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    project, tasks = services.project_create(owner=request.user, **serializer.validated_data)  # type: ignore[arg-type]
    body = {"project": ProjectSerializer(project).data, "tasks": TaskSerializer(tasks, many=True).data}
    return Response(body, status=status.HTTP_202_ACCEPTED)


class ProjectBatchApi(APIView):
    throttle_classes = GENERATION_THROTTLES  # the hourly allowance is checked for the whole batch below

    @extend_schema(request=ProjectBatchSerializer, responses={202: ProjectBatchCreatedSerializer})
    def post(self, request: Request) -> Response:
        """Create several projects in one request: every one is checked first, and all are made
        or none (400 names the first field of each one that is wrong, as ``projects[2].story``;
        429 when they do not all fit in the hourly allowance). 202: their storyboards are queued."""
        serializer = ProjectBatchSerializer(data=request.data)
        if not serializer.is_valid():
            raise ValidationError(_indexed(serializer.errors))
        items = serializer.validated_data["projects"]
        new_projects_allowed(request.user, len(items))
        made = services.projects_create_batch(owner=request.user, items=items)  # type: ignore[arg-type]
        body = {"projects": [{"project": project, "tasks": tasks} for project, tasks in made]}
        return Response(ProjectBatchCreatedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def _indexed(errors: Any) -> Any:
    """``{"projects": [{}, {"story": [...]}]}`` as ``{"projects[1].story": [...]}``."""
    items = errors.get("projects") if isinstance(errors, dict) else None
    if not isinstance(items, list) or not any(isinstance(item, dict) for item in items):
        return errors
    flat = {key: value for key, value in errors.items() if key != "projects"}
    for index, item in enumerate(items):
        for field, problem in (item or {}).items():
            flat[f"projects[{index}].{field}"] = problem
    return flat


class ProjectDetailApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(responses=ProjectSerializer)
    def get(self, request: Request, project_id: str) -> Response:
        return Response(
            ProjectSerializer(selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)).data
        )

    @extend_schema(request=ProjectUpdateSerializer, responses=ProjectSerializer)
    def patch(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        serializer = ProjectUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_update(project=project, changes=dict(serializer.validated_data))
        return Response(ProjectSerializer(project).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str) -> Response:
        services.project_delete(
            project=selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectDuplicateApi(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES

    @extend_schema(request=None, responses={201: ProjectSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """A copy of the project (story, settings, characters, shots, their media and the film;
        no tasks, no webhook), to try something without losing what is there."""
        project = services.project_duplicate(
            project=selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        )
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectRenderApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=RenderRequestSerializer, responses={202: TaskSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """Compose the film; the task waits for any shot media still being generated. When shots
        failed, answers 409 naming them unless ``force`` is set."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        serializer = RenderRequestSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        task = project_render(project=project, force=serializer.validated_data["force"])
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


class ProjectImportApi(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES
    parser_classes = [MultiPartParser]

    @extend_schema(request=multipart(bundle=BINARY), responses={201: ProjectSerializer})
    def post(self, request: Request) -> Response:
        """Import a bundle (a zip downloaded from ``exports/bundle``) as a new project."""
        upload = request.FILES.get("bundle")
        if upload is None:
            raise ValidationError({"bundle": "Attach the bundle as the multipart field 'bundle'."})
        project = bundle_import(owner=request.user, upload=upload)  # type: ignore[arg-type]
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectMusicApi(APIView):
    throttle_classes = GENERATION_THROTTLES
    parser_classes = [MultiPartParser]

    @extend_schema(request=multipart(file=BINARY), responses={200: ProjectSerializer})
    def put(self, request: Request, project_id: str) -> Response:
        """Set the background music (any audio file ffmpeg reads); it loops under the narration,
        ducked while someone speaks. A rendered film is recomposed."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "Attach the music as the multipart field 'file'."})
        project = services.project_set_music(project=project, upload=upload)
        return Response(ProjectSerializer(project).data)

    @extend_schema(responses={200: ProjectSerializer})
    def delete(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        return Response(ProjectSerializer(services.project_set_music(project=project, upload=None)).data)


urlpatterns = [
    path("projects", ProjectListApi.as_view(), name="project-list"),
    path("projects/<uuid:project_id>", ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/import", ProjectImportApi.as_view(), name="project-import"),
    path("projects/batch", ProjectBatchApi.as_view(), name="project-batch"),
    path("projects/<uuid:project_id>/render", ProjectRenderApi.as_view(), name="project-render"),
    path("projects/<uuid:project_id>/duplicate", ProjectDuplicateApi.as_view(), name="project-duplicate"),
    path("projects/<uuid:project_id>/music", ProjectMusicApi.as_view(), name="project-music"),
]
