"""What engine work used. The task runner opens a meter around each attempt (``metering``) and
the engines add to it as they go (``record``): the device, language-model tokens in and out,
pictures and their denoising steps, seconds of narration, clip and film made. Outside a meter
(a test, the web process's voice preview) recording does nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from threading import Lock

AMOUNTS = ("tokensIn", "tokensOut", "images", "steps", "audioSeconds", "videoSeconds")


@dataclass
class Usage:
    device: str = ""
    tokensIn: int = 0
    tokensOut: int = 0
    images: int = 0
    steps: int = 0
    audioSeconds: float = 0.0
    videoSeconds: float = 0.0

    def amounts(self) -> dict[str, float]:
        """The amounts used (not the device), those above 0."""
        return {key: float(getattr(self, key)) for key in AMOUNTS if getattr(self, key)}


_meter: ContextVar[Usage | None] = ContextVar("storyvideo_usage", default=None)
_adding = Lock()  # engines running side by side (speech lines) add to one meter


@contextmanager
def metering() -> Iterator[Usage]:
    usage = Usage()
    token = _meter.set(usage)
    try:
        yield usage
    finally:
        _meter.reset(token)


def record(*, device: str = "", **amounts: float) -> None:
    """Add to the open meter, if any (``amounts`` named as in AMOUNTS)."""
    usage = _meter.get()
    if usage is None:
        return
    unknown = set(amounts) - set(AMOUNTS)
    if unknown:
        raise ValueError(f"not a usage amount: {', '.join(sorted(unknown))}")
    with _adding:
        if device and (not usage.device or device.startswith("cuda")):  # the first word, unless a GPU's
            usage.device = device
        for name, amount in amounts.items():
            setattr(usage, name, getattr(usage, name) + amount)
