"""A voice for a character from what is written of it (issue 29, part 3: "personality guides …
the narration voice choice"): a woman or a man, old or a child, deep or bright, read from its
personality, age, looks and description in English or Chinese, then the installed voice that
fits; the API suggests it and one PATCH gives it."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from inference.casting import cast_voice, traits
from tests.factories import ProjectFactory

EN, ZH = "espeak:en-us", "espeak:cmn-latn-pinyin"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("gruff, kind to strays; in her sixties", ("female", "old", "")),
        ("a stern old fisherman, he never smiles", ("male", "old", "")),
        ("a cheerful young woman who sings at work", ("female", "", "bright")),
        ("a brooding, gravelly-voiced man", ("male", "", "deep")),
        ("a boy of eight who asks too many questions", ("male", "child", "")),
        ("shy and clever", ("", "", "")),  # nothing of a voice
        ("一位严厉的老爷爷，白发苍苍", ("male", "old", "")),
        ("活泼开朗的小女孩", ("female", "child", "")),
        ("她沉默寡言，心地善良", ("female", "", "")),
        ("其他人都怕他", ("", "", "")),  # 其他 is not a man
        ("他的老师很和善", ("", "", "")),  # nor 老师 old
    ],
)
def test_what_is_written_of_a_character_says_its_voice(text: str, said: tuple[str, str, str]) -> None:
    assert traits(text) == said


def test_the_voice_is_a_fitting_piper_voice_else_an_espeak_variant_never_the_narrators() -> None:
    installed = ["piper:en_US-joe-medium", "piper:en_US-amy-medium", "piper:zh_CN-huayan-medium", EN, ZH]
    joe = "piper:en_US-joe-medium"

    def voice(text: str, language: str = "en", narrator: str = joe) -> str | None:
        casting = cast_voice(text, language=language, installed=installed, narrator=narrator)
        return casting.voice if casting else None

    assert voice("a kind woman") == "piper:en_US-amy-medium"  # a woman's piper voice is here
    assert voice("a kind man") == f"{EN}+m3"  # the only man's piper voice narrates
    assert voice("a kind man", narrator="piper:en_US-amy-medium") == joe
    assert voice("a gruff man") == f"{EN}+m4"  # deeper
    assert voice("an old woman") == f"{EN}+f1"  # piper voices are grown-ups: age takes a variant
    assert voice("a little girl, a child") == f"{EN}+f5"
    assert voice("an ancient being") == f"{EN}+croak"
    assert voice("shy and clever") is None
    assert voice("温柔的母亲", "zh", narrator="piper:zh_CN-huayan-medium") == f"{ZH}+f2"
    assert voice("温柔的母亲", "zh", narrator=ZH) == "piper:zh_CN-huayan-medium"
    assert voice("威严的国王", "zh") == f"{ZH}+m4"


@pytest.mark.django_db
def test_the_api_suggests_the_voice_and_one_patch_gives_it(api: APIClient, user: Any) -> None:
    project = ProjectFactory(owner=user)
    made = api.post(
        f"/api/v1/projects/{project.id}/characters",
        {"name": "Ada", "age": "in her sixties", "personality": "gruff, kind to strays"},
        format="json",
    )
    assert made.status_code == 201
    suggested = made.json()["suggestedVoice"]
    assert suggested == {"voice": f"{EN}+f1", "gender": "female", "age": "old", "manner": ""}
    assert suggested["voice"] in api.get("/api/v1/voices").json()["voices"]
    given = api.patch(f"/api/v1/characters/{made.json()['id']}", {"voice": suggested["voice"]}, format="json")
    assert given.status_code == 200 and given.json()["voice"] == f"{EN}+f1"
    assert given.json()["suggestedVoice"] is None  # it has it
    plain = api.post(f"/api/v1/projects/{project.id}/characters", {"name": "Bo", "personality": "shy"}, format="json")
    assert plain.json()["suggestedVoice"] is None
    chinese = ProjectFactory(owner=user, language="zh")
    made = api.post(
        f"/api/v1/projects/{chinese.id}/characters", {"name": "爷爷", "personality": "严厉的老爷爷"}, format="json"
    )
    assert made.json()["suggestedVoice"]["voice"] == f"{ZH}+m1"
    wrong = api.patch(f"/api/v1/characters/{made.json()['id']}", {"voice": f"{EN}+f1"}, format="json")
    assert wrong.status_code == 400 and "voice" in wrong.json()["error"]["fields"]  # not its language's


def _pitch(path: str) -> float:
    """The median fundamental frequency (Hz) of a WAV's voiced 40 ms frames, by autocorrelation."""
    import wave

    import numpy as np

    with wave.open(path, "rb") as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).astype(float)
    size, found = int(0.04 * rate), []
    for start in range(0, len(samples) - size, size):
        frame = samples[start : start + size] - samples[start : start + size].mean()
        if np.abs(frame).max() < 2000:
            continue
        correlation = np.correlate(frame, frame, "full")[size - 1 :]
        low, high = rate // 400, rate // 60
        lag = low + int(np.argmax(correlation[low:high]))
        if correlation[lag] > 0.5 * correlation[0]:
            found.append(rate / lag)
    return float(np.median(found))


def test_the_cast_voices_are_spoken_by_espeak_in_their_pitch(tmp_path: Any) -> None:
    """The variants the casting gives are espeak-ng's own: a woman's voice speaks higher than a
    man's, an old man's lower than a woman's, through the speech engine as a shot's line is."""
    from inference import engines
    from inference.models import Runtime

    def spoken(voice: str) -> float:
        result = engines.speech(
            voice,
            "The keeper climbed the stairs to light the lamp.",
            language="en",
            path=tmp_path / f"{voice}.wav",
            runtime=Runtime(models_dir=tmp_path),
        )
        assert (result.backend, result.note) == ("espeak", "")
        return _pitch(result.path)

    man, woman, old_man = spoken(f"{EN}+m3"), spoken(f"{EN}+f2"), spoken(f"{EN}+m1")
    assert woman > 1.4 * man and woman > 1.4 * old_man
