"""The back ends: one small class each, keyed by (stage, name), and the spec strings that name them.

A spec is ``backend`` or ``backend:model`` — ``transformers:Qwen/Qwen2.5-0.5B-Instruct``,
``openai:http://127.0.0.1:11434/v1#qwen2.5``, ``diffusers:stabilityai/sd-turbo``, ``kenburns``,
``piper:en_US-joe-medium``, ``espeak:cmn-latn-pinyin``, ``transformers:facebook/mms-tts-eng``,
``draft``. A back end says what it does (``run``), whether it can run here and why not
(``check``: imports nothing heavy), where its weights are on disk, and how to fetch them. This is
the one place that knows back ends by name; everything else asks a ``Backend``.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from inference.errors import EngineError
from inference.image import ImagePrompt, KeyframeRequest, diffusers_keyframes, draft_card, text2image_pipeline
from inference.likeness import Likeness, clip_likeness, hash_likeness
from inference.models import Runtime, hub_offline, hub_unreachable, local_folder
from inference.motion import MotionResult, ltx_clip, svd_clip
from inference.refine import Job, openai_instruct, transformers_instruct
from inference.sentences import Sentence
from inference.speech import espeak, piper, piper_voice_files, vits
from inference.storyboard import LocalChat, draft_storyboard, openai_storyboard, transformers_storyboard
from inference.types import ImageResult, Progress, Resume, SpeechResult, Storyboard

STAGES = ("storyboard", "image", "motion", "speech", "likeness")


# --- what each stage is asked to do ---------------------------------------------------------------
@dataclass
class StoryboardJob:
    story: str
    shot_count: int
    language: str
    style: str
    title: str = ""
    api_key: str = ""
    constrained: bool = True
    resume: Resume | None = None  # a local model's answer, kept as it is written


@dataclass
class ImageJob:
    requests: list[KeyframeRequest]
    width: int
    height: int
    style: str
    steps: int = 1
    guidance: float = 0.0
    image_prompt: ImagePrompt | None = None  # an IP-Adapter for the requests' reference pictures


@dataclass
class SpeechJob:
    text: str
    language: str
    path: Path
    seed: int = 0


@dataclass
class LikenessJob:
    pictures: list[Path]  # a character's pictures
    reference: Path | None = None  # its reference picture, if it has one


@dataclass
class MotionJob:
    image: Path
    path: Path
    seed: int
    frames: int = 14  # Stable Video Diffusion's clip; LTX-Video's follows ``seconds``
    steps: int = 0  # 0: the model's own
    prompt: str = ""  # what moves, in words (LTX-Video)
    seconds: float = 5.0  # how long the shot lasts (LTX-Video)
    fps: int = 24
    area: int = 768 * 512  # pixels of a frame, in the keyframe's aspect ratio (LTX-Video)
    longest: int = 121  # frames of one piece; longer clips are extended from their last frames


# --- back ends ------------------------------------------------------------------------------------
class Backend:
    """One back end of one stage. ``run`` takes the stage's job; the rest says what it needs."""

    stage: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    packages: ClassVar[tuple[str, ...]] = ()  # Python packages it imports when it runs
    program: ClassVar[str] = ""  # a program it runs
    needs_model: ClassVar[bool] = False  # the spec must name a model (backend:MODEL)
    has_weights: ClassVar[bool] = False  # that model is weights to have on disk
    # Calls may run side by side in threads, one per core (a program, onnxruntime)
    side_by_side: ClassVar[bool] = False

    def check(self) -> str | None:
        """None when it can run here, else why not. Imports nothing."""
        missing = [name for name in self.packages if importlib.util.find_spec(name) is None]
        if missing:
            return f"the Python package {missing[0]!r} is not installed"
        if self.program and not shutil.which(self.program):
            return f"the program {self.program!r} is not installed (apt-get install {self.program})"
        return None

    def parse_model(self, text: str, model: str) -> str:
        """The model part of a spec, checked; a ValueError saying how to write it."""
        if self.needs_model and not model:
            raise ValueError(f"{text!r} names no model; write it as {self.name}:MODEL")
        return model

    def weights_on_disk(self, model: str, models_dir: Path) -> Path | None:
        """Where the model's weights are on disk, if they are. Never downloads."""
        return local_folder(model, models_dir)

    def fetch(self, model: str, models_dir: Path) -> Path:
        """Download the model's weights (from the Hugging Face hub) and say where they are."""
        from huggingface_hub import snapshot_download

        patterns = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken"]
        return Path(snapshot_download(model, allow_patterns=patterns))

    def warm(self, model: str, runtime: Runtime) -> bool:
        """Load ``model`` into this process's cache ahead of its first job; False: nothing to load."""
        return False

    def run(self, model: str, job: Any, *, runtime: Runtime, progress: Progress) -> Any:
        raise NotImplementedError

    def instruct(self, model: str, job: Job, *, runtime: Runtime, progress: Progress) -> Any:
        """Work that follows an instruction: a shot rewritten (``RefineJob`` -> ``Refined``), the
        whole storyboard (``RewriteJob`` -> ``Rewritten``), a translation (``TranslateJob`` ->
        ``Translated``), a story from an idea (``StoryJob`` -> ``Drafted``). Storyboard back ends
        that are language models do it."""
        raise EngineError(f"The {self.name} back end cannot rewrite a shot.", permanent=True)


