"""The render's editable timeline on its own, for an editor: OpenTimelineIO, FCP XML (Final Cut,
Premiere, DaVinci Resolve) and CMX 3600 EDL. Its media are linked by signed URLs of this server;
the bundle holds the files themselves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import opentimelineio as otio
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from core.storage import local_path
from inference.timeline import write_timeline
from projects.exports import Export, ExportRequest, register
from projects.models import Project
from shots.stages import SPEECH


def _timeline(fmt: str) -> Callable[[ExportRequest], Path]:
    def make(request: ExportRequest) -> Path:
        project = request.project
        if not project.render_timeline:
            raise ApplicationError("This render has no timeline; render the project again.", code="conflict")
        timeline = otio.adapters.read_from_file(str(local_path(project.render_timeline)), adapter_name="otio_json")
        urls = _media_urls(project, request.base_url)
        for clip in timeline.find_clips():
            reference = clip.media_reference
            if isinstance(reference, otio.schema.ExternalReference) and reference.target_url in urls:
                reference.target_url = urls[reference.target_url]
        hours = settings.MEDIA_URL_TTL_S // 3600
        timeline.metadata["storyvideo"] = {
            "media": f"The media links are signed and work for at least {hours} hours; "
            "the bundle export (exports/bundle) holds the media files themselves."
        }
        return write_timeline(timeline, request.folder, "timeline")[fmt]

    return make


def _media_urls(project: Project, base_url: str) -> dict[str, str]:
    """The timeline's bundle paths (segments/shot-01.mp4, audio/…, music/…) and the signed URL of
    the stored file each stands for."""

    scoped = getattr(default_storage, "scoped_url", None)

    def url(name: str) -> str:
        address = scoped(name, project.media_scope()) if scoped is not None else default_storage.url(name)
        return address if "://" in address else base_url.rstrip("/") + address

    segments = [item["file"] for item in (project.render_manifest or {}).get("segments", [])]
    urls = {f"segments/shot-{i:02d}.mp4": url(name) for i, name in enumerate(segments, 1)}
    for index, shot in enumerate(project.shots.order_by("order"), 1):
        speech = shot.result(SPEECH)
        if speech.file:
            urls[f"audio/shot-{index:02d}.wav"] = url(speech.file_name)
    if project.music:
        urls["music/" + Path(project.music.name).name] = url(project.music.name)
    return urls


register(
    Export(
        "otio", _("Timeline (OpenTimelineIO)"), "application/json", ".otio", _timeline("otio"), position=50, clips=True
    )
)
register(
    Export("fcpxml", _("Timeline (FCP XML)"), "application/xml", ".xml", _timeline("fcpxml"), position=60, clips=True)
)
register(
    Export("edl", _("Timeline (EDL)"), "text/plain; charset=utf-8", ".edl", _timeline("edl"), position=70, clips=True)
)
