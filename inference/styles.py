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
        Style(
            "cyberpunk",
            "Cyberpunk",
            "cyberpunk, neon lights, rain-slick streets, high contrast, futuristic city",
            "daylight, pastel, low quality, watermark",
            ("#0d0221", "#ff2a6d", "#d1f7ff"),
        ),
        Style(
            "oil",
            "Oil painting",
            "oil painting on canvas, visible brush strokes, rich colours, classical lighting",
            "photo, flat, low quality, watermark",
            ("#2b1d14", "#c9a227", "#f5ecd7"),
        ),
        Style(
            "guofeng",
            "Chinese traditional illustration",
            "Chinese traditional illustration, guofeng, gongbi, elegant muted colours, flowing robes",
            "photo, western, low quality, watermark",
            ("#f4ede1", "#a83232", "#2a2420"),
        ),
        Style(
            "pixel",
            "Pixel art",
            "pixel art, 16-bit, crisp pixels, limited palette",
            "photo, blurry, smooth gradients, low quality, watermark",
            ("#1b1b2f", "#f9c80e", "#f0f0f0"),
        ),
    )
}

# The names a client may send for a preset, besides its key and its label: Chinese clients send
# the standard's words (Style=电影). Matched after trimming and ignoring case, spaces and hyphens.
STYLE_ALIASES: dict[str, str] = {
    **{name: "cinematic" for name in ("电影", "电影感", "电影风", "电影风格", "cinema", "film", "movie")},
    **{name: "storybook" for name in ("绘本", "童话", "儿童绘本", "插画", "storybook", "picture book")},
    **{name: "watercolor" for name in ("水彩", "水彩画", "watercolour")},
    **{name: "anime" for name in ("动漫", "动画", "二次元", "日漫", "manga", "cartoon", "卡通")},
    **{name: "ink" for name in ("水墨", "水墨画", "国画", "中国画", "ink painting")},
    **{name: "photo" for name in ("写实", "真实", "照片", "摄影", "realistic", "photographic", "photography")},
    **{name: "cyberpunk" for name in ("赛博朋克", "赛博", "cyber punk")},
    **{name: "oil" for name in ("油画", "oil painting")},
    **{name: "guofeng" for name in ("国风", "古风", "中国风", "工笔")},
    **{name: "pixel" for name in ("像素", "像素风", "像素画", "pixel art")},
}
STYLE_MAX_CHARS = 100  # a style that names no preset: its words, at most this long


def _fold(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch not in " -_·")


_PRESET_NAMES = {
    _fold(name): key
    for key, style in STYLES.items()
    for name in (key, style.label, *(alias for alias, aliased in STYLE_ALIASES.items() if aliased == key))
}


def style_key(name: str) -> str | None:
    """The preset a style's name means (its key, its label or an alias, English or Chinese), or
    None where it names none."""
    return _PRESET_NAMES.get(_fold(name.strip()))


def style_preset(style: str) -> Style:
    """What a project's style paints with: its preset, or for words that name none a style made of
    them (they go into every picture prompt)."""
    key = style_key(style)
    if key is not None:
        return STYLES[key]
    words = " ".join(style.split())
    return Style(words, words, words, "low quality, watermark, text", STYLES["storybook"].palette)


