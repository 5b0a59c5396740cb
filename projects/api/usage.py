"""What work used: a project's, and a user's over a window of time, with its cost where prices are
set."""

from __future__ import annotations

from datetime import timedelta

from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from projects import selectors
from projects.usage import usage_sum
from tasks.models import Task


class UsageQuerySerializer(serializers.Serializer):
    """A window of time, by when the tasks were made (dates or ISO 8601 times; the last 30 days
    when left out)."""

    # "from" is a Python keyword: the field is named in the mapping below.
    to = serializers.DateTimeField(required=False, input_formats=["iso-8601", "%Y-%m-%d"])

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(required=False, input_formats=["iso-8601", "%Y-%m-%d"])
        return fields

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        start, end = attrs.get("from"), attrs.get("to")
        if start is not None and end is not None and start > end:  # type: ignore[operator]
            raise serializers.ValidationError({"from": "Must not be after 'to'."})
        return attrs


class UsageSerializer(serializers.Serializer):
    """What tasks used: amounts summed (seconds, tokens, images, steps), per device kind and per
    kind of task, and the cost where the installation sets prices (USAGE_PRICES)."""

    tasks = serializers.IntegerField()
    wallSeconds = serializers.FloatField()
    deviceSeconds = serializers.FloatField(help_text="Seconds on a GPU.")
    tokensIn = serializers.FloatField()
    tokensOut = serializers.FloatField()
    images = serializers.FloatField()
    steps = serializers.FloatField()
    audioSeconds = serializers.FloatField()
    videoSeconds = serializers.FloatField()
    secondsByDevice = serializers.DictField(child=serializers.FloatField())
    byKind = serializers.DictField(child=serializers.DictField(child=serializers.FloatField()))
    cost = serializers.FloatField(allow_null=True)
    currency = serializers.CharField()
    start = serializers.DateTimeField(required=False, help_text="The window's start (GET /usage).")
    end = serializers.DateTimeField(required=False, help_text="The window's end (GET /usage).")


class ProjectUsageApi(APIView):
    @extend_schema(responses=UsageSerializer)
    def get(self, request: Request, project_id: str) -> Response:
        """What the project's tasks used, summed (and per kind of task), and its cost where prices are set."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        return Response(UsageSerializer(usage_sum(project.tasks.all())).data)


class UsageApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATETIME, description="A date or ISO 8601 time; 30 days ago by default."
            ),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="A date or ISO 8601 time; now by default."),
        ],
        responses=UsageSerializer,
    )
    def get(self, request: Request) -> Response:
        """What your tasks made in a window of time used, summed, and its cost where prices are set."""
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        end = query.validated_data.get("to") or timezone.now()
        start = query.validated_data.get("from") or end - timedelta(days=30)
        tasks = Task.objects.filter(owner_id=request.user.pk, created_at__gte=start, created_at__lte=end)
        return Response(UsageSerializer({**usage_sum(tasks), "start": start, "end": end}).data)


urlpatterns = [
    path("projects/<uuid:project_id>/usage", ProjectUsageApi.as_view(), name="project-usage"),
    path("usage", UsageApi.as_view(), name="usage"),
]