class DraftStoryboard(Backend):
    stage, name = "storyboard", "draft"
    description = "Sentence segmentation grouped into shots (offline)."

    def run(self, model: str, job: StoryboardJob, *, runtime: Runtime, progress: Progress) -> Storyboard:
        return draft_storyboard(job.story, shot_count=job.shot_count, title=job.title, progress=progress)

    CANNOT_INSTRUCT = (
        "The draft storyboard only splits sentences; it cannot follow an instruction or translate. Set "
        "STORYBOARD_MODEL to a language model (transformers:MODEL, or openai:URL#MODEL for a model server)."
    )

    def instruct(self, model: str, job: Job, *, runtime: Runtime, progress: Progress) -> Any:
        raise EngineError(self.CANNOT_INSTRUCT, permanent=True)


class TransformersStoryboard(Backend):
    stage, name = "storyboard", "transformers"
    description = "A local chat model through transformers."
    packages, needs_model, has_weights = ("torch", "transformers"), True, True

    def warm(self, model: str, runtime: Runtime) -> bool:
        LocalChat(model, runtime)
        return True

    def run(self, model: str, job: StoryboardJob, *, runtime: Runtime, progress: Progress) -> Storyboard:
        return transformers_storyboard(
            job.story,
            model=model,
            runtime=runtime,
            shot_count=job.shot_count,
            language=job.language,
            style=job.style,
            constrained=job.constrained,
            resume=job.resume,
            progress=progress,
        )

    def instruct(self, model: str, job: Job, *, runtime: Runtime, progress: Progress) -> Any:
        return transformers_instruct(job, model=model, runtime=runtime, progress=progress)


class OpenAIStoryboard(Backend):
    stage, name = "storyboard", "openai"
    description = "Any OpenAI-compatible server (Ollama, vLLM)."
    needs_model = True

    def parse_model(self, text: str, model: str) -> str:
        url, _, name = super().parse_model(text, model).partition("#")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{text!r}: write the OpenAI back end as openai:http(s)://HOST/v1#MODEL")
        return f"{url}#{name or 'default'}"

    def run(self, model: str, job: StoryboardJob, *, runtime: Runtime, progress: Progress) -> Storyboard:
        base_url, _, name = model.partition("#")
        return openai_storyboard(
            job.story,
            base_url=base_url,
            model=name,
            shot_count=job.shot_count,
            language=job.language,
            style=job.style,
            api_key=job.api_key,
            progress=progress,
        )

    def instruct(self, model: str, job: Job, *, runtime: Runtime, progress: Progress) -> Any:
        base_url, _, name = model.partition("#")
        return openai_instruct(job, base_url=base_url, model=name, progress=progress)


class DraftImage(Backend):
    stage, name = "image", "draft"
    description = "A drawn title card from the prompt (offline)."

    def run(self, model: str, job: ImageJob, *, runtime: Runtime, progress: Progress) -> list[ImageResult]:
        return [
            draft_card(
                r.prompt,
                width=job.width,
                height=job.height,
                style=job.style,
                seed=r.seed,
                path=r.path,
                progress=progress,
            )
            for r in job.requests
        ]


