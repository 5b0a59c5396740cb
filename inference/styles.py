"""Style presets and frame geometry, shared by the engines and the data model."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    key: str
    label: str
    prompt: str  # appended to every image prompt
    negative: str
    palette: tuple[str, str, str]  # background, accent, text: the draft card's colours


STYLES: dict[str, Style] = {
    s.key: s
    for s in (
        Style(
            "cinematic",
            "Cinematic",
            "cinematic film still, dramatic lighting, 35mm, highly detailed",
            "blurry, low quality, watermark, text",
            ("#14181f", "#d9a441", "#f4efe6"),
        ),
        Style(
            "storybook",
            "Storybook illustration",
            "children's storybook illustration, soft colours, gentle light",
            "photo, harsh, low quality, watermark, text",
            ("#fbf3e4", "#c8553d", "#2d2a32"),
        ),
        Style(
            "watercolor",
            "Watercolour",
            "watercolor painting, loose brush strokes, paper texture",
            "photo, 3d render, low quality, watermark",
            ("#eef4f2", "#4a7c8c", "#1f2d33"),
        ),
        Style(
            "anime",
            "Anime",
            "anime key visual, clean line art, vibrant colours",
            "photo, realistic, low quality, watermark",
            ("#1d1b3a", "#ff7aa2", "#fdfbff"),
        ),
        Style(
            "ink",
            "Chinese ink painting",
            "traditional Chinese ink wash painting, xieyi, rice paper",
            "photo, colourful, low quality, watermark",
            ("#f3efe6", "#9b2c2c", "#1a1a1a"),
        ),
        Style(
            "photo",
            "Photographic",
            "photograph, natural light, sharp focus, realistic",
            "drawing, cartoon, low quality, watermark",
            ("#202322", "#7fb069", "#f2f2f2"),
        ),
    )
}

ASPECT_RATIOS: dict[str, tuple[int, int]] = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}
RESOLUTIONS: dict[str, int] = {"480p": 480, "720p": 720, "1080p": 1080}
CAMERA_MOVES = ("static", "zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down")
TRANSITIONS = ("cut", "fade", "dissolve", "wipe_left", "wipe_right", "slide_left", "slide_right")
LANGUAGES = ("en", "zh")
# Each language in its own words, as a person choosing one reads it.
LANGUAGE_LABELS = {"en": "English", "zh": "中文"}


def frame_size(aspect_ratio: str, resolution: str) -> tuple[int, int]:
    """Width and height in pixels, both even; the short side is the resolution's height."""
    w_ratio, h_ratio = ASPECT_RATIOS[aspect_ratio]
    short = RESOLUTIONS[resolution]
    if w_ratio >= h_ratio:
        width, height = short * w_ratio / h_ratio, float(short)
    else:
        width, height = float(short), short * h_ratio / w_ratio
    return int(round(width / 2) * 2), int(round(height / 2) * 2)


STYLE_CHOICES = [(key, style.label) for key, style in STYLES.items()]
