"""Text -> keyframe. The ``draft`` back end: a drawn title card, clearly marked as a draft."""

from __future__ import annotations

import random
from pathlib import Path

from inference.fonts import cjk_font_path
from inference.styles import STYLES
from inference.types import ImageResult, Progress, no_progress


def _wrap(text: str, font: object, width: int) -> list[str]:
    """Wrap by pixel width: at spaces for Latin text, between any characters for CJK."""
    from PIL import ImageFont

    assert isinstance(font, ImageFont.FreeTypeFont)
    lines: list[str] = []
    line = ""
    tokens = text.replace("\n", " ").split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    for token in tokens:
        candidate = f"{line}{joiner}{token}" if line else token
        if font.getlength(candidate) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = token
    if line:
        lines.append(line)
    return lines


def draft_card(
    prompt: str,
    *,
    width: int,
    height: int,
    style: str,
    seed: int,
    path: Path,
    progress: Progress = no_progress,
) -> ImageResult:
    """Draw the prompt's words on the style's palette; the same inputs give the same PNG."""
    from PIL import Image, ImageDraw, ImageFont

    background, accent, ink = STYLES[style].palette
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    for _ in range(6):  # a few soft shapes, placed by the seed, so shots differ at a glance
        radius = rng.randint(height // 8, height // 3)
        x, y = rng.randint(0, width), rng.randint(0, height)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=accent, width=max(2, height // 180))
    font_file = str(cjk_font_path())
    size = max(14, height // 18)
    font = ImageFont.truetype(font_file, size)
    margin = width // 10
    lines = _wrap(prompt.strip(), font, width - 2 * margin)[:6]
    line_height = int(size * 1.4)
    top = (height - line_height * len(lines)) // 2
    for index, line in enumerate(lines):
        draw.text((margin, top + index * line_height), line, font=font, fill=ink)
    badge = ImageFont.truetype(font_file, max(12, height // 30))
    draw.rectangle((0, 0, width, max(16, height // 20)), fill=accent)
    draw.text((margin // 2, 2), "DRAFT · title card", font=badge, fill=background)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    progress(1.0, "Card drawn")
    return ImageResult(path=str(path), width=width, height=height, backend="draft")
