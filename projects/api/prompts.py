"""The prompt optimiser: a request read into its parts, written as a picture prompt by a
template of the style, its questions answered, its result rated."""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from core.api import Pagination, StrictSerializer, StyleField, TextField, paginated, signed_in_id
from inference.styles import CAMERA_ANGLES, SHOT_SIZES
from projects import prompts
from projects.models import PromptDraft
from shots.selectors import shot_get
from tasks.serializers import TaskSerializer
from tasks.throttles import GENERATION_THROTTLES


class OptimizeSerializer(StrictSerializer):
    prompt = TextField(min_length=1, max_length=2000, help_text="What the picture should show, in any language.")
    style = StyleField(required=False)  # type: ignore[assignment]  # not Field.style
    shotId = serializers.UUIDField(
        source="shot_id", required=False, help_text="The shot it is for (its film's style, its narration as context)."
    )


class AnswersSerializer(StrictSerializer):
    subjects = serializers.ListField(child=TextField(max_length=200, multiline=False), max_length=5, required=False)
    setting = TextField(max_length=200, multiline=False, required=False, allow_blank=True)
    timeOfDay = TextField(max_length=200, multiline=False, required=False, allow_blank=True)
    mood = TextField(max_length=200, multiline=False, required=False, allow_blank=True)
    shotSize = serializers.ChoiceField(choices=list(SHOT_SIZES), required=False)
    cameraAngle = serializers.ChoiceField(choices=list(CAMERA_ANGLES), required=False)
    templateId = serializers.UUIDField(required=False, help_text="Write it with this template (an alternative).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Answer at least one question, or name a templateId.")
        return attrs


class PromptQuerySerializer(StrictSerializer):
    shotId = serializers.UUIDField(required=False)


class RatingSerializer(StrictSerializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)


class PromptDraftSerializer(serializers.ModelSerializer[PromptDraft]):
    status = serializers.SerializerMethodField(help_text="reading (the model has it), ready, or failed (see task).")
    shotId = serializers.UUIDField(source="shot_id", read_only=True, allow_null=True)
    entities = serializers.SerializerMethodField(help_text="What was read, with your answers over it.")
    questions = serializers.SerializerMethodField(help_text="What was not said: each a field, a question, choices.")
    template = serializers.SerializerMethodField()
    alternatives = serializers.SerializerMethodField(help_text="The prompt as your next-ranked templates write it.")
    task = TaskSerializer(read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = PromptDraft
        fields = [
            "id",
            "status",
            "prompt",
            "style",
            "shotId",
            "entities",
            "answers",
            "result",
            "questions",
            "template",
            "alternatives",
            "backend",
            "model",
            "note",
            "rating",
            "task",
            "createdAt",
        ]
        read_only_fields = fields

    def get_status(self, draft: PromptDraft) -> str:
        return prompts.status_of(draft)

    def get_entities(self, draft: PromptDraft) -> dict[str, Any]:
        return prompts.seen(draft)

    def get_questions(self, draft: PromptDraft) -> list[dict[str, Any]]:
        return prompts.questions(draft)

    def get_template(self, draft: PromptDraft) -> dict[str, str] | None:
        template = draft.template
        return {"id": str(template.pk), "name": template.name} if template is not None else None

    def get_alternatives(self, draft: PromptDraft) -> list[dict[str, str]]:
        return prompts.alternatives(draft)


class OptimizeApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=OptimizeSerializer, responses={201: PromptDraftSerializer, 202: PromptDraftSerializer})
    def post(self, request: Request) -> Response:
        """Read the request into its parts and write a picture prompt from them with a template of
        the style: 201 with it on the draft back end (the template alone), 202 while the language
        model reads it (follow ``GET /api/v1/prompts/{id}``); questions ask for what was not said."""
        serializer = OptimizeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        shot = shot_get(user=request.user, shot_id=data.pop("shot_id")) if "shot_id" in data else None
        draft = prompts.prompt_optimize(owner_id=signed_in_id(request), shot=shot, **data)
        ready = prompts.status_of(draft) == "ready"
        return Response(
            PromptDraftSerializer(draft).data, status=status.HTTP_201_CREATED if ready else status.HTTP_202_ACCEPTED
        )


class PromptListApi(APIView):
    @extend_schema(
        operation_id="prompts_list",
        parameters=[OpenApiParameter("shotId", str, description="Only those for this shot.")],
        responses=paginated(PromptDraftSerializer, "PromptDraftPage"),
    )
    def get(self, request: Request) -> Response:
        """Your prompt drafts, newest first (``?shotId=`` for one shot's: its dialogue)."""
        query = PromptQuerySerializer(
            data={"shotId": request.query_params["shotId"]} if "shotId" in request.query_params else {}
        )
        query.is_valid(raise_exception=True)
        shot_id = query.validated_data.get("shotId")
        shot = shot_get(user=request.user, shot_id=shot_id, role=Role.VIEWER) if shot_id else None
        drafts = prompts.prompt_list(owner_id=signed_in_id(request), shot_id=shot.pk if shot is not None else None)
        paginator = Pagination()
        page = paginator.paginate_queryset(drafts, request, view=self)
        return paginator.get_paginated_response(PromptDraftSerializer(page, many=True).data)


class PromptDetailApi(APIView):
    @extend_schema(responses=PromptDraftSerializer)
    def get(self, request: Request, draft_id: str) -> Response:
        return Response(
            PromptDraftSerializer(prompts.prompt_get(owner_id=signed_in_id(request), draft_id=draft_id)).data
        )


class PromptAnswersApi(APIView):
    @extend_schema(request=AnswersSerializer, responses=PromptDraftSerializer)
    def post(self, request: Request, draft_id: str) -> Response:
        """Answer the draft's questions (any of its parts), or choose an alternative's template:
        the prompt is written again."""
        draft = prompts.prompt_get(owner_id=signed_in_id(request), draft_id=draft_id)
        serializer = AnswersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answers = dict(serializer.validated_data)
        template_id = answers.pop("templateId", None)
        draft = prompts.prompt_answer(draft=draft, answers=answers, template_id=template_id)
        return Response(PromptDraftSerializer(draft).data)


class PromptRatingApi(APIView):
    @extend_schema(request=RatingSerializer, responses=PromptDraftSerializer)
    def post(self, request: Request, draft_id: str) -> Response:
        """Rate the prompt 1-5: your ratings rank your templates, the best first next time."""
        draft = prompts.prompt_get(owner_id=signed_in_id(request), draft_id=draft_id)
        serializer = RatingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = prompts.prompt_rate(draft=draft, rating=serializer.validated_data["rating"])
        return Response(PromptDraftSerializer(draft).data)


urlpatterns = [
    path("prompts/optimize", OptimizeApi.as_view(), name="prompt-optimize"),
    path("prompts", PromptListApi.as_view(), name="prompt-list"),
    path("prompts/<uuid:draft_id>", PromptDetailApi.as_view(), name="prompt-detail"),
    path("prompts/<uuid:draft_id>/answers", PromptAnswersApi.as_view(), name="prompt-answers"),
    path("prompts/<uuid:draft_id>/rating", PromptRatingApi.as_view(), name="prompt-rating"),
]