ASPECT_RATIOS: dict[str, tuple[int, int]] = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}
RESOLUTIONS: dict[str, int] = {"480p": 480, "720p": 720, "1080p": 1080}
CAMERA_MOVES = ("static", "zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down")
TRANSITIONS = ("cut", "fade", "dissolve", "wipe_left", "wipe_right", "slide_left", "slide_right")
# The language of shots: how much of the subject the frame holds, and from where the camera looks.
# Each value with the words the image models know it by (written into the picture prompt), and
# the words a person or a model may say for it (Chinese film terms included).
SHOT_SIZES = {
    "close_up": "close-up shot",
    "medium_close_up": "medium close-up shot",
    "medium": "medium shot",
    "full": "full shot",
    "wide": "wide shot",
}
CAMERA_ANGLES = {
    "eye_level": "eye-level shot",
    "low": "low-angle shot",
    "high": "high-angle shot",
    "overhead": "overhead shot, bird's-eye view",
}
SHOT_LANGUAGE_ALIASES = {
    "特写": "close_up",
    "近景": "medium_close_up",
    "中近景": "medium_close_up",
    "中景": "medium",
    "全景": "full",
    "远景": "wide",
    "long": "wide",
    "extreme_wide": "wide",
    "平视": "eye_level",
    "仰视": "low",
    "仰拍": "low",
    "俯视": "high",
    "俯拍": "high",
    "鸟瞰": "overhead",
    "顶拍": "overhead",
    "birds_eye": "overhead",
}


def shot_language(value: object, choices: dict[str, str]) -> str | None:
    """The key of ``choices`` that ``value`` names: the key, its words ("close-up shot", "low
    angle", "bird's-eye view") or a film term in Chinese; "" for blank (not set); None for none."""
    if not isinstance(value, str):
        return None
    folded = "_".join(value.strip().casefold().replace("-", " ").replace("'", "").split())
    if not folded:
        return ""
    while folded.endswith(("_shot", "_view", "_angle")):
        folded = folded.rsplit("_", 1)[0]
    folded = SHOT_LANGUAGE_ALIASES.get(folded, folded)
    return folded if folded in choices else None


# The picture tiers a project chooses: the drawn title card, sd-turbo, FLUX.1-schnell (the
# operator sets what each runs: IMAGE_MODEL, IMAGE_MODEL_QUALITY).
IMAGE_TIERS = ("draft", "fast", "quality")

# Each camera move in the words a video model knows it by (an animated shot's motion prompt).
CAMERA_MOTION = {
    "static": "the camera holds still",
    "zoom_in": "the camera slowly pushes in",
    "zoom_out": "the camera slowly pulls back",
    "pan_left": "the camera pans slowly to the left",
    "pan_right": "the camera pans slowly to the right",
    "pan_up": "the camera tilts slowly up",
    "pan_down": "the camera tilts slowly down",
}


def motion_words(prompt: str, camera: str) -> str:
    """An animated shot's motion prompt when the person wrote none: the picture prompt, then the
    camera move in words."""
    return ". ".join(part for part in (prompt.strip().rstrip("."), CAMERA_MOTION.get(camera, "")) if part)


def spoken_seconds(text: str) -> float:
    """How long ``text`` takes to read aloud at an ordinary pace: about 4.5 Chinese characters or
    15 other letters a second (an estimate, until the narration is spoken and measured)."""
    cjk = sum(1 for char in text if "\u3400" <= char <= "\u9fff")
    other = sum(1 for char in text if char.isalnum()) - cjk
    return cjk / 4.5 + other / 15.0


def framing_words(shot_size: str, camera_angle: str) -> str:
    """The picture prompt's words for a shot's size and angle ("" for what is not set)."""
    return ", ".join(words for words in (SHOT_SIZES.get(shot_size), CAMERA_ANGLES.get(camera_angle)) if words)


# A plausible sequence for shots nobody framed: an establishing wide shot, then closer in and back
# out, the camera mostly at eye level, now and then looking up or down.
SIZE_SEQUENCE = ("wide", "medium", "close_up", "full", "medium_close_up", "medium")
ANGLE_SEQUENCE = ("eye_level", "eye_level", "low", "eye_level", "high", "eye_level", "eye_level", "overhead")


def planned_framing(index: int) -> tuple[str, str]:
    """The shot size and camera angle of the ``index``-th shot of a storyboard nobody framed."""
    return SIZE_SEQUENCE[index % len(SIZE_SEQUENCE)], ANGLE_SEQUENCE[index % len(ANGLE_SEQUENCE)]


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