class _Diffusers(Backend):
    name = "diffusers"
    packages, needs_model, has_weights = ("torch", "diffusers", "transformers"), True, True

    def fetch(self, model: str, models_dir: Path) -> Path:
        from diffusers import DiffusionPipeline
        from huggingface_hub import file_exists, snapshot_download

        if not file_exists(model, "model_index.json"):  # one model (a tiny autoencoder), no pipeline
            return Path(snapshot_download(model, allow_patterns=["config.json", "*.safetensors"]))
        # diffusers picks the files a pipeline needs (not every checkpoint format in the repo)
        return Path(DiffusionPipeline.download(model))


class DiffusersImage(_Diffusers):
    stage = "image"
    description = "Text-to-image through diffusers (sd-turbo: 1 step)."

    def warm(self, model: str, runtime: Runtime) -> bool:
        text2image_pipeline(model, runtime)
        return True

    def run(self, model: str, job: ImageJob, *, runtime: Runtime, progress: Progress) -> list[ImageResult]:
        return diffusers_keyframes(
            job.requests,
            model=model,
            runtime=runtime,
            width=job.width,
            height=job.height,
            style=job.style,
            steps=job.steps,
            guidance=job.guidance,
            image_prompt=job.image_prompt,
            progress=progress,
        )


class CameraMove(Backend):
    stage, name = "motion", "kenburns"
    description = "A camera move over the still, at composition."

    def run(self, model: str, job: MotionJob, *, runtime: Runtime, progress: Progress) -> MotionResult | None:
        return None  # the composition animates the still


class DiffusersMotion(_Diffusers):
    stage = "motion"
    description = "Stable Video Diffusion through diffusers."

    def run(self, model: str, job: MotionJob, *, runtime: Runtime, progress: Progress) -> MotionResult | None:
        return svd_clip(
            job.image,
            model=model,
            runtime=runtime,
            path=job.path,
            seed=job.seed,
            frames=job.frames,
            steps=job.steps or 25,
            progress=progress,
        )


class LtxMotion(_Diffusers):
    stage, name = "motion", "ltx"
    description = "LTX-Video through diffusers: the keyframe and a motion prompt, as long as the narration."

    def run(self, model: str, job: MotionJob, *, runtime: Runtime, progress: Progress) -> MotionResult | None:
        return ltx_clip(
            job.image,
            model=model,
            runtime=runtime,
            path=job.path,
            seed=job.seed,
            prompt=job.prompt,
            seconds=job.seconds,
            fps=job.fps,
            area=job.area,
            longest=job.longest,
            steps=job.steps,
            progress=progress,
        )


class HashLikeness(Backend):
    stage, name = "likeness", "hash"
    description = "How many bits of the pictures' difference hashes agree (their layout and light, offline)."

    def run(self, model: str, job: LikenessJob, *, runtime: Runtime, progress: Progress) -> Likeness:
        return hash_likeness(job.pictures, job.reference, progress=progress)


class ClipLikeness(Backend):
    stage, name = "likeness", "transformers"
    description = "A CLIP image encoder's similarity of the pictures, through transformers."
    packages, needs_model, has_weights = ("torch", "transformers"), True, True

    def run(self, model: str, job: LikenessJob, *, runtime: Runtime, progress: Progress) -> Likeness:
        return clip_likeness(job.pictures, job.reference, model=model, runtime=runtime, progress=progress)


class EspeakSpeech(Backend):
    stage, name = "speech", "espeak"
    description = "espeak-ng (English; Mandarin through its pinyin voice)."
    program = "espeak-ng"
    side_by_side = True

    def run(self, model: str, job: SpeechJob, *, runtime: Runtime, progress: Progress) -> SpeechResult:
        return espeak(job.text, language=job.language, voice=model, path=job.path, progress=progress)


