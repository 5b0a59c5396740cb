"""Shared API pieces: the error envelope, pagination, and small helpers for views."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError
from inference.styles import STYLE_MAX_CHARS, STYLES, style_key
from inference.text import clean_text


def signed_in_id(request: Any) -> int:
    """The signed-in user's id, in a view every request of which is authenticated."""
    assert request.user.pk is not None
    return int(request.user.pk)


class Pagination(PageNumberPagination):
    page_size_query_param = "pageSize"
    max_page_size = 100


def paginated(serializer: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The schema of a page of ``serializer``'s objects, as Pagination answers it."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer(many=True),
        },
    )


class TextField(serializers.CharField):
    """Text as people paste it, made safe to store and render: line breaks of every kind become
    ``\n`` (or a space on one-line fields, ``multiline=False``), other control characters go."""

    def __init__(self, *, multiline: bool = True, **kwargs: Any) -> None:
        self.multiline = multiline
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            data = clean_text(data, multiline=self.multiline)
        return str(super().to_internal_value(data))


class FiniteFloatField(serializers.FloatField):
    """A float that is a number: ``NaN`` and infinities are refused."""

    def to_internal_value(self, data: Any) -> float:
        value = float(super().to_internal_value(data))
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def _flatten(detail: Any) -> Any:
    """DRF's ErrorDetail lists become plain strings; nested serializers keep their shape."""
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return " ".join(str(item) for item in detail)
        return [_flatten(item) for item in detail]
    if isinstance(detail, dict):
        return {str(key): _flatten(value) for key, value in detail.items()}
    return str(detail)


APPLICATION_STATUS = {
    "invalid": status.HTTP_400_BAD_REQUEST,
    "not_found": status.HTTP_404_NOT_FOUND,
    "conflict": status.HTTP_409_CONFLICT,
    "too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
}


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error as ``{"error": {"code", "message", "fields"}}`` with its HTTP status."""
    if isinstance(exc, ApplicationError):
        if exc.field:
            body = error_body(exc.code, f"Invalid input: {exc.field}: {exc.message}", {exc.field: exc.message})
        else:
            body = error_body(exc.code, exc.message)
        return Response(body, status=APPLICATION_STATUS[exc.code])
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(f"The request body is larger than the limit: {exc}")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = _flatten(detail) if isinstance(detail, dict) else {}
        general = fields.pop("nonFieldErrors", None) or fields.pop("non_field_errors", None)
        if isinstance(detail, list):
            general = _flatten(detail)
        if general:
            message = str(general)
        elif fields:
            message = "Invalid input: " + "; ".join(f"{name}: {text}" for name, text in fields.items())
        else:
            message = "Invalid input."
        response.data = error_body("invalid", message, fields)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        said: Any = exc.detail
        if isinstance(said, dict) and "detail" in said:  # simplejwt's: {"detail", "code", "messages"}
            code, said = said.get("code", code), said["detail"]
        response.data = error_body(str(code), str(_flatten(said)))
    return response


class StrictSerializer(serializers.Serializer):
    """A write serializer that refuses unknown keys instead of silently ignoring them
    (``shot_count`` instead of ``shotCount`` would otherwise be dropped without a word)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - {name for name, field in self.fields.items() if not field.read_only})
            if unknown:
                raise exceptions.ValidationError({name: "Unknown field." for name in unknown})
        return super().to_internal_value(data)


def media_url(file: Any) -> str | None:
    """The file's signed URL. Stored names are content hashes, so a regenerated file has a new
    URL and is never served stale."""
    return file.url if file else None


def thumbnail_url(file: Any) -> str | None:
    """The signed URL of a picture's thumbnail (a WebP ``core.storage.THUMBNAIL_WIDTH`` wide);
    None for no file or one that is not a picture."""
    return file.thumbnail_url if file else None


BINARY = {"type": "string", "format": "binary"}  # a file field of a multipart form, in OpenAPI


def multipart(**fields: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI body of a multipart form whose every field is required."""
    return {"multipart/form-data": {"type": "object", "properties": fields, "required": list(fields)}}


API_PREFIXES = ("/api/", "/v1/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 (a route no view answers): JSON under the API's prefixes, as every other
    answer there; the page otherwise."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse(
            error_body("not_found", f"No such route: {request.method} {request.path[:200]}. See /api/v1/docs."),
            status=404,
        )
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 (an error no view handled): JSON under the API's prefixes."""
    if request.path.startswith(API_PREFIXES):
        message = "Something went wrong on our side; it is logged. Try again, or tell the operator."
        return JsonResponse(error_body("server_error", message), status=500)
    return defaults.server_error(request)


class StyleField(TextField):
    """A preset by its key, its name or a Chinese client's word for it (电影, 动漫, 水彩…), kept as
    the key; any other words are the style itself and go into every picture prompt."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            f"A preset ({', '.join(STYLES)}), by key, name or a Chinese name (电影, 动漫, 水彩, 写实, 赛博朋克, 油画, "
            "国风, 像素…); other words are a style of their own, added to every picture prompt.",
        )
        super().__init__(max_length=STYLE_MAX_CHARS, multiline=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        words = " ".join(super().to_internal_value(data).split())
        if not words:
            self.fail("blank")
        return style_key(words) or words
