"""The kinds of work that make a shot's stages (``shots.stages``), each named after its stage:
``run`` calls an engine with plain values (slow, outside any transaction); ``apply`` attaches
the output inside the transaction that finishes the task.

Work is checked against the shot before and after it runs: a task made for an older version of
its stage (the shot was edited meanwhile), or for a shot that is gone, is superseded, and its
result is discarded, never attached.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings

from core.engines import image_prompt, image_tier, runtime
from core.storage import local_path, release_on_commit, store, work_dir
from inference import engines
from inference.errors import EngineError
from inference.image import KeyframeRequest
from inference.policy import ENGINES
from inference.registry import MotionJob, draft_spec
from inference.sentences import Sentence, said
from inference.styles import frame_size, framing_words
from inference.types import ImageResult
from shots import candidates, live, studio
from shots.history import version_record
from shots.models import Shot
from shots.services import speaking_voice
from shots.stages import IMAGE, MOTION, SPEECH, Stage
from tasks.models import Task
from tasks.queues import INFERENCE
from tasks.registry import Kind, Progress, SupersededError, register
from tasks.services import task_finish


def made_by(backend: str, model: str) -> str:
    return f"{backend}:{model}" if model else backend


def speech_spec(project: Any, speaker: Any = None) -> str:
    """The speaking character's voice, else the project's (the narrator's), else the configured
    one for its language."""
    default = settings.SPEECH_MODEL_ZH if project.language == "zh" else settings.SPEECH_MODEL_EN
    return speaking_voice(project, speaker) or default


@dataclass
class StageOutput:
    path: Path | None  # None: the stage produced no file (the camera move animates the shot)
    backend: str
    model: str
    extra: dict[str, Any]
    note: str = ""


class StageWork(Kind):
    """Work that makes one stage of one shot."""

    stage: ClassVar[Stage]
    queue = INFERENCE
    policy = ENGINES

    def current(self, task: Task) -> Shot:
        """Before spending time on it: the shot, still there, at the version asked for."""
        if task.shot_id is None:
            raise SupersededError
        shot = (
            Shot.objects.select_related("project", "speaker")
            .prefetch_related("characters")
            .filter(pk=task.shot_id)
            .first()
        )
        if shot is None or shot.result(self.stage).version != task.params.get("version"):
            raise SupersededError
        return shot

    def current_shots(self, tasks: list[Task]) -> list[Shot | None]:
        """Each task's shot if it is still at the task's version, else None (superseded)."""
        shots: list[Shot | None] = []
        for task in tasks:
            try:
                shots.append(self.current(task))
            except SupersededError:
                shots.append(None)
        return shots

    def run(self, task: Task, progress: Progress) -> StageOutput:
        [output] = self.run_batch([task], progress)
        if output is None:
            raise SupersededError
        if isinstance(output, EngineError):
            raise output
        return output

    def apply(self, task: Task, output: StageOutput) -> str:
        """Put the result on the shot, locked and still at the task's version, and keep it in the
        stage's history."""
        if task.shot_id is None:
            raise SupersededError
        shot = Shot.objects.select_for_update().select_related("project").get(pk=task.shot_id)
        result = shot.result(self.stage)
        if result.version != task.params.get("version"):
            raise SupersededError
        old = result.file_name
        name, digest = store(output.path, folder=self.stage.folder) if output.path else ("", "")
        result.set(file=name, digest=digest, source=made_by(output.backend, output.model))
        self.apply_extra(shot, output)
        shot.save()
        version_record(shot, self.stage)
        answer = {"backend": output.backend, "model": output.model, "file": name, "hash": digest, "note": output.note}
        message = said(Sentence("done_by", "Done (%(by)s).", by=made_by(output.backend, output.model)), output.note)
        if not task_finish(task=task, result=answer | output.extra, message=message):
            raise SupersededError
        live.publish_shot_on_commit(shot)
        if old and old != name:
            release_on_commit([old])
        if output.path:
            shutil.rmtree(output.path.parent, ignore_errors=True)
        return self.stage.name

    def apply_extra(self, shot: Shot, output: StageOutput) -> None:
        """The stage's own data beside its file (a narration's timing)."""


def _in_place(shots: list[Shot | None], outputs: list[Any]) -> list[Any]:
    """The outputs of the current shots, with None where a shot was superseded."""
    made = iter(outputs)
    return [None if shot is None else next(made) for shot in shots]


def keyframe_request(shot: Shot, path: Path) -> KeyframeRequest:
    """What the image model is asked for a shot: its prompt and seed, its characters with their
    looks and reference pictures, what it must not show, and its framing."""
    characters = list(shot.characters.all())
    return KeyframeRequest(
        prompt=shot.prompt,
        seed=shot.seed,
        path=path,
        characters=tuple((c.name, c.looks) for c in characters),
        negative_prompt=shot.negative_prompt,
        framing=framing_words(shot.shot_size, shot.camera_angle),
        references=tuple(local_path(c.reference_image) for c in characters if c.reference_image),
    )


def paint(
    project: Any, requests: list[KeyframeRequest], *, steps: int, guidance: float, progress: Progress
) -> tuple[list[ImageResult], int, int]:
    """Pictures of a project's shots in one call of its picture tier's model, at its frame size;
    with that size."""
    width, height = frame_size(project.aspect_ratio, project.resolution)
    results = engines.keyframes(
        image_tier(project.tier)[0],
        requests,
        width=width,
        height=height,
        style=project.style,
        runtime=runtime(),
        steps=steps,
        guidance=guidance,
        image_prompt=image_prompt(project.tier),
        progress=progress,
    )
    return results, width, height


@register
class ImageWork(StageWork):
    """A shot's keyframe; the keyframes of one project queued together are drawn in one call."""

    name = IMAGE.name
    standard_type = "shot"  # the standard contract's word
    stage = IMAGE

    def batch_size(self) -> int:
        return int(settings.IMAGE_BATCH_SIZE)

    def warm_up(self) -> str:
        return engines.warm("image", image_tier(settings.IMAGE_TIER)[0], runtime=runtime())

    def run_batch(self, tasks: list[Task], progress: Progress) -> list[StageOutput | None]:
        """Keyframes of several shots of one project in one engine call; each with its shot's
        seed (``shots.services.seed_follow_characters``)."""
        shots = self.current_shots(tasks)
        current = [(task, shot) for task, shot in zip(tasks, shots, strict=True) if shot is not None]
        if not current:
            return [None] * len(tasks)
        project = current[0][1].project
        requests = [keyframe_request(wanted, work_dir(str(task.id)) / "keyframe.png") for task, wanted in current]
        _, steps, guidance = image_tier(project.tier)
        results, width, height = paint(project, requests, steps=steps, guidance=guidance, progress=progress)
        extra = {"width": width, "height": height, "batch": len(requests)}
        return _in_place(
            shots,
            [
                StageOutput(Path(r.path), r.backend, r.model, extra | {"cutTokens": r.cut_tokens}, r.note)
                for r in results
            ],
        )


@dataclass
class Painted:
    """The pictures a task painted to choose from (a shot's candidates, the studio's), each
    (path, seed), and with what."""

    pictures: list[tuple[Path, int]]
    backend: str
    model: str
    note: str
    steps: int
    guidance: float
    width: int
    height: int

    @classmethod
    def of(
        cls,
        results: list[ImageResult],
        requests: list[KeyframeRequest],
        steps: int,
        guidance: float,
        width: int,
        height: int,
    ) -> Painted:
        first = results[0]
        pictures = [(Path(result.path), request.seed) for result, request in zip(results, requests, strict=True)]
        return cls(pictures, first.backend, first.model, first.note, steps, guidance, width, height)

    def stored(self, folder: str) -> list[dict[str, Any]]:
        """The pictures stored (``core.storage.store``: with their thumbnails), as their rows' fields."""
        made = []
        for path, seed in self.pictures:
            name, digest = store(path, folder=folder)
            made.append(
                {"file": name, "hash": digest, "seed": seed, "file_size": path.stat().st_size}
                | {"width": self.width, "height": self.height, "steps": self.steps, "guidance": self.guidance}
                | {"source": made_by(self.backend, self.model)}
            )
        return made

    def finish(self, task: Task, key: str, ids: list[Any]) -> None:
        """Finish the task with the rows' ids under ``key``, and drop the work folder."""
        answer = {
            key: [str(row_id) for row_id in ids],
            "batch": len(ids),  # painted in one engine call
            "backend": self.backend,
            "model": self.model,
        }
        message = said(Sentence("done_by", "Done (%(by)s).", by=made_by(self.backend, self.model)), self.note)
        if not task_finish(task=task, result=answer, message=message):
            raise SupersededError
        shutil.rmtree(self.pictures[0][0].parent, ignore_errors=True)


@register
class CandidatesWork(Kind):
    """Pictures of one shot to choose from, painted in one call of the tier's image model."""

    name = candidates.CANDIDATES
    queue = INFERENCE
    policy = ENGINES

    def run(self, task: Task, progress: Progress) -> Painted:
        shots = Shot.objects.select_related("project").prefetch_related("characters")
        shot = shots.filter(pk=task.shot_id).first() if task.shot_id else None
        if shot is None:
            raise SupersededError
        params = task.params
        folder = work_dir(str(task.id))
        asked = replace(keyframe_request(shot, folder / "candidate.png"), negative_prompt=params["negativePrompt"])
        requests = [
            replace(asked, seed=params["seed"] + n, path=folder / f"candidate-{n}.png") for n in range(params["count"])
        ]
        results, width, height = paint(
            shot.project, requests, steps=params["steps"], guidance=params["guidance"], progress=progress
        )
        return Painted.of(results, requests, params["steps"], params["guidance"], width, height)

    def apply(self, task: Task, output: Painted) -> str:
        shot = Shot.objects.filter(pk=task.shot_id).first() if task.shot_id else None
        if shot is None:
            raise SupersededError
        rows = candidates.candidates_made(
            shot=shot, negative_prompt=task.params["negativePrompt"], made=output.stored(IMAGE.folder)
        )
        output.finish(task, "candidates", [row.id for row in rows])
        return self.name

    def tidy(self) -> int:
        return candidates.candidates_release_stale()


@register
class GenerateWork(Kind):
    """Pictures from a prompt outside any film, for the person's gallery (the image studio)."""

    name = studio.STUDIO
    queue = INFERENCE
    policy = ENGINES

    def run(self, task: Task, progress: Progress) -> Painted:
        params = task.params
        folder = work_dir(str(task.id))
        requests = [
            KeyframeRequest(
                prompt=params["prompt"],
                seed=params["seed"] + n,
                path=folder / f"picture-{n}.png",
                negative_prompt=params["negativePrompt"],
            )
            for n in range(params["count"])
        ]
        look = studio.Look(**params["look"])
        results, width, height = paint(
            look, requests, steps=params["steps"], guidance=params["guidance"], progress=progress
        )
        return Painted.of(results, requests, params["steps"], params["guidance"], width, height)

    def apply(self, task: Task, output: Painted) -> str:
        rows = studio.pictures_made(task=task, made=output.stored(studio.GALLERY))
        output.finish(task, "pictures", [row.id for row in rows])
        return self.name


@register
class SpeechWork(StageWork):
    """A shot's narration; the lines of one project queued together are claimed as one batch of
    up to BATCH (a long story's), then spoken SPEECH_PARALLEL at a time."""

    name = SPEECH.name
    standard_type = "tts"  # the standard contract's word
    stage = SPEECH
    BATCH = 32

    def timeout_s(self) -> int:
        return int(settings.TASK_TIMEOUT_SPEECH_S)

    def batch_size(self) -> int:
        return self.BATCH

    def run_batch(self, tasks: list[Task], progress: Progress) -> list[StageOutput | EngineError | None]:
        """The narration of several shots of one project, spoken side by side; a line that
        cannot be spoken fails its own task only."""
        shots = self.current_shots(tasks)
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
                    {
                        "duration": result.duration,
                        "sentences": [list(s) for s in result.sentences],
                        "batch": len(lines),
                    },
                    result.note,
                )
                for result in results
            ],
        )

    def apply_extra(self, shot: Shot, output: StageOutput) -> None:
        shot.speech_duration = round(float(output.extra["duration"]), 3)
        shot.speech_sentences = output.extra.get("sentences", [])