class PiperSpeech(Backend):
    stage, name = "speech", "piper"
    description = "Piper neural voices (onnxruntime)."
    packages, needs_model, has_weights = ("piper",), True, True
    side_by_side = True
    REPO = "rhasspy/piper-voices"

    def weights_on_disk(self, model: str, models_dir: Path) -> Path | None:
        return piper_voice_files(model, models_dir)

    def fetch(self, model: str, models_dir: Path) -> Path:
        from huggingface_hub import hf_hub_download

        folder = models_dir / "piper"
        base = self.voice_path(model)
        for suffix in (".onnx.json", ".onnx"):
            downloaded = Path(hf_hub_download(self.REPO, base + suffix, local_dir=folder / "_hub"))
            downloaded.replace(folder / f"{model}{suffix}")
        return folder / f"{model}.onnx"

    @staticmethod
    def voice_path(voice: str) -> str:
        """en_US-joe-medium -> en/en_US/joe/medium/en_US-joe-medium (the layout of rhasspy/piper-voices)."""
        try:
            region, name, quality = voice.split("-", 2)
        except ValueError:
            raise ValueError(f"{voice!r} is not a piper voice name such as en_US-joe-medium.") from None
        return f"{region.split('_')[0]}/{region}/{name}/{quality}/{voice}"

    def run(self, model: str, job: SpeechJob, *, runtime: Runtime, progress: Progress) -> SpeechResult:
        return piper(
            job.text,
            voice=model,
            models_dir=runtime.models_dir,
            path=job.path,
            threads=runtime.threads,
            progress=progress,
        )


class TransformersSpeech(Backend):
    stage, name = "speech", "transformers"
    description = "VITS / MMS-TTS models through transformers."
    packages, needs_model, has_weights = ("torch", "transformers"), True, True

    def run(self, model: str, job: SpeechJob, *, runtime: Runtime, progress: Progress) -> SpeechResult:
        return vits(job.text, model=model, runtime=runtime, path=job.path, seed=job.seed, progress=progress)


BACKENDS: dict[tuple[str, str], Backend] = {
    (b.stage, b.name): b
    for b in (
        DraftStoryboard(),
        TransformersStoryboard(),
        OpenAIStoryboard(),
        DraftImage(),
        DiffusersImage(),
        CameraMove(),
        DiffusersMotion(),
        LtxMotion(),
        HashLikeness(),
        ClipLikeness(),
        EspeakSpeech(),
        PiperSpeech(),
        TransformersSpeech(),
    )
}

# The offline back end each stage falls back to, per story language where it matters.
DRAFT: dict[str, str] = {
    "storyboard": "draft",
    "image": "draft",
    "image.quality": "draft",
    "motion": "kenburns",
    "likeness": "hash",
    "speech.en": "espeak:en-us",
    "speech.zh": "espeak:cmn-latn-pinyin",
}
PRESETS: dict[str, dict[str, str]] = {
    "default": {
        "storyboard": "transformers:Qwen/Qwen2.5-0.5B-Instruct",
        "image": "diffusers:stabilityai/sd-turbo",
        "image.quality": "diffusers:black-forest-labs/FLUX.1-schnell",
        "motion": "ltx:Lightricks/LTX-Video-0.9.7-distilled",  # only for projects that animate
        "likeness": "transformers:openai/clip-vit-base-patch32",
        "speech.en": "piper:en_US-joe-medium",
        "speech.zh": "piper:zh_CN-huayan-medium",
    },
    "draft": DRAFT,
}


# What fetch_models says of the models it knows before downloading them: the download (the files
# a diffusers pipeline needs, in the precision the repository offers; weights' sizes from their
# parameter counts, not measured here) and the licence to read first.
MODEL_NOTES: dict[str, str] = {
    "stabilityai/sd-turbo": "about 5 GB (UNet, VAE, OpenCLIP text encoder); licence: Stability AI "
    "Non-Commercial Research Community License (commercial use needs Stability's membership)",
    "black-forest-labs/FLUX.1-schnell": "about 34 GB (a 12B transformer, T5-XXL and CLIP-L encoders, VAE; "
    "bfloat16); licence: Apache-2.0; its weights alone take 33 GB of GPU memory (the transformer 24 GB)",
    "Lightricks/LTX-Video-0.9.7-distilled": "about 36 GB (a 13B transformer, T5-XXL, the video VAE; bfloat16); "
    "licence: the LTX-Video Open Weights License (read its use restrictions on the model page first)",
    "stabilityai/stable-video-diffusion-img2vid": "about 9 GB; licence: Stability AI Community License",
    "Qwen/Qwen2.5-0.5B-Instruct": "about 1 GB; licence: Apache-2.0",
    "openai/clip-vit-base-patch32": "about 0.6 GB (the characters' likeness, the film check's pictures against their "
    "words); licence: MIT",
}


