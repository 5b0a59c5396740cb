"""The render's own files: the film, its poster and its subtitles, read where they are stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from core.storage import local_path
from projects.exports import Export, ExportRequest, register


def _stored(field: str, what: str) -> Callable[[ExportRequest], Path]:
    def make(request: ExportRequest) -> Path:
        file = getattr(request.project, field)
        if not file:
            raise ApplicationError(f"This render has no {what}; render the project again.", code="conflict")
        return local_path(file)

    return make


for position, (name, label, content_type, suffix, field) in enumerate(
    (
        ("video", _("Film (MP4)"), "video/mp4", ".mp4", "render_video"),
        ("poster", _("Poster (JPEG)"), "image/jpeg", ".jpg", "render_poster"),
        ("srt", _("Subtitles (SRT)"), "application/x-subrip; charset=utf-8", ".srt", "render_srt"),
        ("vtt", _("Subtitles (WebVTT)"), "text/vtt; charset=utf-8", ".vtt", "render_vtt"),
    ),
    start=1,
):
    register(Export(name, label, content_type, suffix, _stored(field, name), position=10 * position))
