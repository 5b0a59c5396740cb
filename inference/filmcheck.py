"""The film check: what a viewer would trip on, found before the film is delivered.

It reads what was rendered (the film's sound once, by ffmpeg's ``ebur128`` and
``silencedetect``, from the track that is copied into the film, as soon as it is made; without
music its true peak region by region, each narration's once: ``sound.true_peak``); each
shot's picture once, when its segment is encoded, by ``blackdetect`` and ``freezedetect``, kept
with the segment) and the timeline's own data (captions, narration lengths, keyframes). Each
finding names the shot, what is wrong and what fixes it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inference.fonts import cjk_font_path, latin_font_path
from inference.media import Probe, ffmpeg_log
from inference.sound import TRUE_PEAK_DBTP, parse_loudness
from inference.subtitles import Cue, text_width

# Reading speed, in characters a second, above which a caption is too fast to read.
READING_SPEED = {"en": 17.0, "zh": 9.0}
LOUDNESS_TOLERANCE_LU = 1.0
DUPLICATE_BITS = 26  # of a 256-bit difference hash: pictures this close are the same picture
BLACK_SECONDS = 0.5
FREEZE_SECONDS = 2.0
TITLE_SAFE = 0.05  # the margin of the title-safe area, a share of each side (EBU R 95: 90 %)
MATCH_DRIFT = 0.05  # of CLIP's cosine: a picture this far below the others' match is named
MATCH_NAMED = 3  # the weakest matches named at most


def gettext_noop(text: str) -> str:
    """Marks a sentence for the translators (``make messages`` collects it); the pages show it
    in the reader's language, filled with the finding's ``data``."""
    return text


@dataclass(frozen=True)
class Finding:
    # loudness, peak, silence, cut_off, reading_speed, line_length, title_safe, glyphs, black, frozen,
    # duplicate, match, sync
    check: str
    severity: str  # "error": the film is wrong there; "warning": it may trouble a viewer
    says: str  # what is wrong: a sentence with %(name)s of ``data``
    does: str  # what fixes it, the same
    data: dict[str, Any] = field(default_factory=dict)
    shot: int | None = None  # 1-based; None for the whole film
    at: float | None = None  # seconds into the film

    @property
    def message(self) -> str:
        return self.says % self.data

    @property
    def action(self) -> str:
        return self.does % self.data

    def as_dict(self) -> dict[str, Any]:
        found = {k: v for k, v in asdict(self).items() if v is not None}
        return {**found, "message": self.message, "action": self.action}


Heard = tuple[dict[str, float | None], list[Finding]]  # what the sound check found: loudness, findings


@dataclass(frozen=True)
class ShotTime:
    """Where a shot plays in the film and how long its narration is: what the sound check needs."""

    start: float  # seconds: where its core begins in the film
    core: float  # seconds of its own
    audio_seconds: float  # 0 without narration


@dataclass(frozen=True)
class CheckShot(ShotTime):
    """What the check knows of one shot."""

    image: Path
    still: bool  # a keyframe held with no camera move and no motion clip: frozen by design
    segment: Path  # its segment folder (the picture findings are kept there)


# ---------------------------------------------------------------- pictures (per segment)


# What the film check's eyes make of a segment's core frames, as they are rendered (a branch of
# the segment's own filter graph: frames ``first`` to ``end``, shrunk, never encoded).
LOOK = (
    "trim=start_frame={first}:end_frame={end},setpts=PTS-STARTPTS,scale=320:-2,"
    f"blackdetect=d={BLACK_SECONDS}:pix_th=0.10,freezedetect=n=-60dB:d={FREEZE_SECONDS},nullsink"
)


def picture_record(log: str, *, image: Path) -> dict[str, Any]:
    """What a segment's render logged through LOOK, and its keyframe's difference hash: kept in
    the segment's folder (``check.json``), so a shot is looked at once, when it is rendered."""
    return {
        "black": [[float(a), float(b)] for a, b in re.findall(r"black_start:([\d.]+) black_end:([\d.]+)", log)],
        "frozen": _freezes(log),
        "hash": f"{difference_hash(image):064x}",
    }


