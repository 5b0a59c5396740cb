"""The engines' configuration, read from the settings: how models run here, and which back end
each stage is configured to use."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from django.conf import settings

from core.errors import ApplicationError
from inference.casting import Casting, cast_voice, espeak_variants
from inference.engines import speech
from inference.image import ImagePrompt
from inference.models import Runtime
from inference.speech import espeak_voices, piper_voice_files


def runtime() -> Runtime:
    return Runtime(
        device=settings.INFERENCE_DEVICE,
        dtype=settings.INFERENCE_DTYPE,
        low_memory=settings.INFERENCE_LOW_MEMORY,
        models_dir=settings.MODELS_DIR,
        missing_memory_s=settings.MODELS_MISSING_MEMORY_S,
        compile=settings.INFERENCE_COMPILE,
        channels_last=settings.INFERENCE_CHANNELS_LAST,
        image_vae=settings.IMAGE_VAE,
    )


def configured_specs() -> dict[str, str]:
    """The back end spec of each stage, as the settings give them."""
    return {
        "storyboard": settings.STORYBOARD_MODEL,
        "image": settings.IMAGE_MODEL,
        "image.quality": settings.IMAGE_MODEL_QUALITY,
        "motion": settings.MOTION_MODEL,
        "likeness": settings.LIKENESS_MODEL,
        "speech.en": settings.SPEECH_MODEL_EN,
        "speech.zh": settings.SPEECH_MODEL_ZH,
        **({"image.vae": f"diffusers:{settings.IMAGE_VAE}"} if settings.IMAGE_VAE else {}),
        **{
            f"image.adapter{suffix}": f"diffusers:{text.rpartition(':')[0]}"
            for suffix, text in (("", settings.IMAGE_IP_ADAPTER), (".quality", settings.IMAGE_IP_ADAPTER_QUALITY))
            if text
        },
    }


def image_tier(tier: str) -> tuple[str, int, float]:
    """The image back end spec, steps and guidance a project's picture tier runs."""
    if tier == "draft":
        return "draft", 1, 0.0
    if tier == "quality":
        return settings.IMAGE_MODEL_QUALITY, settings.IMAGE_STEPS_QUALITY, settings.IMAGE_GUIDANCE_QUALITY
    return settings.IMAGE_MODEL, settings.IMAGE_STEPS, settings.IMAGE_GUIDANCE


def image_prompt(tier: str) -> ImagePrompt | None:
    """The IP-Adapter through which a tier's pictures take their characters' reference pictures;
    None where none is set (the draft tier never has one)."""
    text = {"fast": settings.IMAGE_IP_ADAPTER, "quality": settings.IMAGE_IP_ADAPTER_QUALITY}.get(tier, "")
    return ImagePrompt.parse(text, settings.IMAGE_IP_ADAPTER_SCALE) if text else None


def voice_choices() -> list[str]:
    """The voices a project may name: the configured ones, those operators add (VOICES), the
    piper voices on this machine and espeak-ng's. Never a model to download on a user's word."""
    choices = {settings.SPEECH_MODEL_EN, settings.SPEECH_MODEL_ZH, *settings.VOICES, "espeak"}
    piper_dir = settings.MODELS_DIR / "piper"
    on_disk = [p.name.removesuffix(".onnx") for p in piper_dir.glob("*.onnx")] if piper_dir.is_dir() else []
    choices |= {f"piper:{v}" for v in [*on_disk, "en_US-joe-medium"] if piper_voice_files(v, settings.MODELS_DIR)}
    espeak = espeak_voices()
    choices |= {f"espeak:{voice}" for voice in espeak}
    if espeak:  # the variants a character's casting gives (a woman's, an old man's… voice)
        choices |= set(espeak_variants())
    return sorted(choices)


def voice_cast(character: Any) -> Casting | None:
    """The voice a character's personality, age, looks and description suggest (None: they say
    nothing of one), among this installation's voices and other than the narrator's."""
    project = character.project
    text = " ".join([character.personality, character.age, character.appearance, character.description])
    narrator = project.voice or (settings.SPEECH_MODEL_ZH if project.language == "zh" else settings.SPEECH_MODEL_EN)
    installed = voice_choices()
    casting = cast_voice(text, language=project.language, installed=installed, narrator=narrator)
    return casting if casting is not None and casting.voice in installed else None


PREVIEW_LINES = {
    "en": "Every evening, the keeper climbed the stairs to light the lamp.",
    "zh": "每天傍晚，守塔人都会爬上楼梯，点亮那盏灯。",
}


def voice_preview(*, voice: str, language: str) -> Path:
    """A WAV of ``voice`` reading one line in ``language``, made once per voice and language
    and kept under VAR_DIR/cache/voices. Only installed piper and espeak-ng voices are
    previewed here, in the web process (they are small and fast); a model voice is heard by
    making a shot's narration."""
    if voice not in voice_choices():
        raise ApplicationError(f"{voice!r} is not a voice installed here (GET /api/v1/voices).", field="voice")
    if not voice.startswith(("piper:", "espeak")):
        raise ApplicationError(
            "Only piper and espeak-ng voices have a preview here; hear a model voice by making a shot's narration.",
            field="voice",
        )
    key = hashlib.sha256(f"{voice}|{language}|{PREVIEW_LINES[language]}".encode()).hexdigest()[:24]
    path = settings.VAR_DIR / "cache" / "voices" / f"{key}.wav"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.wav")
        speech(voice, PREVIEW_LINES[language], language=language, path=partial, runtime=runtime())
        partial.replace(path)  # whole, or not there
    return path
