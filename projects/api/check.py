"""The film check of a project's latest render: what would trouble a viewer, shot by shot."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from projects import selectors


class LoudnessSerializer(serializers.Serializer):
    integrated = serializers.FloatField(allow_null=True, help_text="EBU R128 integrated loudness, LUFS.")
    truePeak = serializers.FloatField(allow_null=True, help_text="dBTP.")
    range = serializers.FloatField(allow_null=True, help_text="Loudness range, LU.")
    target = serializers.FloatField(help_text="AUDIO_TARGET_LUFS when it was rendered.")


class FindingSerializer(serializers.Serializer):
    check = serializers.ChoiceField(
        choices=[
            "loudness",
            "peak",
            "silence",
            "cut_off",
            "reading_speed",
            "line_length",
            "title_safe",
            "glyphs",
            "black",
            "frozen",
            "duplicate",
            "match",
            "sync",
        ]
    )
    severity = serializers.ChoiceField(choices=["error", "warning"])
    message = serializers.CharField()
    action = serializers.CharField(help_text="What fixes it.")
    shot = serializers.IntegerField(required=False, help_text="The shot's number, from 1; absent for the whole film.")
    shotId = serializers.UUIDField(required=False)
    at = serializers.FloatField(required=False, help_text="Seconds into the film.")


class MatchShotSerializer(serializers.Serializer):
    shot = serializers.IntegerField(help_text="The shot's number, from 1.")
    shotId = serializers.UUIDField()
    against = serializers.ChoiceField(
        choices=["narration", "prompt"],
        help_text="What its picture was held against: its narration (an English film), else its prompt.",
    )
    score = serializers.FloatField(help_text="The cosine of CLIP's picture and text embeddings.")


class MatchSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="The CLIP that scored them (the likeness model).")
    shots = MatchShotSerializer(many=True, help_text="Each shot with a picture.")


class FilmCheckSerializer(serializers.Serializer):
    renderHash = serializers.CharField()
    checkedAt = serializers.DateTimeField()
    loudness = LoudnessSerializer()
    errorCount = serializers.IntegerField()
    warningCount = serializers.IntegerField()
    findings = FindingSerializer(many=True)
    match = MatchSerializer(
        required=False,
        help_text="How well each picture matches its words, where a CLIP is installed (LIKENESS_MODEL on disk): "
        "scored by a task after the render, then added here with the weakest shots' findings.",
    )


class ProjectCheckApi(APIView):
    @extend_schema(responses=FilmCheckSerializer)
    def get(self, request: Request, project_id: str) -> Response:
        """The check of the latest render, made on what was rendered: loudness and true peak
        against the target, silent stretches, narration cut off, captions too fast, too long,
        outside the title-safe area or with characters the font lacks, black or frozen
        pictures, near-duplicate keyframes, pictures that match their words least (where a CLIP
        is installed), sound against picture. 409 before the first render."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        return Response(FilmCheckSerializer(selectors.film_check(project=project)).data)


urlpatterns = [path("projects/<uuid:project_id>/check", ProjectCheckApi.as_view(), name="project-check")]
