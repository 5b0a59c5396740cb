"""Health, system information and authentication endpoints."""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, password_validation
from django.db import connection
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle
from rest_framework.views import APIView
from rq import Worker

from accounts.audit import audit
from accounts.signup import USERNAME_PATTERN, USERNAME_REFUSED, username_taken
from accounts.tokens import HashedTokenAuthentication, token_create, token_revoke
from core.api import StrictSerializer, TextField
from core.disk import disk_space
from core.engines import PREVIEW_LINES, configured_specs, voice_choices, voice_preview
from core.redis import get_redis
from inference.registry import backend_report, configured_report
from inference.speech import voice_language
from projects.selectors import stages_last_ran
from tasks.models import Task
from tasks.queues import QUEUES, get_queue, live_workers
from tasks.selectors import queues_served


def _check(probe: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # report, never raise: this is the health check
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "latencyMs": round((time.perf_counter() - started) * 1000, 2)}


def _database_probe() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


_HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "degraded", "down"]),
        "database": serializers.DictField(),
        "redis": serializers.DictField(),
        "disk": serializers.DictField(help_text="ok: at least DISK_FREE_MIN_BYTES free; freeBytes: the least free."),
    },
)


class HealthApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(responses={200: _HEALTH, 503: _HEALTH})
    def get(self, request: Request) -> Response:
        """200 when the database and Redis both answer, else 503 naming what is down. Where films
        are written has less than DISK_FREE_MIN_BYTES free: ``degraded`` (still 200: the site
        works, and deleting is how space is freed), renders wait until space is freed."""
        database = _check(_database_probe)
        redis = _check(get_redis().ping)
        spaces = disk_space()
        disk = {"ok": not any(space.low for space in spaces), "freeBytes": min(space.free for space in spaces)}
        ok = database["ok"] and redis["ok"]
        body = {
            "status": ("ok" if disk["ok"] else "degraded") if ok else "down",
            "database": database,
            "redis": redis,
            "disk": disk,
        }
        return Response(body, status=status.HTTP_200_OK if ok else status.HTTP_503_SERVICE_UNAVAILABLE)


class SystemApi(APIView):
    @extend_schema(
        responses=inline_serializer(
            "System",
            {
                "queues": serializers.DictField(),
                "workers": serializers.ListField(),
                "backends": serializers.ListField(),
                "configured": serializers.ListField(),
                "tiers": serializers.ListField(
                    help_text="Each picture tier (draft, fast, quality): its back end, what runs here and why not."
                ),
                "lastRan": serializers.ListField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        """The engines' back ends (whether each can run here) and, per stage, the configured back
        end and what runs instead when it cannot (as this web process sees the machine; a worker
        elsewhere may differ); ``lastRan``: per stage, what the workers recorded as having made
        the newest result (of your tasks; staff: of all), a draft or the real model; how many
        live workers serve each queue (a worker gone for WORKER_PRESENCE_TTL_S is not counted).
        Staff also see queue depths, worker names and model servers' addresses, which others
        see redacted."""
        staff = bool(request.user.is_staff)
        alive = set().union(*live_workers().values())
        workers = [w for w in Worker.all(connection=get_redis()) if (w.hostname, w.pid) in alive]
        queues = {}
        for name in QUEUES:
            queues[name] = {"workers": sum(name in w.queue_names() for w in workers)}
            if staff:
                queue = get_queue(name)
                queues[name] |= {"queued": queue.count, "running": queue.started_job_registry.count}
        named = [{"name": w.name, "queues": w.queue_names(), "state": w.get_state()} for w in workers] if staff else []
        configured = configured_report(configured_specs(), settings.MODELS_DIR)
        backends = backend_report()
        ran = stages_last_ran(tasks=Task.objects.all() if staff else Task.objects.filter(owner_id=request.user.pk))
        if not staff:
            configured = [{key: redact(value) for key, value in entry.items()} for entry in configured]
            backends = [{**entry, "reason": redact(entry["reason"])} for entry in backends]
            ran = [
                {
                    **entry,
                    "runs": redact(entry["runs"]),
                    "spec": redact(entry["spec"]),
                    "reason": redact(entry["reason"]),
                }
                for entry in ran
            ]
        by_stage = {entry["stage"]: entry for entry in configured}
        tiers = [
            {"tier": "draft", "spec": "draft", "runs": "draft", "reason": ""},
            *(
                {"tier": tier, **{k: by_stage[stage][k] for k in ("spec", "runs", "reason")}}
                for tier, stage in TIER_STAGES
            ),
        ]
        body = {
            "queues": queues,
            "workers": named,
            "backends": backends,
            "configured": configured,
            "tiers": [{**tier, "default": tier["tier"] == settings.IMAGE_TIER} for tier in tiers],
            "lastRan": ran,
        }
        return Response(body)


class ModelsApi(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Models",
            {
                "stages": serializers.ListField(
                    help_text="Per stage: configured (each setting's spec, what runs and why not the spec) and "
                    "backends (each installed one: what it needs, whether it can run here and why not)."
                )
            },
        )
    )
    def get(self, request: Request) -> Response:
        """The installed back ends per stage (storyboard, image, motion, speech…): what each
        needs (Python packages, a program, a model named in its spec and that model's weights on
        disk), whether it can run on this machine and why not; and what each stage's settings
        name and what runs for them (the draft back end where the named one cannot, and why).
        As this web process sees the machine; model servers' addresses are shown to staff only."""
        backends, configured = backend_report(), configured_report(configured_specs(), settings.MODELS_DIR)
        if not request.user.is_staff:
            configured = [{key: redact(value) for key, value in entry.items()} for entry in configured]
            backends = [{**entry, "reason": redact(entry["reason"])} for entry in backends]
        stages: dict[str, dict[str, Any]] = {}
        for entry in backends:
            stages.setdefault(entry["stage"], {"stage": entry["stage"], "configured": [], "backends": []})
            stages[entry["stage"]]["backends"].append(entry)
        for entry in configured:
            stages[entry["stage"].partition(".")[0]]["configured"].append(entry)
        return Response({"stages": list(stages.values())})


# Each paid-for picture tier and the configured stage that runs it (a tier that cannot run here
# paints draft cards and says why).
TIER_STAGES = (("fast", "image"), ("quality", "image.quality"))

_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://[^\s#]+#?", re.IGNORECASE)


def redact(text: str) -> str:
    """A spec or message without the addresses in it (``openai:http://host:11434/v1#qwen2.5``
    becomes ``openai:qwen2.5``; an address in a sentence becomes "the model server")."""
    return _ADDRESS.sub(lambda m: "" if m.group().endswith("#") else "the model server", text)


class WorkersApi(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Workers",
            {"inference": serializers.DictField(), "media": serializers.DictField()},
        )
    )
    def get(self, request: Request) -> Response:
        """Per queue, how many workers are alive now and which task kinds it runs: work of a
        queue with none waits until one starts (the editor says so)."""
        return Response(queues_served())


class VoicesApi(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Voices",
            {
                "voices": serializers.ListField(child=serializers.CharField()),
                "defaults": serializers.DictField(),
                "languages": serializers.DictField(
                    child=serializers.CharField(allow_null=True),
                    help_text="The language each voice speaks, where its name says (null: any).",
                ),
            },
        )
    )
    def get(self, request: Request) -> Response:
        """The voices a project's or a character's ``voice`` may name here (operators add more
        with VOICES), the voice each language has when a project names none, and the language
        each voice speaks (a character's voice must speak its project's)."""
        defaults = {"en": settings.SPEECH_MODEL_EN, "zh": settings.SPEECH_MODEL_ZH}
        voices = voice_choices()
        languages = {voice: voice_language(voice) for voice in voices}
        return Response({"voices": voices, "defaults": defaults, "languages": languages})


