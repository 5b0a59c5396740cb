"""The engines' configuration, read from the settings: how models run here, and which back end
each stage is configured to use."""

from __future__ import annotations

from django.conf import settings

from inference.models import Runtime


def runtime() -> Runtime:
    return Runtime(
        device=settings.INFERENCE_DEVICE,
        dtype=settings.INFERENCE_DTYPE,
        low_memory=settings.INFERENCE_LOW_MEMORY,
        models_dir=settings.MODELS_DIR,
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