def segment_picture(folder: Path) -> dict[str, Any]:
    """What the check saw of a segment when it was rendered."""
    data: dict[str, Any] = json.loads((folder / "check.json").read_text())
    return data


def _freezes(log: str) -> list[list[float]]:
    """Frozen stretches from freezedetect's log (an end of -1: frozen to the end)."""
    starts = [float(x) for x in re.findall(r"freeze_start: ([\d.]+)", log)]
    ends = [float(x) for x in re.findall(r"freeze_end: ([\d.]+)", log)]
    return [[a, ends[i] if i < len(ends) else -1.0] for i, a in enumerate(starts)]


def picture_findings(shots: list[CheckShot]) -> list[Finding]:
    found, hashes = [], []
    for number, shot in enumerate(shots, 1):
        measured = segment_picture(shot.segment)
        for start, end in measured["black"]:
            found.append(
                Finding(
                    "black",
                    "error",
                    gettext_noop("Shot %(shot)s is black for %(seconds).1f s."),
                    gettext_noop("Regenerate its picture (or its motion clip)."),
                    {"shot": number, "seconds": end - start},
                    shot=number,
                    at=round(shot.start + start, 2),
                )
            )
        if not shot.still:
            for start, end in measured["frozen"]:
                length = (shot.core if end < 0 else end) - start
                found.append(
                    Finding(
                        "frozen",
                        "warning",
                        gettext_noop("Shot %(shot)s's picture stands still for %(seconds).1f s."),
                        gettext_noop("Give it a camera move, or regenerate its motion clip."),
                        {"shot": number, "seconds": length},
                        shot=number,
                        at=round(shot.start + start, 2),
                    )
                )
        hashes.append(int(measured["hash"], 16))
    return found + duplicate_findings(hashes)


