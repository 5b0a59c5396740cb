"""The webhook a project's render calls when it ends."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from core.api import StrictSerializer
from projects import selectors
from projects.webhooks import webhook_set


class WebhookSerializer(StrictSerializer):
    url = serializers.URLField(max_length=500, help_text="Called (POST, JSON) when a render finishes or fails.")


class WebhookAnswerSerializer(serializers.Serializer):
    url = serializers.URLField()
    secret = serializers.CharField(help_text="HMAC-SHA256 key of X-StoryVideo-Signature: t=<time>,v1=<hex>.")


class ProjectWebhookApi(APIView):
    @extend_schema(request=WebhookSerializer, responses={200: WebhookAnswerSerializer})
    def put(self, request: Request, project_id: str) -> Response:
        """Call this URL when a render finishes or fails; a new signing secret comes with it."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        serializer = WebhookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = webhook_set(project=project, url=serializer.validated_data["url"])
        return Response({"url": project.webhook_url, "secret": project.webhook_secret})

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str) -> Response:
        webhook_set(project=selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER), url="")
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("projects/<uuid:project_id>/webhook", ProjectWebhookApi.as_view(), name="project-webhook"),
]
