"""The film's render: every shot composed into the MP4 with its subtitles, poster and editable
timeline, and the render attached to the project in place of the last good one; then, as a task
of its own (``clips``), one clip per shot for an editor (its core and its transition handles).

Each shot's clip is named by its segment's cache key (a hash of everything that shaped it), so a
shot that did not change is neither made nor stored again; the project's latest render holds its
clips by rows (``RenderSegment``), which let them go when a later render no longer names them or
the project is deleted (a clip still named by another project, a copy, stays). The film does not
wait for the clips: only the exports that hand them to an editor do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from core.errors import ApplicationError
from core.storage import local_path, release_on_commit, store, store_named, work_dir
from inference.compose import (
    FPS,
    FilmResult,
    ShotInput,
    compose_film,
    editor_clip,
    plan,
    render_segment,
    segment_folders,
)
from inference.errors import EngineError
from inference.render_cache import hit, prune
from inference.sentences import Sentence, said
from inference.styles import frame_size
from inference.timeline import TimelineShot, build_timeline, write_timeline
from inference.usage import record
from projects.match import match_after_render
from projects.models import Project, RenderSegment
from projects.selectors import clips_stored, film_id, film_of
from shots.history import versions_prune
from shots.models import Shot
from shots.stages import IMAGE, MOTION, SPEECH
from tasks.models import Task
from tasks.registry import Progress, SupersededError
from tasks.services import task_create, task_finish

SEGMENTS = "renders/segments"
CLIPS = "clips"  # the kind of task that makes a render's clips for an editor


@dataclass
class ComposeOutput:
    film: FilmResult
    segments: list[str]  # each shot's clip's stored name, for the timeline and the bundle
    timeline: Path


@dataclass
class FilmInputs:
    shots: list[ShotInput]
    width: int
    height: int
    cache: Path  # the render cache


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


def film_inputs(project: Project) -> FilmInputs:
    shots = list(project.shots.select_related("speaker").order_by("order"))
    if not shots:
        raise EngineError("The project has no shots to compose.", permanent=True)
    width, height = frame_size(project.aspect_ratio, project.resolution)
    inputs = [_shot_input(project, shot) for shot in shots]
    return FilmInputs(inputs, width, height, settings.VAR_DIR / "cache" / "segments")


def compose_run(task: Task, progress: Progress) -> ComposeOutput:
    project = film_of(task)
    made = film_inputs(project)
    inputs, width, height, cache = made.shots, made.width, made.height, made.cache
    folder = work_dir(str(task.id))
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
    segments = [f"{SEGMENTS}/{segment.name}.mp4" for segment in film.segments]
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
                "file": segment,
                "head": place.head,
                "core": place.core,
                "tail": place.tail,
                "start": place.start,
            }
            for shot_id, segment, place in zip(shot_ids, output.segments, film.placements, strict=True)
        ],
        "cues": [{"start": c.start, "end": c.end, "text": c.text} for c in film.cues],
        "check": film_check(film, shot_ids),
        "clipsReady": all(default_storage.exists(name) for name in output.segments),  # shots unchanged since
    }
    project.save()
    segments_hold(project=project, names=output.segments)
    if not clips_stored(project):
        task_create(kind=CLIPS, project=project, params={"render": film.digest})
    match_after_render(project=project)
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


@dataclass
class ClipsOutput:
    clips: list[tuple[str, Path]]  # each clip's stored name, and the file made here
    stale: int  # clips of the render the project's shots no longer make (edited since)


def clips_run(task: Task, progress: Progress) -> ClipsOutput:
    """The clips of the project's latest render that are not stored yet: each shot's core from
    the render cache (rendered again where the cache no longer holds it) and its transition
    handles, joined by stream copy."""
    project = film_of(task)
    if project.render_hash != task.params.get("render"):
        raise SupersededError  # a later render makes its own
    missing = {
        item["file"]
        for item in (project.render_manifest or {}).get("segments", [])
        if not default_storage.exists(item["file"])
    }
    made = film_inputs(project)
    placements = plan(made.shots, width=made.width, height=made.height)
    folders = segment_folders(
        made.shots, placements, width=made.width, height=made.height, cache_dir=made.cache, burn=project.burn_subtitles
    )
    last = len(made.shots) - 1
    todo = [i for i, folder in enumerate(folders) if f"{SEGMENTS}/{folder.name}.mp4" in missing]
    out = work_dir(str(task.id))
    clips = []
    for done, i in enumerate(todo, 1):
        shot, place, segment = made.shots[i], placements[i], folders[i]
        if not (hit(segment) and (segment / "core.mp4").exists()):  # pruned, or rendered on another machine
            segment.parent.mkdir(parents=True, exist_ok=True)
            render_segment(
                shot,
                place,
                last=i == last,
                width=made.width,
                height=made.height,
                burn=project.burn_subtitles,
                folder=segment,
            )
        path = out / f"{segment.name}.mp4"
        editor_clip(shot, place, width=made.width, height=made.height, folder=segment, path=path)
        clips.append((f"{SEGMENTS}/{segment.name}.mp4", path))
        progress(done / len(todo), Sentence("clip_made", "Clip %(done)s of %(count)s made", done=done, count=len(todo)))
    return ClipsOutput(clips, stale=len(missing) - len(todo))


def clips_apply(task: Task, output: ClipsOutput) -> str:
    """The clips stored under the names the render gave them, where the project still holds them."""
    project = Project.objects.select_for_update().get(pk=film_id(task))
    held = set(project.render_segments.values_list("file", flat=True))
    for name, path in output.clips:
        if name in held and not default_storage.exists(name):
            store_named(path, name)
    if project.render_hash == task.params.get("render") and not output.stale:
        project.render_manifest["clipsReady"] = True
        project.save(update_fields=["render_manifest"])
    message = Sentence("clips_made", "%(count)s clip(s) for an editor made.", count=len(output.clips))
    if output.stale:
        message = Sentence(
            "clips_stale",
            "%(count)s clip(s) for an editor made; %(stale)s shot(s) changed since the render: render again.",
            count=len(output.clips),
            stale=output.stale,
        )
    if not task_finish(task=task, result={"clips": len(output.clips), "stale": output.stale}, message=message):
        raise SupersededError
    return "clips"


def clips_ready(project: Project) -> None:
    """For the exports that hand an editor the render's clips: each one is stored, or the
    person is told to export again in a moment (a task to make them is queued, if none is)."""
    if clips_stored(project):
        return
    made = project.tasks.filter(kind=CLIPS, params__render=project.render_hash).order_by("-created_at").first()
    if made is not None and made.status == Task.Status.FINISHED and (made.result or {}).get("stale"):
        raise ApplicationError(
            "Shots changed since this render, so their clips for an editor cannot be made: render again, then export.",
            code="conflict",
        )
    if made is None or made.status not in Task.UNFINISHED:
        task_create(kind=CLIPS, project=project, params={"render": project.render_hash})
    raise ApplicationError(
        "The film's clips for an editor are still being made: export again in a moment.", code="conflict"
    )


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