@register
class MotionWork(StageWork):
    """A shot's clip, animated from its keyframe (or none: the camera move, at composition)."""

    name = MOTION.name
    stage = MOTION

    def run_batch(self, tasks: list[Task], progress: Progress) -> list[StageOutput]:
        return [self.animate(task, progress) for task in tasks]

    def animate(self, task: Task, progress: Progress) -> StageOutput:
        shot = self.current(task)
        if not shot.result(IMAGE).file:
            raise EngineError("The shot has no keyframe to animate yet; regenerate its image first.", permanent=True)
        width, height = settings.MOTION_SIZE
        job = MotionJob(
            local_path(shot.result(IMAGE).file),
            work_dir(str(task.id)) / "motion.mp4",
            shot.seed,
            frames=settings.MOTION_FRAMES,
            steps=settings.MOTION_STEPS,
            prompt=shot.motion_text,
            seconds=min(shot.expected_duration, settings.MOTION_MAX_S),
            fps=settings.MOTION_FPS,
            area=width * height,
            longest=settings.MOTION_CLIP_FRAMES,
        )
        clip, note = engines.motion(settings.MOTION_MODEL, job, runtime=runtime(), progress=progress)
        if clip is None:
            return StageOutput(None, str(draft_spec("motion")), "", {}, note)  # the camera move, at composition
        made = {"frames": clip.frames, "fps": clip.fps, "seconds": job.seconds}
        return StageOutput(Path(clip.path), clip.backend, clip.model, made, note)
