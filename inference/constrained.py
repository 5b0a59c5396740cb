"""Constrained decoding for the storyboard: lm-format-enforcer's JSON-schema parser decides,
token by token, which tokens may come next, so a local model's answer is JSON of the storyboard's
shape by construction (it is still parsed and repaired as untrusted text afterwards).

lm-format-enforcer's own transformers integration imports a module transformers 5 removed, so
the few lines that adapt a tokenizer are here, on its core classes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inference.styles import CAMERA_ANGLES, CAMERA_MOVES, SHOT_SIZES, TRANSITIONS


def storyboard_schema(
    *,
    shot_count: int,
    max_shots: int,
    max_characters: int,
    text_limit: int,
    rewrite: bool = False,
    sentences: int = 0,
) -> dict[str, Any]:
    """The storyboard's shape; a ``rewrite`` names each shot it keeps by id, and no characters.
    With ``sentences`` (the story's count), a shot names the first and last of the story's
    numbered sentences it tells instead of writing its narration."""
    text = {"type": "string", "maxLength": text_limit}
    name = {"type": "string", "maxLength": min(text_limit, 100)}
    # The numbers as an enum: a bare integer's digits would have no end for a model that rambles.
    number = {"enum": list(range(1, max(sentences, 1) + 1))}
    told = (
        {"sentences": {"type": "array", "minItems": 2, "maxItems": 2, "items": number}}
        if sentences
        else {"narration": text}
    )
    shot = {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "maxLength": min(text_limit, 500)},
            **told,
            "camera": {"enum": list(CAMERA_MOVES)},
            "transition": {"enum": list(TRANSITIONS)},
            "shotSize": {"enum": list(SHOT_SIZES)},
            "cameraAngle": {"enum": list(CAMERA_ANGLES)},
            "characters": {"type": "array", "maxItems": max_characters, "items": name},
            "speaker": name,  # optional: the narrator unless the model names a character
            **({"id": {"type": "string", "maxLength": 40}} if rewrite else {}),
        },
        "required": ["prompt", *told, "camera", "transition", "characters"],
    }
    character = {
        "type": "object",
        "properties": {"name": name, "description": text},
        "required": ["name", "description"],
    }
    shots = {"type": "array", "minItems": 1, "maxItems": min(max_shots, 2 * shot_count), "items": shot}
    if rewrite:
        return {"type": "object", "properties": {"shots": shots}, "required": ["shots"]}
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": min(text_limit, 200)},
            "characters": {"type": "array", "maxItems": max_characters, "items": character},
            "shots": shots,
        },
        "required": ["title", "characters", "shots"],
    }


def tokenizer_data(tokenizer: Any) -> Any:
    """What the enforcer needs to know of a vocabulary (built once per model: one decode per token)."""
    from lmformatenforcer import TokenEnforcerTokenizerData

    zero = tokenizer.encode("0")[-1]
    special = set(tokenizer.all_special_ids)
    regular = []
    for index in range(len(tokenizer)):
        if index in special:
            continue
        # decoded after "0" (minus it) keeps a word-start token's leading space
        after = tokenizer.decode([zero, index])[1:]
        regular.append((index, after, len(after) > len(tokenizer.decode([index]))))
    return TokenEnforcerTokenizerData(
        regular, lambda ids: tokenizer.decode(ids).rstrip("\ufffd"), tokenizer.eos_token_id, False, len(tokenizer)
    )


def allowed_tokens(data: Any, schema: dict[str, Any]) -> Callable[[int, Any], list[int]]:
    """A ``prefix_allowed_tokens_fn`` for ``generate`` that keeps the answer inside ``schema``
    (the enforcer takes the first sequence it is shown, the prompt, as the answer's start)."""
    from lmformatenforcer import CharacterLevelParserConfig, JsonSchemaParser, TokenEnforcer

    # fields in the schema's order, and no runs of blank lines: fewer tokens spent on layout
    config = CharacterLevelParserConfig(max_consecutive_whitespaces=2, force_json_field_order=True)
    enforcer = TokenEnforcer(data, JsonSchemaParser(schema, config=config))

    def allowed(batch_id: int, sequence: Any) -> list[int]:
        return list(enforcer.get_allowed_tokens(sequence.tolist()).allowed_tokens)

    return allowed
