"""A film translated into another language (a new project)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from core.api import StrictSerializer
from inference.styles import LANGUAGES
from projects import selectors
from projects.throttles import NEW_PROJECT_THROTTLES, new_projects_allowed
from projects.translation import project_translate
from tasks.serializers import TaskSerializer


class TranslateSerializer(StrictSerializer):
    language = serializers.ChoiceField(choices=LANGUAGES, help_text="The new project's language.")


class ProjectTranslateApi(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES

    @extend_schema(request=TranslateSerializer, responses={202: TaskSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """Translate the film into another language with the storyboard's language model; 202
        with its task, whose result names the new project (``projectId``): the same pictures and
        clips, the narration translated and spoken in the new language's voice. This project is
        not changed; a translation that fails makes nothing."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        serializer = TranslateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new_projects_allowed(request.user, 1)
        task = project_translate(project=project, **serializer.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("projects/<uuid:project_id>/translate", ProjectTranslateApi.as_view(), name="project-translate"),
]
