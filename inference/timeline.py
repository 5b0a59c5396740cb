"""The editable timeline of a film, as OpenTimelineIO: a video track (each shot's rendered
segment, with its transitions), a narration track, a music track and a subtitle track; written
also as FCP XML and CMX 3600 EDL through OpenTimelineIO's adapters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.compose import FPS, XFADE, Placement
from inference.errors import EngineError


@dataclass
class TimelineShot:
    name: str
    segment: str  # media path relative to the bundle ("segments/shot-01.mp4")
    audio: str | None  # narration file, relative
    audio_seconds: float
    transition: str


def _rt(frames: float) -> Any:
    import opentimelineio as otio

    return otio.opentime.RationalTime(frames, FPS)


def _range(start: float, frames: float) -> Any:
    import opentimelineio as otio

    return otio.opentime.TimeRange(_rt(start), _rt(frames))


def build_timeline(
    title: str, shots: list[TimelineShot], placements: list[Placement], *, music: str | None, film_frames: int
) -> Any:
    """The film as an OTIO Timeline. Each video clip shows its shot's core plus half of each
    transition beside it; transitions overlap the clips by half their length on either side,
    so the track lasts exactly as long as the film."""
    import opentimelineio as otio

    timeline = otio.schema.Timeline(name=title)
    video = otio.schema.Track(name="Video", kind=otio.schema.TrackKind.Video)
    narration = otio.schema.Track(name="Narration", kind=otio.schema.TrackKind.Audio)
    music_track = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
    subtitles = otio.schema.Track(name="Subtitles", kind=otio.schema.TrackKind.Video)
    audio_at = 0.0
    subtitle_at = 0.0
    for index, (shot, place) in enumerate(zip(shots, placements, strict=True)):
        segment_frames = place.head + place.core + place.tail
        media = otio.schema.ExternalReference(target_url=shot.segment, available_range=_range(0, segment_frames))
        before = place.head // 2
        after = place.tail // 2 if index < len(shots) - 1 else place.tail
        clip = otio.schema.Clip(
            name=shot.name, media_reference=media, source_range=_range(place.head - before, before + place.core + after)
        )
        if index and place.head:
            video.append(
                otio.schema.Transition(
                    name=shots[index - 1].transition,
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=_rt(place.head - place.head // 2),
                    out_offset=_rt(place.head // 2),
                    metadata={"storyvideo": {"xfade": XFADE.get(shots[index - 1].transition, "fade")}},
                )
            )
        video.append(clip)
        if shot.audio:
            start = place.start
            if start > audio_at:
                narration.append(otio.schema.Gap(source_range=_range(0, start - audio_at)))
            frames = min(round(shot.audio_seconds * FPS), place.core)
            reference = otio.schema.ExternalReference(target_url=shot.audio, available_range=_range(0, frames))
            narration.append(
                otio.schema.Clip(
                    name=f"{shot.name} narration", media_reference=reference, source_range=_range(0, frames)
                )
            )
            audio_at = start + frames
        for cue in place.cues:
            start, end = round(cue.start * FPS), round(cue.end * FPS)
            if end <= start:
                continue
            if start > subtitle_at:
                subtitles.append(otio.schema.Gap(source_range=_range(0, start - subtitle_at)))
            generator = otio.schema.GeneratorReference(
                generator_kind="Subtitle", parameters={"text": cue.text}, available_range=_range(0, end - start)
            )
            subtitles.append(
                otio.schema.Clip(
                    name=cue.text.replace("\n", " ")[:60],
                    media_reference=generator,
                    source_range=_range(0, end - start),
                    metadata={"text": cue.text},
                )
            )
            subtitle_at = end
    if music:
        reference = otio.schema.ExternalReference(target_url=music, available_range=_range(0, film_frames))
        music_track.append(
            otio.schema.Clip(name="Music", media_reference=reference, source_range=_range(0, film_frames))
        )
    timeline.tracks.extend([video, narration, music_track, subtitles])
    return timeline


def write_timeline(timeline: Any, folder: Path, stem: str) -> dict[str, Path]:
    """Write .otio, FCP XML and a CMX 3600 EDL (the EDL holds the picture track: the format has
    one video track). Each written file is read back once, so a file that the adapters cannot
    parse is never handed out."""
    import copy

    import opentimelineio as otio

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"otio": folder / f"{stem}.otio", "fcpxml": folder / f"{stem}.xml", "edl": folder / f"{stem}.edl"}
    otio.adapters.write_to_file(timeline, str(paths["otio"]))
    fcp = copy.deepcopy(timeline)
    for track in list(fcp.tracks):
        if track.name == "Subtitles":
            fcp.tracks.remove(track)  # FCP XML has no generator for captions; the SRT carries them
    otio.adapters.write_to_file(fcp, str(paths["fcpxml"]), adapter_name="fcp_xml")
    picture = otio.schema.Timeline(name=timeline.name)
    picture.tracks.append(copy.deepcopy(timeline.video_tracks()[0]))
    otio.adapters.write_to_file(picture, str(paths["edl"]), adapter_name="cmx_3600", rate=FPS)
    for kind, path in paths.items():
        try:
            otio.adapters.read_from_file(
                str(path), adapter_name={"otio": "otio_json", "fcpxml": "fcp_xml", "edl": "cmx_3600"}[kind]
            )
        except Exception as exc:
            raise EngineError(f"The {kind} timeline did not read back: {exc}", permanent=False) from None
    return paths
