"""A voice for a character, read from what is written of it (its personality, age, looks and
description): whether it is a woman or a man, old or a child, and its manner (deep and gruff, or
bright), then the installed voice that fits: a piper voice of the language whose speaker fits
(piper voices speak in one voice each, of a grown-up), else one of espeak-ng's variants of the
language's voice (their pitch, age and gender are written in espeak-ng's variant files)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inference.speech import DEFAULT_ESPEAK_VOICES, voice_language

# Words that say who speaks; English as whole words, Chinese as characters within the text.
_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "female": (
        (
            "she",
            "her",
            "hers",
            "woman",
            "women",
            "girl",
            "lady",
            "mother",
            "mum",
            "mom",
            "grandmother",
            "granny",
            "queen",
            "princess",
            "daughter",
            "sister",
            "aunt",
            "wife",
            "widow",
            "witch",
            "maiden",
            "nun",
            "female",
        ),
        ("她", "女", "母", "妈", "娘", "姐", "妹", "婆", "奶奶", "姑", "婶", "公主", "皇后", "妻"),
    ),
    "male": (
        (
            "he",
            "him",
            "his",
            "man",
            "men",
            "boy",
            "gentleman",
            "father",
            "dad",
            "grandfather",
            "grandpa",
            "king",
            "prince",
            "son",
            "brother",
            "uncle",
            "husband",
            "widower",
            "wizard",
            "monk",
            "male",
        ),
        ("男", "父", "爸", "爷", "哥", "弟", "叔", "伯", "公子", "王子", "皇帝", "国王", "僧"),  # not 他: 其他
    ),
    "old": (
        (
            "old",
            "elderly",
            "aged",
            "ancient",
            "grey-haired",
            "gray-haired",
            "white-haired",
            "wrinkled",
            "retired",
            "grandmother",
            "grandfather",
            "granny",
            "grandpa",
            "sixties",
            "seventies",
            "eighties",
            "nineties",
            "frail",
        ),
        (
            "老人",
            "老太",
            "老头",
            "老妇",
            "老者",
            "苍老",
            "年迈",
            "白发",
            "爷爷",
            "奶奶",
            "外婆",
            "婆婆",
            "六十",
            "七十",
            "八十",
            "九十",
        ),  # not 老 alone: 老师, 老板
    ),
    "child": (
        ("child", "children", "kid", "boy", "girl", "baby", "toddler"),
        ("孩", "童", "娃", "小男孩", "小女孩", "幼"),
    ),
    "deep": (
        ("gruff", "stern", "deep", "booming", "grim", "gravelly", "brooding", "harsh", "gloomy", "solemn"),
        ("粗", "低沉", "严厉", "沙哑", "威严", "阴沉"),
    ),
    "bright": (
        ("cheerful", "lively", "bright", "bubbly", "playful", "merry", "excitable", "sunny", "chirpy"),
        ("开朗", "活泼", "欢快", "调皮", "爽朗"),
    ),
}
# Piper voices whose speaker is known (rhasspy/piper-voices' model cards).
PIPER_SPEAKERS = {
    "en_US-joe": "male", "en_US-ryan": "male", "en_US-john": "male", "en_US-danny": "male", "en_GB-alan": "male",
    "en_GB-northern_english_male": "male", "en_US-amy": "female", "en_US-lessac": "female",
    "en_US-kristin": "female", "en_US-kathleen": "female", "en_GB-jenny_dioco": "female",
    "en_GB-southern_english_female": "female", "zh_CN-huayan": "female",
}  # fmt: skip
# espeak-ng's variants (voices/!v): male3 80-122 Hz, male4 70-110, male7 75-125, male1 a man of
# 70; female2 142-220, female3 140-240, female4 142-200, female1 a woman of 70, female5 160-228.
VARIANTS = {
    ("male", "", ""): "m3", ("male", "", "deep"): "m4", ("male", "", "bright"): "m7", ("male", "old", ""): "m1",
    ("female", "", ""): "f2", ("female", "", "deep"): "f4", ("female", "", "bright"): "f3", ("female", "old", ""): "f1",
    ("", "old", ""): "croak", ("", "child", ""): "f5",
}  # fmt: skip


@dataclass(frozen=True)
class Casting:
    voice: str  # a voice spec
    gender: str  # female, male or "" (not said)
    age: str  # old, child or ""
    manner: str  # deep, bright or ""


def _found(text: str, trait: str) -> int:
    english, chinese = _WORDS[trait]
    words = re.findall(r"[a-z]+(?:-[a-z]+)?", text.lower())
    return sum(word in english for word in words) + sum(text.count(mark) for mark in chinese)


def traits(text: str) -> tuple[str, str, str]:
    """(gender, age, manner) that the text says, "" where it says none (or both as much)."""

    def stronger(first: str, second: str) -> str:
        a, b = _found(text, first), _found(text, second)
        return first if a > b else second if b > a else ""

    age = stronger("old", "child")
    return stronger("female", "male"), age, stronger("deep", "bright") if age == "" else ""


def espeak_variants() -> list[str]:
    """The espeak-ng voices a casting may give: each language's voice in each variant used."""
    return sorted(
        {f"espeak:{base}+{variant}" for base in DEFAULT_ESPEAK_VOICES.values() for variant in VARIANTS.values()}
    )


def cast_voice(text: str, *, language: str, installed: list[str], narrator: str) -> Casting | None:
    """The voice for a character written of as ``text`` in a film in ``language``: a piper voice
    of the language (not the narrator's) whose speaker fits a grown-up of its gender, else an
    espeak-ng variant of the language's voice; None where the text says nothing of a voice."""
    gender, age, manner = traits(text)
    if not gender and not age:
        return None
    if gender and not age:
        fitting = [
            voice
            for voice in installed
            if voice.startswith("piper:")
            and voice != narrator
            and voice_language(voice) == language
            and PIPER_SPEAKERS.get(voice.removeprefix("piper:").rsplit("-", 1)[0]) == gender
        ]
        if fitting:
            return Casting(fitting[0], gender, age, manner)
    variant = VARIANTS.get((gender, age, manner)) or VARIANTS.get((gender, age, "")) or VARIANTS[("", age, "")]
    return Casting(f"espeak:{DEFAULT_ESPEAK_VOICES[language]}+{variant}", gender, age, manner)
