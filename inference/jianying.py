"""The film as a JianYing (CapCut) draft, written with pyJianYingDraft: a folder holding
``draft_content.json``, ``draft_meta_info.json`` and its media under ``materials/``.

Tracks, from the bottom: the shots (each keyframe still with its camera move as scale and
position keyframes, or its motion clip), each joined to the next by the nearest JianYing
transition; the narration; the music, looped to the film's length; the subtitles as text.
Every segment starts and ends on the film's own frames, so the draft lasts as long as the film.

JianYing finds a draft's media only by absolute path: ``root`` is the JianYing drafts folder the
draft will be unpacked into (its materials are then at ``root/<name>/materials/…``). Without
one the paths stay relative, and JianYing asks once to relink the ``materials`` folder.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from inference.kenburns import PAN_ZOOM, ZOOM

# Our transitions as JianYing's nearest (pyJianYingDraft's TransitionType names).
TRANSITIONS = {
    "fade": "闪黑",  # through black
    "dissolve": "叠化",
    "wipe_left": "向左擦除",
    "wipe_right": "向右擦除",
    "slide_left": "左移",
    "slide_right": "右移",
}
MUSIC_VOLUME = 0.3  # under the narration, as the film ducks it
KEYFRAMES = 6  # samples of the eased camera move (JianYing interpolates linearly between them)


@dataclass
class DraftShot:
    picture: Path
    clip: Path | None  # the motion clip, where the film animates the shot
    camera: str
    start: int  # frames into the film
    frames: int  # frames on the timeline
    offset: int  # frames into its rendered segment where the timeline's part begins
    segment_frames: int  # the rendered segment's length, over which the camera move runs
    transition: str = "cut"  # into the next shot
    transition_frames: int = 0


@dataclass
class DraftAudio:
    path: Path
    start: int
    frames: int


@dataclass
class DraftCue:
    text: str
    start: int
    frames: int


def _us(frames: int, fps: int) -> int:
    return round(frames * 1_000_000 / fps)


def _span(start: int, frames: int, fps: int) -> Any:
    """The frames as a Timerange whose ends are those of the film's frames: neighbours meet."""
    import pyJianYingDraft as draft  # noqa: N813 - the library is named in camel case

    return draft.Timerange(_us(start, fps), _us(start + frames, fps) - _us(start, fps))


