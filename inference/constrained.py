"""Constrained decoding for the storyboard: lm-format-enforcer's JSON-schema parser decides,
token by token, which tokens may come next, so a local model's answer is JSON of the storyboard's
shape by construction (it is still parsed and repaired as untrusted text afterwards).

lm-format-enforcer's own transformers integration imports a module transformers 5 removed, so
the few lines that adapt a tokenizer are here, on its core classes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
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


# Caps on what a small model does inside the schema: a run of blanks longer than this (in the
# layout or inside a string; lm-format-enforcer's own max_consecutive_whitespaces did not hold:
# the tests' random model laid its answers out in runs of twelve), and a run of this many tokens
# written a second time inside one string.
MAX_BLANKS = 2
REPEAT_TOKENS = 6


@dataclass(frozen=True)
class Vocabulary:
    """What the enforcer needs to know of a vocabulary, and each token's text and leading blanks
    for the caps (built once per model: one decode per token)."""

    data: Any
    texts: dict[int, str]
    leading: tuple[frozenset[int], ...]  # leading[m]: the tokens that start with m blanks or more


def _blanks(text: str) -> str:
    """The text with JSON's escaped blanks (``\\n``, ``\\t``, ``\\r``) as blanks."""
    return re.sub(r"\\[ntr]", " ", text)


def tokenizer_data(tokenizer: Any) -> Vocabulary:
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
    # The decoded text as it is: a character's first bytes decode to replacement characters that
    # the next byte replaces. Stripped (as it once was), they made the filter lose its place
    # inside a string after the first Chinese character of three byte tokens (only blanks and
    # the end could follow).
    data = TokenEnforcerTokenizerData(regular, tokenizer.decode, tokenizer.eos_token_id, False, len(tokenizer))
    texts = {index: text for index, text, _ in regular}
    lead = {index: len(blank) - len(blank.lstrip()) for index, blank in ((i, _blanks(t)) for i, t in texts.items())}
    leading = tuple(frozenset(i for i, n in lead.items() if n >= m) for m in range(MAX_BLANKS + 2))
    return Vocabulary(data, texts, leading)


class _Answer:
    """Where an answer being written stands: inside a JSON string or not, how deep in objects
    and arrays, the blanks it ends with, and (inside a string) the tokens of that string and the
    runs of them seen."""

    def __init__(self, texts: dict[int, str]) -> None:
        self.texts = texts
        self.inside = self.escape = self.opened = False
        self.blanks = self.depth = 0
        self.string: list[int] = []
        self.seen: dict[tuple[int, ...], set[int]] = {}

    def add(self, token: int) -> None:
        was_inside = self.inside
        for char in self.texts.get(token, ""):
            if not self.inside:
                if char == '"':
                    self.inside, self.blanks, self.string, self.seen = True, 0, [], {}
                else:
                    self.blanks = self.blanks + 1 if char.isspace() else 0
                    if char in "{[":
                        self.depth, self.opened = self.depth + 1, True
                    elif char in "}]":
                        self.depth -= 1
            elif self.escape:
                self.escape = False
                self.blanks = self.blanks + 1 if char in "ntr" else 0
            elif char == "\\":
                self.escape = True
            elif char == '"':
                self.inside, self.blanks = False, 0
            else:
                self.blanks = self.blanks + 1 if char.isspace() else 0
        if was_inside and self.inside:
            self.string.append(token)
            if len(self.string) >= REPEAT_TOKENS:
                self.seen.setdefault(tuple(self.string[-REPEAT_TOKENS:-1]), set()).add(token)

    @property
    def complete(self) -> bool:
        """Whether the answer's JSON value has closed."""
        return self.opened and self.depth <= 0 and not self.inside

    def repeats(self) -> set[int]:
        """The tokens that would write a run of REPEAT_TOKENS a second time in this string."""
        if not self.inside or len(self.string) < REPEAT_TOKENS - 1:
            return set()
        return self.seen.get(tuple(self.string[-(REPEAT_TOKENS - 1) :]), set())


def allowed_tokens(
    vocabulary: Vocabulary, schema: dict[str, Any], answer_from: int | None = None
) -> Callable[[int, Any, Any], list[int]]:
    """For each step of ``generate``, the tokens that may come next: inside ``schema`` and within
    the caps. The answer starts at token ``answer_from`` of the sequences (what is before it is
    the prompt; what is after it on the first step, an answer begun earlier, is read first);
    without it, at the end of the first sequence shown.

    The caps: no run of more than MAX_BLANKS blanks; where the likeliest token (by ``scores``)
    would write a run of REPEAT_TOKENS a second time in one string, the string ends there if it
    may, else that run is barred. Where the caps would leave nothing but the end of an answer that
    is not complete, the schema alone decides."""
    from lmformatenforcer import CharacterLevelParserConfig, JsonSchemaParser, TokenEnforcer

    # fields in the schema's order, and no runs of blank lines: fewer tokens spent on layout
    config = CharacterLevelParserConfig(max_consecutive_whitespaces=MAX_BLANKS, force_json_field_order=True)
    enforcer = TokenEnforcer(vocabulary.data, JsonSchemaParser(schema, config=config))
    eos = vocabulary.data.eos_token_id
    ends = set(eos) if isinstance(eos, list) else {eos}
    answers: dict[int, tuple[_Answer, int]] = {}  # per sequence of the batch: its state, and how far it is read

    def allowed(batch_id: int, sequence: Any, scores: Any) -> list[int]:
        ids = sequence.tolist()
        if batch_id not in answers:
            start = len(ids) if answer_from is None else answer_from
            for end in range(start, len(ids)):  # the enforcer takes the first sequence it is shown as the prompt
                enforcer.get_allowed_tokens(ids[:end])
            answers[batch_id] = (_Answer(vocabulary.texts), start)
        answer, read = answers[batch_id]
        for token in ids[read:]:
            answer.add(token)
        answers[batch_id] = (answer, len(ids))
        tokens = list(enforcer.get_allowed_tokens(ids).allowed_tokens)
        blanks = vocabulary.leading[max(1, MAX_BLANKS - answer.blanks + 1)]
        kept = [t for t in tokens if t not in blanks]
        repeats = answer.repeats()
        if repeats and kept and kept[int(scores[kept].argmax())] in repeats:
            closing = [t for t in kept if vocabulary.texts.get(t, "").startswith('"')] if not answer.escape else []
            kept = closing or [t for t in kept if t not in repeats]
        return kept if answer.complete or any(t not in ends for t in kept) else tokens

    return allowed


def json_constraint(vocabulary: Vocabulary, schema: dict[str, Any], answer_from: int | None = None) -> Any:
    """A transformers logits processor keeping each answer of a ``generate`` call to
    ``allowed_tokens``: every other token's score is minus infinity."""
    import torch
    from transformers import LogitsProcessor

    allowed = allowed_tokens(vocabulary, schema, answer_from)

    class JsonConstraint(LogitsProcessor):
        def __call__(self, input_ids: Any, scores: Any) -> Any:
            kept = torch.full_like(scores, float("-inf"))
            for row, sequence in enumerate(input_ids):
                tokens = torch.tensor(allowed(row, sequence, scores[row]), device=scores.device)
                kept[row, tokens] = scores[row, tokens]
            return kept

    return JsonConstraint()