class VoicePreviewThrottle(ScopedRateThrottle):
    scope = "generate"


class VoicePreviewApi(APIView):
    throttle_classes = [VoicePreviewThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter("voice", str, required=True, description="One of GET /api/v1/voices."),
            OpenApiParameter("language", str, enum=["en", "zh"], description="The line's language (default en)."),
        ],
        responses={(200, "audio/wav"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request) -> FileResponse:
        """A voice reading one line, to choose a narrator by ear (piper and espeak-ng voices)."""
        language = request.query_params.get("language", "en")
        if language not in PREVIEW_LINES:
            raise ValidationError({"language": "Choose en or zh."})
        path = voice_preview(voice=request.query_params.get("voice", ""), language=language)
        response = FileResponse(open(path, "rb"), content_type="audio/wav")  # noqa: SIM115 - closed by Django
        response["Cache-Control"] = "private, max-age=86400"
        return response


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class TokenApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    def get_authenticate_header(self, request: Request) -> str:
        return "Token"  # wrong credentials answer 401, not 403

    @extend_schema(
        request=TokenRequestSerializer, responses=inline_serializer("TokenResponse", {"token": serializers.CharField()})
    )
    def post(self, request: Request) -> Response:
        """Exchange a username and password for a new API token (send it as ``Authorization:
        Token …``). It is shown this once (only its SHA-256 is kept) and works until revoked
        (``DELETE`` here with it, or the admin); past API_TOKENS_PER_USER a user's oldest go."""
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request._request, **serializer.validated_data)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Wrong username or password.")
        return Response({"token": token_create(user=user)})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        """Revoke the token this request is sent with (``Authorization: Token …``)."""
        words = request.headers.get("Authorization", "").split()
        if len(words) != 2 or words[0].lower() != "token":
            raise AuthenticationFailed("Send the token to revoke as 'Authorization: Token …'.")
        user = HashedTokenAuthentication().authenticate_credentials(words[1])[0]
        token_revoke(user=user, key=words[1])
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignupSerializer(StrictSerializer):
    username = serializers.RegexField(USERNAME_PATTERN, max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    displayName = TextField(
        source="first_name",
        max_length=150,
        required=False,
        allow_blank=True,
        multiline=False,
        help_text="The name others see (the username if blank).",
    )

    def validate_username(self, value: str) -> str:
        if username_taken(value):
            raise serializers.ValidationError(USERNAME_REFUSED)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = get_user_model()(username=attrs["username"])
        try:
            password_validation.validate_password(attrs["password"], user)
        except Exception as exc:
            raise serializers.ValidationError({"password": list(getattr(exc, "messages", [str(exc)]))}) from None
        return attrs


def signup(request: Request) -> Any:
    """A new account from the request's username and password, where sign-up is on."""
    if not settings.ALLOW_SIGNUP:
        raise PermissionDenied("Sign-up is switched off here; ask an administrator for an account.")
    serializer = SignupSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = get_user_model().objects.create_user(**serializer.validated_data)
    audit("signed_up", actor=user)
    return user


class SignupThrottle(AnonRateThrottle):
    scope = "signup"


class SignupApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [SignupThrottle]

    @extend_schema(
        request=SignupSerializer,
        responses={
            201: inline_serializer(
                "SignupResponse",
                {
                    "token": serializers.CharField(),
                    "username": serializers.CharField(),
                    "displayName": serializers.CharField(),
                    "email": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        """Create an account (when ALLOW_SIGNUP is on) and return its API token."""
        user = signup(request)
        body = {"token": token_create(user=user), "username": user.get_username()}
        body |= {"displayName": user.first_name, "email": user.email}
        return Response(body, status=status.HTTP_201_CREATED)
