"""Story -> storyboard. The ``draft`` back end: sentences grouped into shots (offline)."""

from __future__ import annotations

from inference.errors import EngineError
from inference.styles import CAMERA_MOVES
from inference.text import split_sentences
from inference.types import Progress, ShotPlan, Storyboard, no_progress

_MOVES = [move for move in CAMERA_MOVES if move != "static"]


def group_balanced(sentences: list[str], count: int) -> list[list[str]]:
    """Split sentences, in order, into ``count`` contiguous groups of similar text length."""
    count = max(1, min(count, len(sentences)))
    total = sum(len(s) for s in sentences) or 1
    groups: list[list[str]] = []
    current: list[str] = []
    seen = 0
    for index, sentence in enumerate(sentences):
        closed = len(groups)
        if current and closed + 1 < count:
            share_reached = seen + len(sentence) / 2 >= (closed + 1) * total / count
            # every group still to come needs at least one of the sentences left
            must_close = len(sentences) - index <= count - closed - 1
            if share_reached or must_close:
                groups.append(current)
                current = []
        current.append(sentence)
        seen += len(sentence)
    groups.append(current)
    return groups


def draft_storyboard(story: str, *, shot_count: int, title: str = "", progress: Progress = no_progress) -> Storyboard:
    """Every sentence of the story, in order, grouped into about ``shot_count`` shots."""
    sentences = split_sentences(story)
    if not sentences:
        raise EngineError("The story has no text to split into shots.", permanent=True)
    shots = []
    for index, group in enumerate(group_balanced(sentences, shot_count)):
        narration = " ".join(group) if not _is_cjk_text(group) else "".join(group)
        shots.append(
            ShotPlan(
                prompt=narration[:500],
                narration=narration,
                camera=_MOVES[index % len(_MOVES)],
                transition="dissolve",
            )
        )
        progress((index + 1) / shot_count, f"Shot {index + 1}")
    if shots:
        shots[-1].transition = "fade"
    return Storyboard(title=title, characters=[], shots=shots, backend="draft")


def _is_cjk_text(sentences: list[str]) -> bool:
    from inference.text import detect_language

    return detect_language("".join(sentences)) == "zh"
