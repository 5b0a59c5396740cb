"""What the engines return: plain dataclasses, no Django."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# progress(fraction 0..1, message); raises inference.errors.CancelledError to stop the engine.
Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """A progress callback that ignores everything."""


@dataclass
class Resume:
    """A long answer an earlier attempt began (``answer``: its text so far), to go on from, and
    where to keep the answer as it grows (``keep``, called at most every ``every_s`` seconds)."""

    answer: str = ""
    keep: Callable[[str], object] = lambda text: None
    every_s: float = 5.0


@dataclass
class CharacterPlan:
    name: str
    description: str


@dataclass
class ShotPlan:
    prompt: str
    narration: str
    camera: str = "zoom_in"
    transition: str = "dissolve"
    characters: list[str] = field(default_factory=list)
    shot_size: str = ""  # inference.styles.SHOT_SIZES; "": not set
    camera_angle: str = ""  # inference.styles.CAMERA_ANGLES; "": not set
    speaker: str = ""  # the character speaking the narration (quoted speech); "": the narrator
    ref: str = ""  # in a rewrite: the existing shot this one is ("s1", …); "": a new shot


@dataclass
class Storyboard:
    title: str
    characters: list[CharacterPlan]
    shots: list[ShotPlan]
    backend: str
    model: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class ImageResult:
    path: str
    width: int
    height: int
    backend: str
    model: str = ""
    note: str = ""  # why a draft back end ran instead of the configured one; what did not guide it
    cut_tokens: int = 0  # tokens of the shot's prompt the CLIP text encoder could not read


@dataclass
class SpeechResult:
    path: str
    duration: float
    sample_rate: int
    backend: str
    model: str = ""
    sentences: list[tuple[float, float, str]] = field(default_factory=list)
    note: str = ""