# --- specs ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    stage: str
    backend: str
    model: str = ""

    @property
    def impl(self) -> Backend:
        return BACKENDS[(self.stage, self.backend)]

    def __str__(self) -> str:
        return f"{self.backend}:{self.model}" if self.model else self.backend


def parse_spec(stage: str, text: str) -> Spec:
    """``backend[:model]`` for ``stage``; a ValueError naming the choices when it is not one."""
    stage_key = stage.split(".")[0]
    name, _, model = text.strip().partition(":")
    backend = BACKENDS.get((stage_key, name))
    if backend is None:
        names = ", ".join(n for (s, n) in BACKENDS if s == stage_key)
        raise ValueError(f"{text!r} is not a {stage_key} back end; use one of: {names} (as backend:model)")
    return Spec(stage_key, name, backend.parse_model(text, model))


def parse_any_spec(text: str) -> Spec:
    """A spec of whichever stage has a back end of that name (``diffusers:…`` is taken as an image)."""
    for stage in STAGES:
        try:
            return parse_spec(stage, text)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is no back end spec (e.g. diffusers:stabilityai/sd-turbo, piper:en_US-joe-medium).")


def draft_spec(stage: str, language: str = "en") -> Spec:
    key = f"{stage}.{language}" if stage == "speech" else stage
    return parse_spec(stage, DRAFT.get(key, DRAFT["speech.en"]))


# Why a model cannot run here, as sentences (inference.sentences): a draft's note keeps them as
# words, and the editor's notice reads them back to say them in the reader's language.
WHY_NOT_HERE = {
    "weights_offline": "the weights of %(model)s are not on disk and %(setting)s is set",
    "weights_unreachable": "the weights of %(model)s are not on disk and %(why)s",
}


def spec_problem(spec: Spec, models_dir: Path) -> str | None:
    """Why ``spec`` cannot run here as configured (package missing, weights neither on disk nor
    downloadable), or None. Looks at the disk only; never downloads."""
    reason = spec.impl.check()
    if reason:
        return reason
    if spec.impl.has_weights and spec.impl.weights_on_disk(spec.model, models_dir) is None:
        if hub_offline():
            return Sentence(
                "weights_offline", WHY_NOT_HERE["weights_offline"], model=spec.model, setting="HF_HUB_OFFLINE"
            )
        unreachable = hub_unreachable()
        if unreachable:
            return Sentence(
                "weights_unreachable", WHY_NOT_HERE["weights_unreachable"], model=spec.model, why=unreachable
            )
    return None


def backend_report() -> list[dict[str, Any]]:
    """Every back end with whether it can run here and, if not, why."""
    report = []
    for backend in BACKENDS.values():
        reason = backend.check()
        report.append(
            {
                "stage": backend.stage,
                "backend": backend.name,
                "description": backend.description,
                "available": reason is None,
                "reason": reason or "",
                "needs": {
                    "packages": list(backend.packages),
                    "program": backend.program,
                    "model": backend.needs_model,
                    "weights": backend.has_weights,
                },
            }
        )
    return report


def configured_report(specs: dict[str, str], models_dir: Path) -> list[dict[str, str]]:
    """For each stage (``speech.en`` and ``speech.zh`` apart): the configured spec, what will
    run (it, or the draft back end it falls back to), and why not the configured one."""
    report = []
    for key, text in specs.items():
        spec = parse_spec(key, text)
        problem = spec_problem(spec, models_dir)
        runs = str(draft_spec(spec.stage, key.partition(".")[2] or "en")) if problem else str(spec)
        report.append({"stage": key, "spec": str(spec), "runs": runs, "reason": problem or ""})
    return report
