"""Subtitle cues from narration: timing, width-aware wrapping (Chinese and English), SRT,
WebVTT and ASS (for burning in with libass)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from inference.text import detect_language, split_sentences

# Characters that must not start a line (kinsoku): closing punctuation, in CJK and Latin text.
_NO_LINE_START = set("，。！？、；：”’」』）》〉】,.!?;:)]}…—")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str  # may contain "\n" between wrapped lines


def char_width(char: str) -> int:
    """Display width: 2 for wide (CJK) characters, 1 otherwise."""
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    return sum(char_width(c) for c in text)


def _tokens(text: str) -> list[str]:
    """Words (with their trailing space) for Latin text; single characters for CJK."""
    return re.findall(r"[^\s\u3000-\u9fff\uff00-\uffef]+\s*|[\u3000-\u9fff\uff00-\uffef]\s*|\s+", text)


def wrap(text: str, max_width: int) -> list[str]:
    """Wrap by display width; English breaks between words, Chinese between characters, and
    no line starts with closing punctuation."""
    lines: list[str] = []
    line = ""
    inked = 0  # the width of ``line`` without its trailing spaces
    for token in _tokens(text.strip()):
        word = token.rstrip()
        width = inked + text_width(line[len(line.rstrip()) :] + word) if word else inked
        if line and width > max_width and token.strip()[:1] not in _NO_LINE_START:
            lines.append(line.rstrip())
            line = token.lstrip()
            inked = text_width(line.rstrip())
        else:
            line += token
            inked = width
    if line.strip():
        lines.append(line.rstrip())
    return lines


def balanced(text: str, max_width: int) -> list[str]:
    """As few lines as ``wrap`` makes, of even widths: the narrowest width that still gives that
    many lines, so no line is a lone word left over."""
    lines = wrap(text, max_width)
    if len(lines) < 2:
        return lines
    low = max(text_width(token.strip()) for token in _tokens(text.strip()))
    high = max_width
    while low < high:  # the narrowest width that needs no more lines
        middle = (low + high) // 2
        if len(wrap(text, middle)) <= len(lines):
            high = middle
        else:
            low = middle + 1
    return wrap(text, high)


def chunk(text: str, max_width: int, max_lines: int = 2) -> list[str]:
    """Cue texts for one narration: sentence by sentence, each at most ``max_lines`` lines, the
    lines of even widths (``balanced``), so neither a line nor a cue is a lone word left over."""
    pieces: list[str] = []
    for sentence in split_sentences(text) or [text]:
        lines = balanced(sentence, max_width)
        for index in range(0, len(lines), max_lines):
            pieces.append("\n".join(lines[index : index + max_lines]))
    return [p for p in pieces if p.strip()]


def narration_cues(
    text: str,
    *,
    start: float,
    duration: float,
    max_width: int,
    sentences: list[tuple[float, float, str]] | None = None,
    second: str = "",
) -> list[Cue]:
    """Cues for one shot's narration spoken from ``start`` for ``duration`` seconds: the speech
    engine's sentence timings where given, else times proportional to the text's width. With
    ``second`` (the narration in the language it was translated from), each cue is one line of
    the narration with its share of the other language beneath (bilingual subtitles)."""
    cues = _cues(
        text, start=start, duration=duration, max_width=max_width, sentences=sentences, lines=1 if second else 2
    )
    if not second.strip() or not cues:
        return cues
    from inference.storyboard import group_balanced

    pieces = split_sentences(second) or [second]
    groups = group_balanced(pieces, len(cues)) if len(pieces) >= len(cues) else [[p] for p in pieces]
    joiner = "" if detect_language(second) == "zh" else " "
    below = [joiner.join(group) for group in groups] + [""] * (len(cues) - len(groups))
    return [
        Cue(c.start, c.end, f"{c.text}\n{extra}" if extra else c.text) for c, extra in zip(cues, below, strict=True)
    ]


def _cues(
    text: str,
    *,
    start: float,
    duration: float,
    max_width: int,
    sentences: list[tuple[float, float, str]] | None,
    lines: int,
) -> list[Cue]:
    if not text.strip() or duration <= 0:
        return []
    if sentences:
        cues = []
        for s_start, s_end, s_text in sentences:
            parts = chunk(s_text, max_width, lines) or [s_text]
            span = (s_end - s_start) / len(parts)
            cues += [Cue(start + s_start + i * span, start + s_start + (i + 1) * span, p) for i, p in enumerate(parts)]
        return cues
    parts = chunk(text, max_width, lines)
    total = sum(text_width(p) for p in parts) or 1
    cues, at = [], start
    for part in parts:
        length = duration * text_width(part) / total
        cues.append(Cue(round(at, 3), round(at + length, 3), part))
        at += length
    return cues


def _stamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(cues: list[Cue]) -> str:
    blocks = [f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n" for i, c in enumerate(cues, 1)]
    return "\n".join(blocks)


def to_vtt(cues: list[Cue]) -> str:
    blocks = [f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{c.text.replace('-->', '->')}\n" for c in cues]
    return "WEBVTT\n\n" + "\n".join(blocks)


def _ass_time(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    hours, centis = divmod(centis, 360_000)
    minutes, centis = divmod(centis, 6000)
    secs, centis = divmod(centis, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{centis:02d}"


def _ass_escape(text: str) -> str:
    # Braces open override blocks and backslashes start commands in ASS: show them as
    # look-alike characters so no text can restyle or break the subtitle.
    return text.replace("\\", "＼").replace("{", "｛").replace("}", "｝").replace("\n", "\\N")


_CJK = re.compile(r"[\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]")


def to_ass(cues: list[Cue], *, width: int, height: int, font_name: str, latin_font_name: str = "") -> str:
    """ASS for libass. A cue with no CJK character is set in ``latin_font_name`` (when given),
    with the CJK face as its fallback; others in ``font_name``."""
    size = max(16, round(height * 0.052))
    margin = max(10, round(height * 0.06))
    outline = max(1, round(size / 14))

    def style(name: str, font: str) -> str:
        return (
            f"Style: {name},{font},{size},&H00FFFFFF,&H00FFFFFF,&H00101010,&H80000000,0,0,0,0,100,100,0,0,1,"
            f"{outline},0,2,{margin},{margin},{margin},1\n"
        )

    header = (
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 2\nScaledBorderAndShadow: yes\n"
        f"PlayResX: {width}\nPlayResY: {height}\n\n"
        "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding\n"
        + style("Default", font_name)
        + (style("Latin", latin_font_name) if latin_font_name else "")
        + "\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    events = [
        f"Dialogue: 0,{_ass_time(c.start)},{_ass_time(c.end)},"
        f"{'Latin' if latin_font_name and not _CJK.search(c.text) else 'Default'},,0,0,0,,{_ass_escape(c.text)}"
        for c in cues
    ]
    return header + "\n".join(events) + "\n"


def max_units_for(width: int, height: int) -> int:
    """How many width units (a Latin letter is 1, a CJK character 2) fit on a subtitle line."""
    size = max(16, round(height * 0.052))
    usable = width * 0.88
    return max(16, int(usable / (size * 0.5)))
