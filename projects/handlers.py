"""What each kind of the film's tasks does, registered into the task engine: ``run`` calls an
engine with plain values (slow, outside any transaction); ``apply`` attaches the output inside
the transaction that finishes the task.

``apply`` re-reads the rows it changes under a lock and checks that the output is still
wanted (the shot's stage version is the one the task was made for); a superseded output is
discarded, never attached.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from inference import engines
from inference.compose import FPS, FilmResult, ShotInput, compose_film, join_segment
from inference.errors import EngineError
from inference.image import KeyframeRequest
from inference.registry import draft_spec
from inference.styles import frame_size
from inference.timeline import TimelineShot, build_timeline, write_timeline
from inference.types import Progress, Storyboard
from inference.usage import record
from projects.conversation import refine_apply, refine_run
from projects.models import Character, Project
from projects.pipeline import project_status_refresh, shots_generate_all
from projects.stories import story_apply, story_run
from projects.storyboards import shot_from_plan
from projects.translation import translate_apply, translate_run
from projects.webhooks import webhook_apply, webhook_run
from shots import live
from shots.history import shot_file_names, version_record, versions_prune
from shots.models import Shot
from shots.services import new_seed, speaking_voice
from storyvideo.engines import runtime
from storyvideo.storage import local_path, release_on_commit, store, work_dir
from tasks.models import Task
from tasks.registry import Handler, SupersededError, on_tasks_settled, register
from tasks.services import task_finish, tasks_cancel


def speech_spec(project: Project, speaker: Character | None = None) -> str:
    """The speaking character's voice, else the project's (the narrator's), else the configured
    one for its language."""
    default = settings.SPEECH_MODEL_ZH if project.language == "zh" else settings.SPEECH_MODEL_EN
    return speaking_voice(project, speaker) or default


def _made_by(backend: str, model: str) -> str:
    return f"{backend}:{model}" if model else backend


# --- storyboard ---------------------------------------------------------------------------
def storyboard_run(task: Task, progress: Progress) -> Storyboard:
    project = task.project
    return engines.storyboard(
        settings.STORYBOARD_MODEL,
        project.story,
        shot_count=project.shot_count,
        language=project.language,
        style=project.style,
        title=project.title,
        runtime=runtime(),
        api_key=settings.OPENAI_API_KEY,
        constrained=settings.STORYBOARD_CONSTRAINED,
        progress=progress,
    )


def storyboard_apply(task: Task, board: Storyboard) -> str:
    """Replace the project's shots and characters with the storyboard's, then queue media."""
    project = Project.objects.select_for_update().get(pk=task.project_id)
    tasks_cancel(
        tasks=project.tasks.filter(status__in=Task.UNFINISHED).exclude(id=task.id),
        reason="Replaced by a new storyboard.",
    )
    release_on_commit(shot_file_names(project.shots.all()))
    project.shots.all().delete()
    project.characters.all().delete()
    characters = {
        plan.name: Character.objects.create(
            project=project, name=plan.name, description=plan.description, seed=new_seed()
        )
        for plan in board.characters
    }
    for order, plan in enumerate(board.shots):
        shot_from_plan(project=project, order=order, plan=plan, characters=characters)
    result = {"backend": board.backend, "model": board.model, "shots": len(board.shots), "notes": board.notes}
    message = f"{len(board.shots)} shots ({_made_by(board.backend, board.model)})"
    message += "".join(f"; {note}" for note in board.notes)
    if board.title and not project.title:
        project.title = board.title[:200]
        project.save(update_fields=["title"])
    if not task_finish(task=task, result=result, message=message):
        raise SupersededError
    live.publish_storyboard_on_commit(project.id)
    shots_generate_all(project=project)
    return "storyboard"


# --- shot stages ---------------------------------------------------------------------------
def _shot_for(task: Task) -> Shot:
    """The task's shot, locked, if the task is still for its current version."""
    if task.shot_id is None:
        raise SupersededError
    shot = Shot.objects.select_for_update().select_related("project").get(pk=task.shot_id)
    if getattr(shot, f"{task.kind}_version") != task.params.get("version"):
        raise SupersededError
    return shot


def _check_current(task: Task) -> Shot:
    """Before spending time on it: is the shot still there, at the version asked for?"""
    if task.shot_id is None:
        raise SupersededError
    shot = (
        Shot.objects.select_related("project", "speaker").prefetch_related("characters").filter(pk=task.shot_id).first()
    )
    if shot is None or getattr(shot, f"{task.kind}_version") != task.params.get("version"):
        raise SupersededError
    return shot


@dataclass
class StageOutput:
    path: Path | None  # None: the stage produced no file (the camera move animates the shot)
    backend: str
    model: str
    extra: dict[str, Any]
    note: str = ""


def _current_shots(tasks: list[Task]) -> list[Shot | None]:
    """Each task's shot if it is still at the task's version, else None (superseded)."""
    shots: list[Shot | None] = []
    for task in tasks:
        try:
            shots.append(_check_current(task))
        except SupersededError:
            shots.append(None)
    return shots


def _in_place(shots: list[Shot | None], outputs: list[Any]) -> list[Any]:
    """The outputs of the current shots, with None where a shot was superseded."""
    made = iter(outputs)
    return [None if shot is None else next(made) for shot in shots]


def _one(
    batch: Callable[[list[Task], Progress], Sequence[StageOutput | EngineError | None]], task: Task, progress: Progress
) -> StageOutput:
    [output] = batch([task], progress)
    if output is None:
        raise SupersededError
    if isinstance(output, EngineError):
        raise output
    return output


def image_batch(tasks: list[Task], progress: Progress) -> list[StageOutput | None]:
    """Keyframes of several shots of one project in one engine call; each keeps its own seed
    (its first character's, so a character looks alike from shot to shot, else the shot's)."""
    shots = _current_shots(tasks)
    current = [(task, shot) for task, shot in zip(tasks, shots, strict=True) if shot is not None]
    if not current:
        return [None] * len(tasks)
    project = current[0][1].project
    width, height = frame_size(project.aspect_ratio, project.resolution)
    requests = []
    for task, wanted in current:
        characters = list(wanted.characters.all())
        requests.append(
            KeyframeRequest(
                prompt=wanted.prompt,
                seed=characters[0].seed if characters else wanted.seed,
                path=work_dir(str(task.id)) / "keyframe.png",
                characters=tuple((c.name, c.description) for c in characters),
                negative_prompt=wanted.negative_prompt,
            )
        )
    results = engines.keyframes(
        settings.IMAGE_MODEL,
        requests,
        width=width,
        height=height,
        style=project.style,
        runtime=runtime(),
        steps=settings.IMAGE_STEPS,
        guidance=settings.IMAGE_GUIDANCE,
        progress=progress,
    )
    extra = {"width": width, "height": height, "batch": len(requests)}
    return _in_place(shots, [StageOutput(Path(r.path), r.backend, r.model, extra, r.note) for r in results])


def image_run(task: Task, progress: Progress) -> StageOutput:
    return _one(image_batch, task, progress)


# The narration lines of one project queued together are claimed as one batch of up to this
# many (a long story's), then spoken SPEECH_PARALLEL at a time.
SPEECH_BATCH_SIZE = 32


def speech_batch(tasks: list[Task], progress: Progress) -> list[StageOutput | EngineError | None]:
    """The narration of several shots of one project, spoken side by side (SPEECH_PARALLEL);
    a line that cannot be spoken fails its own task only."""
    shots = _current_shots(tasks)
    lines = [
        engines.SpeechLine(
            speech_spec(shot.project, shot.speaker),
            shot.narration,
            shot.project.language,
            work_dir(str(task.id)) / "speech.wav",
            shot.seed,
        )
        for task, shot in zip(tasks, shots, strict=True)
        if shot is not None
    ]
    results = engines.speech_lines(lines, runtime=runtime(), workers=settings.SPEECH_PARALLEL, progress=progress)
    return _in_place(
        shots,
        [
            result
            if isinstance(result, EngineError)
            else StageOutput(
                Path(result.path),
                result.backend,
                result.model,
                {"duration": result.duration, "sentences": [list(s) for s in result.sentences], "batch": len(lines)},
                result.note,
            )
            for result in results
        ],
    )


def speech_run(task: Task, progress: Progress) -> StageOutput:
    return _one(speech_batch, task, progress)


def motion_run(task: Task, progress: Progress) -> StageOutput:
    shot = _check_current(task)
    if not shot.image_file:
        raise EngineError("The shot has no keyframe to animate yet; regenerate its image first.", permanent=True)
    clip, note = engines.motion(
        settings.MOTION_MODEL,
        local_path(shot.image_file),
        path=work_dir(str(task.id)) / "motion.mp4",
        seed=shot.seed,
        runtime=runtime(),
        frames=settings.MOTION_FRAMES,
        steps=settings.MOTION_STEPS,
        progress=progress,
    )
    if clip is None:
        return StageOutput(None, str(draft_spec("motion")), "", {}, note)  # the camera move, at composition
    return StageOutput(Path(clip.path), clip.backend, clip.model, {"frames": clip.frames, "fps": clip.fps}, note)


def stage_apply(task: Task, output: StageOutput) -> str:
    shot = _shot_for(task)
    stage = task.kind
    old = getattr(shot, f"{stage}_file")
    name, digest = store(output.path, folder=f"shots/{stage}") if output.path else ("", "")
    setattr(shot, f"{stage}_file", name)
    setattr(shot, f"{stage}_hash", digest)
    setattr(shot, f"{stage}_source", _made_by(output.backend, output.model))
    if stage == "speech":
        shot.speech_duration = round(float(output.extra["duration"]), 3)
        shot.speech_sentences = output.extra.get("sentences", [])
    shot.save()
    version_record(shot, stage)
    result = {
        "backend": output.backend,
        "model": output.model,
        "file": name,
        "hash": digest,
        "note": output.note,
        **output.extra,
    }
    message = f"Done ({_made_by(output.backend, output.model)})." + (f" {output.note}" if output.note else "")
    if not task_finish(task=task, result=result, message=message):
        raise SupersededError
    live.publish_shot_on_commit(shot)
    if old and old.name != name:
        release_on_commit([old.name])
    if output.path:
        shutil.rmtree(output.path.parent, ignore_errors=True)
    return stage


# --- compose -------------------------------------------------------------------------------
@dataclass
class ComposeOutput:
    film: FilmResult
    segments: list[str]  # one stored file per shot, for the timeline and the bundle
    timeline: Path


def _speaker_label(project: Project, shot: Shot) -> str:
    """“Ada: ” before a character's lines where the project's subtitles name speakers."""
    if not (project.subtitle_speakers and shot.speaker):
        return ""
    return f"{shot.speaker.name}：" if project.language == "zh" else f"{shot.speaker.name}: "


def compose_run(task: Task, progress: Progress) -> ComposeOutput:
    project = task.project
    shots = list(project.shots.select_related("speaker").order_by("order"))
    if not shots:
        raise EngineError("The project has no shots to compose.", permanent=True)
    inputs = []
    for shot in shots:
        if not shot.image_file:
            raise EngineError(
                f"Shot {shot.order + 1} has no keyframe yet; regenerate its image, then render again.", permanent=True
            )
        speaks = bool(shot.speech_file and shot.narration.strip())
        label = _speaker_label(project, shot) if speaks else ""
        inputs.append(
            ShotInput(
                image=local_path(shot.image_file),
                duration=shot.duration,
                camera=shot.camera,
                transition=shot.transition,
                narration=label + shot.narration if speaks else "",
                audio=local_path(shot.speech_file) if speaks else None,
                audio_duration=shot.speech_duration or 0.0,
                motion=local_path(shot.motion_file) if shot.motion_file and project.animate else None,
                sentences=[
                    (float(a), float(b), (label if i == 0 else "") + str(t))
                    for i, (a, b, t) in enumerate(shot.speech_sentences)
                ]
                if speaks
                else [],
                second=shot.original_narration if speaks and project.bilingual_subtitles else "",
            )
        )
    width, height = frame_size(project.aspect_ratio, project.resolution)
    folder = work_dir(str(task.id))
    film = compose_film(
        inputs,
        width=width,
        height=height,
        cache_dir=settings.VAR_DIR / "cache" / "segments",
        out_dir=folder,
        burn_subtitles=project.burn_subtitles,
        music=local_path(project.music) if project.music else None,
        music_volume_db=project.music_volume_db,
        progress=progress,
    )
    record(device="cpu", videoSeconds=film.duration)
    segments = []
    for segment in film.segments:
        # Named by the segment's cache key (a hash of everything that shaped it): a shot that
        # did not change is neither joined nor uploaded again.
        name = f"renders/segments/{segment.name}.mp4"
        if not default_storage.exists(name):
            path = folder / f"{segment.name}.mp4"
            join_segment(segment, path)
            with open(path, "rb") as handle:
                name = default_storage.save(name, File(handle))
        segments.append(name)
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
    film = output.film
    project = Project.objects.select_for_update().get(pk=task.project_id)
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
                "file": name,
                "head": place.head,
                "core": place.core,
                "tail": place.tail,
                "start": place.start,
            }
            for shot_id, name, place in zip(shot_ids, output.segments, film.placements, strict=True)
        ],
        "cues": [{"start": c.start, "end": c.end, "text": c.text} for c in film.cues],
    }
    project.save()
    result = {
        "backend": "ffmpeg",
        "model": "",
        "duration": film.duration,
        "encodedSegments": film.encoded_segments,
        "encodedTransitions": film.encoded_transitions,
        "video": project.render_video.name,
    }
    if not task_finish(task=task, result=result, message=f"Film ready: {film.duration:.1f} s."):
        raise SupersededError
    release_on_commit(f.name for f in old if f)
    versions_prune(shots=project.shots.all())  # held back while this render might read them
    return "compose"


def register_handlers() -> None:
    """Register what each kind of the film's tasks does, and the project status refresh that
    follows every job, into the task engine (at start-up: ProjectsConfig.ready)."""
    for kind, handler in (
        (Task.Kind.STORYBOARD, Handler(storyboard_run, storyboard_apply)),
        (Task.Kind.IMAGE, Handler(image_run, stage_apply, image_batch, lambda: settings.IMAGE_BATCH_SIZE)),
        (Task.Kind.SPEECH, Handler(speech_run, stage_apply, speech_batch, lambda: SPEECH_BATCH_SIZE)),
        (Task.Kind.MOTION, Handler(motion_run, stage_apply)),
        (Task.Kind.COMPOSE, Handler(compose_run, compose_apply)),
        (Task.Kind.WEBHOOK, Handler(webhook_run, webhook_apply)),
        (Task.Kind.REFINE, Handler(refine_run, refine_apply)),
        (Task.Kind.TRANSLATE, Handler(translate_run, translate_apply)),
        (Task.Kind.STORY, Handler(story_run, story_apply)),
    ):
        register(kind, handler)
    on_tasks_settled(lambda project_id: project_status_refresh(project_id=project_id))