def _eased(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return t * t * (3 - 2 * t)  # the film's smoothstep


def camera_keyframes(camera: str, shot: DraftShot) -> dict[str, list[float]]:
    """Per keyframed property, its value at each of KEYFRAMES times across the shot: the film's
    zoompan move in JianYing's terms (scale 1 fills the frame; a position is in half frames)."""
    last = max(1, shot.segment_frames - 1)
    times = [shot.offset + shot.frames * i / (KEYFRAMES - 1) for i in range(KEYFRAMES)]
    progress = [_eased(t / last) for t in times]
    room = PAN_ZOOM - 1  # how far a pan may move the still and still fill the frame
    moves: dict[str, dict[str, list[float]]] = {
        "zoom_in": {"uniform_scale": [1 + (ZOOM - 1) * p for p in progress]},
        "zoom_out": {"uniform_scale": [ZOOM - (ZOOM - 1) * p for p in progress]},
        "pan_left": {"position_x": [-room + 2 * room * p for p in progress]},
        "pan_right": {"position_x": [room - 2 * room * p for p in progress]},
        "pan_up": {"position_y": [room - 2 * room * p for p in progress]},
        "pan_down": {"position_y": [-room + 2 * room * p for p in progress]},
    }
    values = moves.get(camera, {})
    if camera.startswith("pan_"):
        values = {"uniform_scale": [PAN_ZOOM] * KEYFRAMES, **values}
    return values


def write_draft(
    folder: Path,
    name: str,
    *,
    width: int,
    height: int,
    fps: int,
    shots: list[DraftShot],
    narration: list[DraftAudio],
    cues: list[DraftCue],
    music: Path | None,
    film_frames: int,
    root: str = "",
) -> Path:
    """Write the draft into ``folder/name`` and return that folder."""
    import pyJianYingDraft as draft  # noqa: N813 - the library is named in camel case

    folder.mkdir(parents=True, exist_ok=True)
    script = draft.DraftFolder(str(folder)).create_draft(name, width, height, fps, allow_replace=True)
    home = folder / name
    (home / "materials").mkdir()
    materials: dict[Path, Any] = {}

    def material(path: Path, kind: str) -> Any:
        """The file copied into the draft (once), as a pyJianYingDraft material that names it
        where JianYing will find it."""
        if path not in materials:
            file = f"{kind}-{len(materials) + 1:03d}{path.suffix.lower()}"
            local = home / "materials" / file
            shutil.copyfile(path, local)
            made = draft.AudioMaterial(str(local)) if kind == "audio" else draft.VideoMaterial(str(local))
            made.path = str(_home(root, name) / "materials" / file) if root else f"materials/{file}"
            made.local_material_id = made.material_id
            materials[path] = made
        return materials[path]

    kinds = draft.TrackType
    video, voice, music_track, text = (
        script.append_track(draft.TrackSpec(kind, name=name))
        for kind, name in (
            (kinds.video, "Shots"),
            (kinds.audio, "Narration"),
            (kinds.audio, "Music"),
            (kinds.text, "Subtitles"),
        )
    )
    for shot in shots:
        span = _span(shot.start, shot.frames, fps)
        if shot.clip is not None:
            clip = material(shot.clip, "clip")
            segment = draft.VideoSegment(clip, span, source_timerange=draft.Timerange(0, clip.duration))
        else:
            segment = draft.VideoSegment(material(shot.picture, "picture"), span)
            for prop, values in camera_keyframes(shot.camera, shot).items():
                for i, value in enumerate(values):
                    offset = round(span.duration * i / (KEYFRAMES - 1))
                    segment.add_keyframe(getattr(draft.KeyframeProperty, prop), min(offset, span.duration), value)
        if shot.transition in TRANSITIONS and shot.transition_frames:
            kind = getattr(draft.TransitionType, TRANSITIONS[shot.transition])
            segment.add_transition(kind, duration=_us(shot.transition_frames, fps))
        script.add_segment(segment, video)
    for line in narration:
        audio = material(line.path, "audio")
        span = _span(line.start, line.frames, fps)
        heard = min(span.duration, audio.duration)
        script.add_segment(
            draft.AudioSegment(audio, draft.Timerange(span.start, heard), source_timerange=draft.Timerange(0, heard)),
            voice,
        )
    if music is not None:
        song = material(music, "audio")
        start, end = 0, _us(film_frames, fps)
        while start < end:  # looped, as under the film
            length = min(song.duration, end - start)
            segment = draft.AudioSegment(
                song,
                draft.Timerange(start, length),
                source_timerange=draft.Timerange(0, length),
                volume=MUSIC_VOLUME,
            )
            script.add_segment(segment, music_track)
            start += length
    style = draft.TextStyle(size=6.0, color=(1.0, 1.0, 1.0), align=1, auto_wrapping=True)
    border = draft.TextBorder(color=(0.0, 0.0, 0.0), width=30.0)
    for cue in cues:
        placed = draft.ClipSettings(transform_y=-0.8)
        segment = draft.TextSegment(
            cue.text, _span(cue.start, cue.frames, fps), style=style, border=border, clip_settings=placed
        )
        script.add_segment(segment, text)
    script.save()
    _write_meta(home, name, root, script)
    return home


def _home(root: str, name: str) -> PurePath:
    """The draft's folder on the machine that opens it, in that machine's path style."""
    windows = "\\" in root or (len(root) > 1 and root[1] == ":")
    return (PureWindowsPath(root) if windows else PurePosixPath(root)) / name


def _write_meta(home: Path, name: str, root: str, script: Any) -> None:
    """``draft_meta_info.json``: the draft's name, place and length, and its media registered as
    JianYing registers an import (without them, newer versions ask to relink every file)."""
    path = home / "draft_meta_info.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(
        draft_name=name,
        draft_id=str(uuid.uuid4()).upper(),
        draft_root_path=root,
        draft_fold_path=str(_home(root, name)) if root else "",
        tm_duration=script.duration,
    )
    imported = []
    for made in [*script.materials.videos, *script.materials.audios]:
        kind = getattr(made, "material_type", "music")
        imported.append(
            {
                "create_time": 0,
                "duration": made.duration,
                "extra_info": Path(made.path.replace("\\", "/")).name,
                "file_Path": made.path,
                "height": getattr(made, "height", 0),
                "id": made.material_id,
                "import_time": 0,
                "import_time_ms": 0,
                "item_source": 1,
                "md5": "",
                "metetype": kind,
                "roughcut_time_range": {"duration": -1, "start": -1},
                "sub_time_range": {"duration": -1, "start": -1},
                "type": 0,
                "width": getattr(made, "width", 0),
            }
        )
    for group in meta.get("draft_materials", []):
        if group.get("type") == 0:
            group["value"] = imported
    path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
