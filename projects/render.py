"""The film's render: every shot composed into the MP4 with its subtitles, poster, editable
timeline and one joined segment per shot, and the render attached to the project in place of
the last good one.

Each shot's joined segment is named by its cache key (a hash of everything that shaped it), so
a shot that did not change is neither joined nor stored again; the project's latest render holds
its segments by rows (``RenderSegment``), which let them go when a later render no longer names
them or the project is deleted (a segment still named by another project, a copy, stays).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from core.storage import local_path, release_on_commit, store, store_named, work_dir
from inference.compose import FPS, FilmResult, ShotInput, compose_film, join_segment
from inference.errors import EngineError
from inference.render_cache import prune
from inference.sentences import Sentence, said
from inference.styles import frame_size
from inference.timeline import TimelineShot, build_timeline, write_timeline
from inference.usage import record
from projects.models import Project, RenderSegment
from projects.selectors import film_id, film_of
from shots.history import versions_prune
from shots.models import Shot
from shots.stages import IMAGE, MOTION, SPEECH
from tasks.models import Task
from tasks.registry import Progress, SupersededError
from tasks.services import task_finish

SEGMENTS = "renders/segments"


@dataclass
class Segment:
    name: str  # its stored name, from its cache key
    path: Path | None  # joined here, where it was not stored yet


@dataclass
class ComposeOutput:
    film: FilmResult
    segments: list[Segment]  # one per shot, for the timeline and the bundle
    timeline: Path


def _speaker_label(project: Project, shot: Shot) -> str:
    """“Ada: ” before a character's lines where the project's subtitles name speakers."""
    if not (project.subtitle_speakers and shot.speaker):
        return ""
    return f"{shot.speaker.name}：" if project.language == "zh" else f"{shot.speaker.name}: "


def _shot_input(project: Project, shot: Shot) -> ShotInput:
    image, motion, speech = shot.result(IMAGE), shot.result(MOTION), shot.result(SPEECH)
    if not image.file:
        raise EngineError(
            f"Shot {shot.order + 1} has no keyframe yet; regenerate its image, then render again.", permanent=True
        )
    speaks = bool(speech.file and shot.narration.strip())
    label = _speaker_label(project, shot) if speaks else ""
    return ShotInput(
        image=local_path(image.file),
        duration=shot.duration,
        camera=shot.camera,
        transition=shot.transition,
        narration=label + shot.narration if speaks else "",
        audio=local_path(speech.file) if speaks else None,
        audio_duration=shot.speech_duration or 0.0,
        motion=local_path(motion.file) if motion.file and project.animate else None,
        sentences=[
            (float(a), float(b), (label if i == 0 else "") + str(t))
            for i, (a, b, t) in enumerate(shot.speech_sentences)
        ]
        if speaks
        else [],
        second=shot.original_narration if speaks and project.bilingual_subtitles else "",
    )


def compose_run(task: Task, progress: Progress) -> ComposeOutput:
    project = film_of(task)
    shots = list(project.shots.select_related("speaker").order_by("order"))
    if not shots:
        raise EngineError("The project has no shots to compose.", permanent=True)
    inputs = [_shot_input(project, shot) for shot in shots]
    width, height = frame_size(project.aspect_ratio, project.resolution)
    folder = work_dir(str(task.id))
    cache = settings.VAR_DIR / "cache" / "segments"
    film = compose_film(
        inputs,
        width=width,
        height=height,
        cache_dir=cache,
        out_dir=folder,
        burn_subtitles=project.burn_subtitles,
        music=local_path(project.music) if project.music else None,
        music_volume_db=project.music_volume_db,
        loudness=settings.AUDIO_TARGET_LUFS,
        silence_seconds=settings.FILM_CHECK_SILENCE_S,
        progress=progress,
    )
    record(device="cpu", videoSeconds=film.duration)
    # What this render used was marked as used; a render under way elsewhere uses nothing older
    # than its attempt's time limit.
    prune(cache, max_bytes=settings.RENDER_CACHE_MAX_BYTES, keep_s=2.0 * settings.TASK_TIMEOUT_S, every_s=60.0)
    segments = []
    for segment in film.segments:
        name = f"{SEGMENTS}/{segment.name}.mp4"
        path = None
        if not default_storage.exists(name):
            path = folder / f"{segment.name}.mp4"
            join_segment(segment, path)
        segments.append(Segment(name, path))
    timeline = build_timeline(
        project.title,
        [
            TimelineShot(
                name=f"Shot {i + 1}",
                segment=f"segments/shot-{i + 1:02d}.mp4",
                audio=f"audio/shot-{i + 1:02d}.wav" if s.audio else None,
                audio_seconds=s.audio_duration,
                transition=s.transition,
            )
            for i, s in enumerate(inputs)
        ],
        film.placements,
        music="music/" + Path(project.music.name).name if project.music else None,
        film_frames=film.frames,
    )
    paths = write_timeline(timeline, folder, "timeline")
    return ComposeOutput(film=film, segments=segments, timeline=paths["otio"])


def compose_apply(task: Task, output: ComposeOutput) -> str:
    """The render in place of the last good one (its files released where nothing else names
    them), with its segments held; then the shots' histories beyond their limit, held back while
    this render might read them, are pruned."""
    film = output.film
    project = Project.objects.select_for_update().get(pk=film_id(task))
    shot_ids = list(project.shots.order_by("order").values_list("id", flat=True))
    if len(shot_ids) != len(output.segments):
        raise SupersededError  # shots were added or removed meanwhile: a newer render is queued
    old = [project.render_video, project.render_srt, project.render_vtt, project.render_poster, project.render_timeline]
    project.render_video = store(film.video, folder="renders")[0]
    project.render_srt = store(film.srt, folder="renders")[0]
    project.render_vtt = store(film.vtt, folder="renders")[0]
    project.render_poster = store(film.poster, folder="renders")[0]
    project.render_timeline = store(output.timeline, folder="renders")[0]
    project.render_hash = film.digest
    project.render_duration = round(film.duration, 3)
    project.rendered_at = timezone.now()
    project.render_manifest = {
        "frames": film.frames,
        "fps": FPS,
        "segments": [
            {
                "shotId": str(shot_id),
                "file": segment.name,
                "head": place.head,
                "core": place.core,
                "tail": place.tail,
                "start": place.start,
            }
            for shot_id, segment, place in zip(shot_ids, output.segments, film.placements, strict=True)
        ],
        "cues": [{"start": c.start, "end": c.end, "text": c.text} for c in film.cues],
        "check": film_check(film, shot_ids),
    }
    project.save()
    for segment in output.segments:
        if segment.path is not None:
            store_named(segment.path, segment.name)
    segments_hold(project=project, names=[segment.name for segment in output.segments])
    result = {
        "backend": "ffmpeg",
        "model": "",
        "duration": film.duration,
        "encodedSegments": film.encoded_segments,
        "encodedTransitions": film.encoded_transitions,
        "encodedSoundPieces": film.encoded_sound,
        "video": project.render_video.name,
        "check": {key: project.render_manifest["check"][key] for key in ("errorCount", "warningCount", "loudness")},
    }
    message = said(
        Sentence("film_made", "Film ready: %(seconds)s s.", seconds=f"{film.duration:.1f}"),
        check_summary(project.render_manifest["check"]),
    )
    if not task_finish(task=task, result=result, message=message):
        raise SupersededError
    release_on_commit(f.name for f in old if f)
    versions_prune(shots=project.shots.all())  # held back while this render might read them
    return "compose"


def film_check(film: FilmResult, shot_ids: list[Any]) -> dict[str, Any]:
    """The film check as the render keeps it: each finding with the id of the shot it names."""
    check = film.check.as_dict()
    for finding in check["findings"]:
        if "shot" in finding:
            finding["shotId"] = str(shot_ids[finding["shot"] - 1])
    check["checkedAt"] = timezone.now().isoformat()
    return check


def check_summary(check: dict[str, Any]) -> Sentence:
    """One line: what the film check found."""
    loudness = check.get("loudness", {}).get("integrated")
    level = {"lufs": f"{loudness:.1f}"} if loudness is not None else {}
    found = {"errors": check.get("errorCount", 0), "warnings": check.get("warningCount", 0)}
    if not check.get("findings"):
        if level:
            return Sentence("checked_clean_at", "Checked at %(lufs)s LUFS: nothing to fix.", **level)
        return Sentence("checked_clean", "Checked: nothing to fix.")
    if level:
        return Sentence(
            "checked_at",
            "Checked at %(lufs)s LUFS: %(errors)s error(s), %(warnings)s warning(s): see the film check.",
            **level,
            **found,
        )
    return Sentence("checked", "Checked: %(errors)s error(s), %(warnings)s warning(s): see the film check.", **found)


def segments_hold(*, project: Project, names: list[str]) -> None:
    """The project's render now names exactly these segments: the rows of the others go, and
    their files with them once committed, where nothing else names them."""
    held = set(project.render_segments.values_list("file", flat=True))
    gone = held - set(names)
    project.render_segments.filter(file__in=gone).delete()
    RenderSegment.objects.bulk_create(
        [RenderSegment(project=project, file=name) for name in dict.fromkeys(names) if name not in held]
    )
    release_on_commit(gone)
