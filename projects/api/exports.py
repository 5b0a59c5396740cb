"""Downloads of the latest render, in every format the exports registry declares
(projects.exports)."""

from __future__ import annotations

import re

from django.http import FileResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from core.access import Role
from core.api import StrictSerializer
from projects import selectors
from projects.exports import export_disposition, export_get, export_made, exports_offered

ABSOLUTE_PATH = re.compile(r"^(?:/|[A-Za-z]:[\\/]|\\\\)[^\x00-\x1f\x7f]*$")


class ExportQuerySerializer(StrictSerializer):
    draftsFolder = serializers.CharField(
        max_length=400,
        required=False,
        default="",
        allow_blank=True,
        help_text="jianying: the JianYing drafts folder on the machine that opens the draft, as an "
        "absolute path (C:\\Users\\mei\\AppData\\Local\\JianyingPro\\User Data\\Projects\\"
        "com.lveditor.draft); without it JianYing asks once to relink the draft's materials folder.",
    )

    def validate_draftsFolder(self, value: str) -> str:  # noqa: N802 - DRF names it after the field
        if value and not ABSOLUTE_PATH.match(value):
            raise serializers.ValidationError("Give the JianYing drafts folder as an absolute path (C:\\… or /…).")
        return value


class ProjectExportApi(APIView):
    @extend_schema(
        parameters=[
            ExportQuerySerializer,
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=[export.name for export in exports_offered()]),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, project_id: str, fmt: str) -> FileResponse:
        """Download the film (``video``), its ``poster``, subtitles (``srt``, ``vtt``), its
        editable timeline (``otio``, ``fcpxml``, ``edl``), a JianYing / CapCut draft
        (``jianying``: a zip of the draft's folder; ``draftsFolder`` is the JianYing drafts folder it
        will be unpacked into, so that JianYing finds its media) or everything as a ``bundle``."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        export = export_get(fmt)
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        base_url = request.build_absolute_uri("/")
        drafts_folder = query.validated_data["draftsFolder"]
        with export_made(project=project, export=export, base_url=base_url, drafts_folder=drafts_folder) as path:
            handle = open(path, "rb")  # noqa: SIM115 - closed by Django after streaming; readable once removed
        response = FileResponse(handle, content_type=export.content_type)
        response["Content-Disposition"] = export_disposition(project, export)
        return response


urlpatterns = [
    path("projects/<uuid:project_id>/exports/<str:fmt>", ProjectExportApi.as_view(), name="project-export"),
]
