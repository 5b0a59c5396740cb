"""A person's own picture or narration recording put on a shot."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import BINARY, multipart
from projects import services
from shots.selectors import shot_get
from shots.serializers import ShotSerializer
from shots.stages import STAGES
from tasks.throttles import GENERATION_THROTTLES


class ShotMediaApi(APIView):
    throttle_classes = GENERATION_THROTTLES
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=multipart(stage={"type": "string", "enum": ["image", "speech"]}, file=BINARY),
        responses={200: ShotSerializer},
    )
    def post(self, request: Request, shot_id: str) -> Response:
        """Put your own picture (``stage=image``: PNG, JPEG or WebP, fitted to the frame) or
        narration recording (``stage=speech``: WAV, MP3, M4A…, levelled) on the shot in place of
        the generated one. A file that does not decode answers 400 and changes nothing."""
        shot = shot_get(user=request.user, shot_id=shot_id)
        stage = request.data.get("stage")
        if stage not in ("image", "speech"):
            raise ValidationError({"stage": 'Say which file this is: "image" or "speech".'})
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "Attach the file as the multipart field 'file'."})
        shot = services.shot_set_own_media(shot=shot, stage=STAGES[stage], upload=upload)
        return Response(ShotSerializer(shot).data)


urlpatterns = [
    path("shots/<uuid:shot_id>/media", ShotMediaApi.as_view(), name="shot-media"),
]
