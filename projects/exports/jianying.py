"""The latest render as a JianYing (CapCut) draft, zipped: its timeline (the render's own, from
its OpenTimelineIO file) with the shots' pictures, clips and narration, and the music. The
request's ``draftsFolder`` is the JianYing drafts folder it will be unpacked into, so that
JianYing finds its media (without it, JianYing asks once to relink them)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from core.storage import local_path
from inference.compose import FPS
from inference.jianying import DraftAudio, DraftCue, DraftShot, write_draft
from inference.styles import frame_size
from inference.text import file_name
from projects.exports import Export, ExportRequest, register
from projects.models import Project
from shots.models import Shot
from shots.stages import IMAGE, MOTION, SPEECH

SHOT_FILE = re.compile(r"(?:segments|audio)/shot-(\d+)\.")


def jianying_write(*, project: Project, folder: Path, root: str = "") -> Path:
    """Write the project's draft, zipped, into ``folder``; the zip holds the draft's folder."""
    import opentimelineio as otio

    if not project.render_timeline:
        raise ApplicationError("This render has no timeline; render the project again.", code="conflict")
    timeline = otio.adapters.read_from_file(str(local_path(project.render_timeline)), adapter_name="otio_json")
    tracks = {track.name: track for track in timeline.tracks}
    order = [item["shotId"] for item in (project.render_manifest or {}).get("segments", [])]
    by_id = {str(shot.id): shot for shot in Shot.objects.filter(project=project, id__in=order)}

    def shot_of(clip: Any) -> Shot:
        found = SHOT_FILE.match(clip.media_reference.target_url)
        index = int(found.group(1)) - 1 if found else -1
        if not 0 <= index < len(order) or order[index] not in by_id:
            raise ApplicationError(
                "A shot of this render was deleted since: render the project again, then export.", code="conflict"
            )
        return by_id[order[index]]

    shots: list[DraftShot] = []
    for item in tracks["Video"]:
        if isinstance(item, otio.schema.Transition):
            shots[-1].transition = item.name
            shots[-1].transition_frames = round((item.in_offset + item.out_offset).value)
            continue
        shot, placed = shot_of(item), item.range_in_parent()
        if not shot.result(IMAGE).file:
            raise ApplicationError(f"Shot {shot.order + 1} has no picture now: make one, then export.", code="conflict")
        shots.append(
            DraftShot(
                picture=local_path(shot.result(IMAGE).file),
                clip=local_path(shot.result(MOTION).file) if project.animate and shot.result(MOTION).file else None,
                camera=shot.camera,
                start=round(placed.start_time.value),
                frames=round(placed.duration.value),
                offset=round(item.source_range.start_time.value),
                segment_frames=round(item.media_reference.available_range.duration.value),
            )
        )
    narration = []
    for clip in tracks["Narration"].find_clips():
        shot, placed = shot_of(clip), clip.range_in_parent()
        if shot.result(SPEECH).file:
            start, frames = round(placed.start_time.value), round(placed.duration.value)
            narration.append(DraftAudio(local_path(shot.result(SPEECH).file), start, frames))
    cues = [
        DraftCue(clip.metadata.get("text", clip.name), round(r.start_time.value), round(r.duration.value))
        for clip in tracks["Subtitles"].find_clips()
        if (r := clip.range_in_parent())
    ]
    width, height = frame_size(project.aspect_ratio, project.resolution)
    name = file_name(project.title)
    home = write_draft(
        folder / "draft",
        name,
        width=width,
        height=height,
        fps=FPS,
        shots=shots,
        narration=narration,
        cues=cues,
        music=local_path(project.music) if project.music else None,
        film_frames=int((project.render_manifest or {}).get("frames") or round(timeline.duration().value)),
        root=root,
    )
    path = folder / "jianying.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(home.rglob("*")):
            if file.is_file():
                packed = zipfile.ZIP_DEFLATED if file.suffix in (".json", ".wav") else zipfile.ZIP_STORED
                archive.write(file, f"{name}/{file.relative_to(home).as_posix()}", packed)
    return path


def _draft(request: ExportRequest) -> Path:
    return jianying_write(project=request.project, folder=request.folder, root=request.drafts_folder)


register(
    Export("jianying", _("JianYing / CapCut draft (zip)"), "application/zip", "-jianying.zip", _draft, position=90)
)