def difference_hash(path: Path, size: int = 16) -> int:
    """A 256-bit difference hash: which of each two neighbouring pixels of the picture, shrunk
    to 17x16 in grey, is brighter."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        small = np.asarray(image.convert("L").resize((size + 1, size), Image.Resampling.LANCZOS), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def duplicate_findings(hashes: list[int]) -> list[Finding]:
    found = []
    for i in range(len(hashes)):
        for j in range(i + 1, len(hashes)):
            if (hashes[i] ^ hashes[j]).bit_count() <= DUPLICATE_BITS:
                found.append(
                    Finding(
                        "duplicate",
                        "warning",
                        gettext_noop("Shots %(first)s and %(shot)s have nearly the same picture."),
                        gettext_noop("Regenerate the picture of shot %(shot)s, or rewrite its prompt."),
                        {"first": i + 1, "shot": j + 1},
                        shot=j + 1,
                    )
                )
    return found


def match_findings(scores: list[tuple[int, float]]) -> list[Finding]:
    """The shots whose picture matches its words (CLIP: ``likeness.clip_match``) least: at most
    MATCH_NAMED, each MATCH_DRIFT or more below the mean of the other shots' scores (CLIP's scores
    are comparable within a model, not across models: the film is its own yardstick).
    ``scores``: (shot number, score) of each shot scored."""
    if len(scores) < 3:  # two shots: neither is the odd one out
        return []
    total = sum(score for _, score in scores)
    weak = []
    for number, score in scores:
        others = (total - score) / (len(scores) - 1)
        if score <= others - MATCH_DRIFT:
            weak.append((score - others, number, score, others))
    return [
        Finding(
            "match",
            "warning",
            gettext_noop(
                "Shot %(shot)s's picture matches its words less than the others do (%(score).2f against %(others).2f)."
            ),
            gettext_noop("Regenerate its picture, or rewrite its prompt to show what the narration says."),
            {"shot": number, "score": round(score, 3), "others": round(others, 3)},
            shot=number,
        )
        for _, number, score, others in sorted(weak)[:MATCH_NAMED]
    ]


# ---------------------------------------------------------------- sound (the film's, once)


def sound_findings(
    sound: Path,
    shots: Sequence[ShotTime],
    *,
    target: float,
    silence_seconds: float,
    samples: tuple[int, int] | None = None,
    peak: Callable[[], float | None] | None = None,
) -> Heard:
    """Loudness, true peak and silent stretches of the film's sound track as rendered: the film
    itself, or the track that is copied into it as it is (``samples``: the first and the end
    sample of the film's sound in it, past the encoder's priming). ``peak``, where given,
    measures the true peak instead of this pass (``sound.true_peak``: only what an edit changed)."""
    window = f"atrim=start_sample={samples[0]}:end_sample={samples[1]},asetpts=PTS-STARTPTS," if samples else ""
    meter = "ebur128=framelog=verbose" if peak else "ebur128=peak=true:framelog=verbose"
    log = ffmpeg_log(
        [
            "-i",
            str(sound),
            "-vn",
            "-af",
            f"{window}{meter},silencedetect=n=-50dB:d={silence_seconds}",
            "-f",
            "null",
            "-",
        ]
    )
    measured = parse_loudness(log)
    true_peak = peak() if peak else measured.true_peak
    loudness = {"integrated": measured.integrated, "truePeak": true_peak, "range": measured.range}
    found = []
    if measured.integrated is None:
        found.append(
            Finding("loudness", "error", gettext_noop("The film is silent."), gettext_noop("Add narration or music."))
        )
    elif abs(measured.integrated - target) > LOUDNESS_TOLERANCE_LU:
        found.append(
            Finding(
                "loudness",
                "warning",
                gettext_noop("The film's loudness is %(measured).1f LUFS, not the %(target)g LUFS aimed at."),
                gettext_noop("Render it again; if it stays, check the music's volume."),
                {"measured": measured.integrated, "target": target},
            )
        )
    if true_peak is not None and true_peak > TRUE_PEAK_DBTP + 0.05:
        found.append(
            Finding(
                "peak",
                "warning",
                gettext_noop("The sound peaks at %(peak).1f dBTP, above %(limit)g dBTP: it may clip."),
                gettext_noop("Lower the music's volume and render again."),
                {"peak": true_peak, "limit": TRUE_PEAK_DBTP},
            )
        )
    starts = [float(x) for x in re.findall(r"silence_start: (-?[\d.e-]+)", log)]
    ends = [float(x) for x in re.findall(r"silence_end: ([\d.]+)", log)]
    length = sum(s.core for s in shots)
    for i, start in enumerate(starts):
        start = max(0.0, start)
        end = ends[i] if i < len(ends) else length
        number = _shot_most_in(shots, start, end)
        found.append(
            Finding(
                "silence",
                "warning",
                gettext_noop("Nothing is heard for %(seconds).1f s from %(clock)s."),
                gettext_noop("Give shot %(shot)s narration, or add music."),
                {"seconds": end - start, "clock": _clock(start), "shot": number},
                shot=number,
                at=round(start, 2),
            )
        )
    for number, shot in enumerate(shots, 1):
        over = shot.audio_seconds - shot.core
        if over > 0.05:
            found.append(
                Finding(
                    "cut_off",
                    "error",
                    gettext_noop("Shot %(shot)s's narration runs %(seconds).1f s past the shot's end and is cut off."),
                    gettext_noop("Shorten the narration, or make the shot longer."),
                    {"shot": number, "seconds": over},
                    shot=number,
                    at=round(shot.start + shot.core, 2),
                )
            )
    return loudness, found


def _shot_at(shots: Sequence[ShotTime], seconds: float) -> int | None:
    """The number of the shot playing ``seconds`` into the film."""
    for number, shot in reversed(list(enumerate(shots, 1))):
        if shot.start <= seconds:
            return number
    return None


def _shot_most_in(shots: Sequence[ShotTime], start: float, end: float) -> int:
    """The number of the shot whose own time holds most of ``start`` to ``end``."""
    overlap = [min(end, s.start + s.core) - max(start, s.start) for s in shots]
    return overlap.index(max(overlap)) + 1


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


# ---------------------------------------------------------------- captions (the timeline's data)


@functools.cache
def _font_characters() -> frozenset[int]:
    """Every character the caption fonts can draw (their character maps, read with fontTools
    once per font file: kept beside the system's temporary files as ranges, since reading a CJK
    font's map takes a fresh process about 0.15 s of CPU, more than the rest of a recompose's
    Python)."""
    characters: set[int] = set()
    for path in (cjk_font_path(), latin_font_path()):
        if path is not None:
            characters.update(_character_map(path))
    return frozenset(characters)


def _character_map(path: Path) -> list[int]:
    found = path.stat()
    kept = Path(tempfile.gettempdir()) / (
        "storyvideo-cmap-" + hashlib.sha256(f"{path}:{found.st_size}:{found.st_mtime_ns}".encode()).hexdigest()[:24]
    )
    try:
        return [c for start, end in json.loads(kept.read_text()) for c in range(start, end + 1)]
    except (OSError, ValueError):
        pass
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), fontNumber=0, lazy=True) if path.suffix == ".ttc" else TTFont(str(path), lazy=True)
    codes = sorted(font.getBestCmap() or {})
    font.close()
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    staging = kept.with_name(f"{kept.name}.{os.getpid()}.tmp")
    try:
        staging.write_text(json.dumps(ranges))
        os.replace(staging, kept)
    except OSError:
        staging.unlink(missing_ok=True)  # a read-only temporary folder: read the font each time
    return codes


def drawable(text: str) -> str:
    """``text`` without the characters no caption font has (an emoji, a hieroglyph), as burned-in
    captions show it: never an empty box. The space a left-out character leaves is closed up."""
    missing = set(missing_glyphs(text))
    if not missing:
        return text
    kept = "".join(c for c in text if c not in missing)
    return re.sub(r"\s+([.,;:!?。，；：！？、])", r"\1", re.sub(r"[ \t]{2,}", " ", kept)).strip()


def missing_glyphs(text: str) -> list[str]:
    """The characters of ``text`` that no caption font has (spaces and controls aside)."""
    drawable = _font_characters()
    return list(
        dict.fromkeys(
            c for c in text if not c.isspace() and unicodedata.category(c)[0] != "C" and ord(c) not in drawable
        )
    )


def _is_chinese(line: str) -> bool:
    wide = sum(1 for c in line if unicodedata.east_asian_width(c) in ("W", "F"))
    return wide * 2 >= len(line.strip())


def caption_findings(
    cues: list[Cue], shots: list[CheckShot], *, width: int, height: int, max_units: int
) -> list[Finding]:
    found = []
    size = max(16, round(height * 0.052))  # as inference.subtitles.to_ass sets them
    margin = max(10, round(height * 0.06))
    safe_units = width * (1 - 2 * TITLE_SAFE) / (size * 0.5)
    for cue in cues:
        number = _shot_at(shots, cue.start + 1e-3) or 1
        lines = [line for line in cue.text.split("\n") if line.strip()]
        seconds = max(cue.end - cue.start, 1e-3)
        for language in ("zh", "en"):
            text = "".join(line for line in lines if _is_chinese(line) == (language == "zh"))
            counted = len(re.sub(r"\s+", "", text)) if language == "zh" else len(" ".join(text.split()))
            if counted and counted / seconds > READING_SPEED[language]:
                found.append(
                    Finding(
                        "reading_speed",
                        "warning",
                        gettext_noop(
                            "Shot %(shot)s's caption “%(text)s” shows %(count)s characters in %(seconds).1f s "
                            "(%(speed).1f a second; at most %(limit)g can be read)."
                        ),
                        gettext_noop("Shorten the narration, or make the shot longer."),
                        {
                            "shot": number,
                            "text": _short(cue.text),
                            "count": counted,
                            "seconds": seconds,
                            "speed": counted / seconds,
                            "limit": READING_SPEED[language],
                        },
                        shot=number,
                        at=round(cue.start, 2),
                    )
                )
        widest = max((text_width(line) for line in lines), default=0)
        if widest > max_units:
            found.append(
                Finding(
                    "line_length",
                    "warning",
                    gettext_noop("A line of shot %(shot)s's caption “%(text)s” is %(width)s wide (at most %(limit)s)."),
                    gettext_noop("Break the long word, or shorten the narration."),
                    {"shot": number, "text": _short(cue.text), "width": widest, "limit": max_units},
                    shot=number,
                    at=round(cue.start, 2),
                )
            )
        top = height - margin - len(lines) * size * 1.25
        if widest > safe_units or top < height * TITLE_SAFE:
            found.append(
                Finding(
                    "title_safe",
                    "warning",
                    gettext_noop("Shot %(shot)s's caption “%(text)s” reaches outside the title-safe area."),
                    gettext_noop("Shorten the narration or its words."),
                    {"shot": number, "text": _short(cue.text)},
                    shot=number,
                    at=round(cue.start, 2),
                )
            )
        missing = missing_glyphs(cue.text)
        if missing:
            found.append(
                Finding(
                    "glyphs",
                    "warning",
                    gettext_noop(
                        "The caption font cannot draw %(characters)s in shot %(shot)s's caption: they are left "
                        "out of the burned-in captions (the subtitle files keep them)."
                    ),
                    gettext_noop("Replace those characters in the narration with words if they matter."),
                    {"shot": number, "characters": " ".join(missing)},
                    shot=number,
                    at=round(cue.start, 2),
                )
            )
    return found


def _short(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ---------------------------------------------------------------- the whole


def sync_findings(found: Probe, *, fps: int) -> list[Finding]:
    problems = []
    if abs(found.video_duration - found.audio_duration) > 1 / fps:
        problems.append(
            Finding(
                "sync",
                "error",
                gettext_noop("The picture lasts %(picture).3f s and the sound %(sound).3f s."),
                gettext_noop("Render the film again."),
                {"picture": found.video_duration, "sound": found.audio_duration},
            )
        )
    if abs(found.video_start - found.audio_start) > 0.5 / fps:
        problems.append(
            Finding(
                "sync",
                "error",
                gettext_noop("The sound starts %(offset)+.3f s from the picture: they drift apart."),
                gettext_noop("Render the film again."),
                {"offset": found.audio_start - found.video_start},
            )
        )
    return problems


def finding_order(severity: str, shot: int | None, at: float | None) -> tuple[bool, int, float]:
    """The order a check lists its findings in: errors first, then by shot and time."""
    return severity != "error", shot or 0, at or 0.0


@dataclass
class FilmCheck:
    loudness: dict[str, float | None]
    findings: list[Finding]

    def as_dict(self) -> dict[str, Any]:
        return {
            "loudness": self.loudness,
            "errorCount": sum(1 for f in self.findings if f.severity == "error"),
            "warningCount": sum(1 for f in self.findings if f.severity == "warning"),
            "findings": [f.as_dict() for f in self.findings],
        }


def check_film(
    found: Probe,
    heard: Heard,
    shots: list[CheckShot],
    cues: list[Cue],
    *,
    width: int,
    height: int,
    max_units: int,
    fps: int,
    target: float,
) -> FilmCheck:
    """``found``: the film's probe, already read; ``heard``: what ``sound_findings`` found in its
    sound."""
    loudness, sound = heard
    loudness = {**loudness, "target": target}
    findings = [
        *sync_findings(found, fps=fps),
        *sound,
        *caption_findings(cues, shots, width=width, height=height, max_units=max_units),
        *picture_findings(shots),
    ]
    findings.sort(key=lambda f: finding_order(f.severity, f.shot, f.at))
    return FilmCheck(loudness=loudness, findings=findings)
