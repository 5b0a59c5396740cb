from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from core.engines import voice_choices
from core.errors import ApplicationError
from inference.registry import parse_spec
from inference.speech import voice_language

# A model id (org/name) or voice name: never a path on the server, which only operators name.
# a name, an id with its owner, or an espeak-ng voice with its variant (en-us+f1)
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*|\+[a-z0-9]+)?")


def validate_voice(value: str) -> None:
    """A project's voice is blank (follow the language) or a speech back end spec whose model
    is a name, such as piper:en_US-joe-medium or transformers:facebook/mms-tts-eng."""
    if not value:
        return
    try:
        spec = parse_spec("speech", value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    if spec.model and (not _MODEL_NAME.fullmatch(spec.model) or ".." in spec.model):
        raise ValidationError(f"{spec.model!r} is not a voice or model name (such as en_US-joe-medium).")
    if str(spec) not in voice_choices():
        raise ValidationError(
            f"{value!r} is not a voice installed here: GET /api/v1/voices lists them (operators add more with VOICES)."
        )


def voice_for_language(value: str, language: str) -> None:
    """A character's voice must speak its project's language (a name that does not say which it
    speaks is taken at its word)."""
    spoken = voice_language(value) if value else None
    if spoken is not None and spoken != language:
        raise ApplicationError(
            f"{value!r} speaks {spoken!r}; this project is in {language!r}. "
            "Choose one of its language's voices (GET /api/v1/voices).",
            field="voice",
        )


def story_too_long(length: int) -> str:
    """One message for a story over the limit, the same on the page and in the API."""
    limit = settings.STORY_MAX_CHARS
    return gettext(
        "The story has %(length)s characters; a film takes at most %(limit)s. Nothing was cut: "
        "shorten it by %(over)s characters or make two films of it."
    ) % {"length": f"{length:,}", "limit": f"{limit:,}", "over": f"{length - limit:,}"}


def validate_story_length(value: str) -> None:
    if len(value) > settings.STORY_MAX_CHARS:
        raise ValidationError(story_too_long(len(value)))


def story_unreadable(value: str) -> str:
    """Why a story cannot be narrated, or "": one with no letter or digit in it (emoji, symbols,
    punctuation only) would be read aloud as nothing and shown as empty boxes."""
    if value.strip() and not any(unicodedata.category(c)[0] in "LN" for c in value):
        return gettext(
            "The story has no words a voice can read (only emoji, symbols or punctuation): write it in words."
        )
    return ""


def validate_story_readable(value: str) -> None:
    problem = story_unreadable(value)
    if problem:
        raise ValidationError(problem)
