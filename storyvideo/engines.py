"""The engines' configuration, read from the settings: how models run here, and which back end
each stage is configured to use."""

from __future__ import annotations

from django.conf import settings

from inference.models import Runtime
from inference.speech import espeak_voices, piper_voice_files


def runtime() -> Runtime:
    return Runtime(
        device=settings.INFERENCE_DEVICE,
        dtype=settings.INFERENCE_DTYPE,
        low_memory=settings.INFERENCE_LOW_MEMORY,
        models_dir=settings.MODELS_DIR,
        missing_memory_s=settings.MODELS_MISSING_MEMORY_S,
    )


def configured_specs() -> dict[str, str]:
    """The back end spec of each stage, as the settings give them."""
    return {
        "storyboard": settings.STORYBOARD_MODEL,
        "image": settings.IMAGE_MODEL,
        "motion": settings.MOTION_MODEL,
        "speech.en": settings.SPEECH_MODEL_EN,
        "speech.zh": settings.SPEECH_MODEL_ZH,
    }


def voice_choices() -> list[str]:
    """The voices a project may name: the configured ones, those operators add (VOICES), the
    piper voices on this machine and espeak-ng's. Never a model to download on a user's word."""
    choices = {settings.SPEECH_MODEL_EN, settings.SPEECH_MODEL_ZH, *settings.VOICES, "espeak"}
    piper_dir = settings.MODELS_DIR / "piper"
    on_disk = [p.name.removesuffix(".onnx") for p in piper_dir.glob("*.onnx")] if piper_dir.is_dir() else []
    choices |= {f"piper:{v}" for v in [*on_disk, "en_US-joe-medium"] if piper_voice_files(v, settings.MODELS_DIR)}
    choices |= {f"espeak:{voice}" for voice in espeak_voices()}
    return sorted(choices)
