from __future__ import annotations

from django.core.exceptions import ValidationError

from inference.registry import parse_spec


def validate_voice(value: str) -> None:
    """A project's voice is blank (follow the language) or a speech back end spec."""
    if value:
        try:
            parse_spec("speech", value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
