"""The film check and the sound track: real renders made to fail each check, the loudness of
every film measured on its output, and a sound track in pieces that a recompose replaces one at
a time and that decodes as one."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from inference import sound
from inference.compose import ShotInput, compose_film
from inference.filmcheck import drawable
from inference.image import draft_card
from inference.media import ffmpeg_log
from inference.sound import IN_A_FILM, LIMITER, TO_MIX, Loudness, clip_gains, parse_loudness
from inference.speech import espeak
from tests.factories import ProjectFactory

W, H = 320, 180
LINES = ["Night fell.", "The lamp glowed.", "Morning came."]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("check")


@pytest.fixture(scope="module")
def shots(folder: Path) -> list[ShotInput]:
    """Three shots a viewer has nothing to complain of: short lines, read slowly enough."""
    made = []
    for index, line in enumerate(LINES):
        image = draft_card(
            f"scene {index}", width=W, height=H, style="watercolor", seed=index, path=folder / f"{index}.png"
        )
        speech = espeak(line, language="en", path=folder / f"{index}.wav")
        made.append(
            ShotInput(
                image=Path(image.path),
                duration=speech.duration + 0.8,
                narration=line,
                audio=Path(speech.path),
                audio_duration=speech.duration,
                transition="dissolve",
            )
        )
    return made


def measure_loudness(path: Path) -> Loudness:
    """The output measured again, apart from the check: EBU R128 loudness, true peak and range of
    its sound, in stereo at 48 kHz as the mix hears it."""
    log = ffmpeg_log(["-i", str(path), "-vn", "-af", f"{TO_MIX},ebur128=peak=true:framelog=verbose", "-f", "null", "-"])
    return parse_loudness(log)


def compose(shots: list[ShotInput], root: Path, name: str, **options: Any) -> Any:
    return compose_film(shots, width=W, height=H, cache_dir=root / "cache", out_dir=root / name, **options)


def checks(film: Any) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for finding in film.check.findings:
        found.setdefault(finding.check, []).append(finding)
    return found


def test_a_sound_film_has_nothing_to_fix_and_its_loudness_is_on_target(
    shots: list[ShotInput], folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sound, "PEAKS_AT_ONCE", 2)  # its three narrations' true peaks in two ffmpegs
    film = compose(shots, folder, "clean")
    assert film.check.findings == [], [f.message for f in film.check.findings]
    measured = measure_loudness(film.video)  # the output itself, measured again
    assert measured.integrated is not None and abs(measured.integrated - -16.0) <= 1.0
    assert measured.true_peak is not None and measured.true_peak <= -1.5
    # The check heard the track that is copied into the film, before the join: the same sound.
    heard = film.check.loudness
    assert (heard["integrated"], heard["truePeak"], heard["range"]) == (
        measured.integrated,
        measured.true_peak,
        measured.range,
    )


@pytest.mark.parametrize("target", [-23.0, -14.0])
def test_every_film_is_brought_to_the_loudness_target_with_music_under_it(
    shots: list[ShotInput], folder: Path, target: float
) -> None:
    music = folder / "music.wav"
    if not music.exists():
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=2.5", str(music)], check=True
        )
    film = compose(shots, folder, f"music{target:g}", music=music, loudness=target)
    measured = measure_loudness(film.video)
    assert measured.integrated is not None and abs(measured.integrated - target) <= 1.0, measured
    assert measured.true_peak is not None and measured.true_peak <= -1.5
    assert "loudness" not in checks(film) and "peak" not in checks(film)
    assert (film.check.loudness["integrated"], film.check.loudness["truePeak"]) == (
        measured.integrated,
        measured.true_peak,
    )


def test_narrations_measured_together_get_the_gain_each_gets_alone_and_reach_the_target(
    shots: list[ShotInput], tmp_path: Path
) -> None:
    loud = tmp_path / "loud.wav"  # loud enough that the limiter takes some of its gain back
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(shots[0].audio), "-af", "volume=14dB", str(loud)], check=True)
    clips = [*(shot.audio for shot in shots if shot.audio), loud]

    def cache(name: str) -> Path:
        (tmp_path / name).mkdir(exist_ok=True)
        return tmp_path / name

    together = clip_gains(clips, target=-16.0, cache_dir=cache("together"))
    alone = [clip_gains([clip], target=-16.0, cache_dir=cache(f"alone{i}"))[0] for i, clip in enumerate(clips)]
    assert together == alone
    assert together[-1] < together[0] - 10  # the loud one is turned down, the others up
    for clip, gain in zip(clips, together, strict=True):
        chain = f"{TO_MIX},volume={gain:.2f}dB,{LIMITER},{IN_A_FILM},ebur128=framelog=verbose"
        heard = ffmpeg_log(["-i", str(clip), "-af", chain, "-f", "null", "-"])
        level = parse_loudness(heard).integrated
        assert level is not None and abs(level - -16.0) < 0.2, (clip.name, gain, level)
    assert len(list((tmp_path / "together").glob("gain-*.json"))) == len(clips)  # measured once per content
    assert clip_gains(clips[::-1], target=-16.0, cache_dir=cache("together")) == together[::-1]


def test_a_silent_stretch_is_found_in_the_shot_that_has_no_sound(shots: list[ShotInput], folder: Path) -> None:
    quiet = replace(shots[1], audio=None, audio_duration=0.0, narration="", duration=3.0)
    film = compose([shots[0], quiet, shots[2]], folder, "silent")
    (silence,) = checks(film)["silence"]
    assert silence.shot == 2 and silence.data["seconds"] >= 2.5
    assert "shot 2" in silence.action


def test_a_film_with_no_sound_at_all_is_said_to_be_silent(shots: list[ShotInput], folder: Path) -> None:
    silent = [replace(shot, audio=None, audio_duration=0.0, narration="") for shot in shots]
    film = compose(silent, folder, "mute")  # no narration, no music
    (loudness,) = checks(film)["loudness"]
    assert loudness.severity == "error" and film.check.loudness["integrated"] is None
    (silence,) = checks(film)["silence"]
    assert silence.data["seconds"] == pytest.approx(film.duration, abs=0.1)


def test_a_caption_of_sixty_characters_in_a_second_is_too_fast_to_read(shots: list[ShotInput], folder: Path) -> None:
    text = "The keeper climbed all the stairs of the old lighthouse at last"  # 63 characters
    speech = espeak("Stairs.", language="en", path=folder / "short.wav")
    fast = replace(shots[0], narration=text, audio=Path(speech.path), audio_duration=speech.duration)
    film = compose([fast, shots[1]], folder, "fast")
    (finding,) = checks(film)["reading_speed"]
    assert finding.shot == 1 and finding.data["speed"] > 17 and finding.data["limit"] == 17
    assert "Shorten the narration" in finding.action


def test_a_chinese_caption_is_held_to_chinese_reading_speed(shots: list[ShotInput], folder: Path) -> None:
    speech = espeak("好。", language="zh", path=folder / "zh.wav")
    text = "很久很久以前，月亮上住着一只白色的小兔子。"  # 20 characters in about a second
    fast = replace(shots[0], narration=text, audio=Path(speech.path), audio_duration=speech.duration)
    film = compose([fast], folder, "fast-zh")
    (finding,) = checks(film)["reading_speed"]
    assert finding.data["limit"] == 9 and finding.data["count"] >= 18


def test_a_character_the_caption_font_lacks_is_named(shots: list[ShotInput], folder: Path) -> None:
    odd = replace(shots[0], narration="Night fell 🦀 𓀀.")
    film = compose([odd, shots[1]], folder, "glyphs")
    (finding,) = checks(film)["glyphs"]
    assert finding.severity == "warning" and finding.shot == 1
    assert finding.data["characters"] == "🦀 𓀀"
    assert "left out of the burned-in captions" in finding.message
    # What is burned in: never an empty box (issue 26); the subtitle files keep every character.
    assert drawable("Night fell 🦀 𓀀.") == "Night fell."
    assert drawable("月亮 🌙 升起了。") == "月亮 升起了。"
    assert "🦀" in film.srt.read_text(encoding="utf-8")


def test_a_black_shot_is_found_where_it_plays(shots: list[ShotInput], folder: Path) -> None:
    black = folder / "black.png"
    Image.new("RGB", (W, H), (0, 0, 0)).save(black)
    film = compose([shots[0], replace(shots[1], image=black), shots[2]], folder, "black")
    (finding,) = checks(film)["black"]
    assert finding.shot == 2 and finding.severity == "error"
    assert finding.at == pytest.approx(film.placements[1].start / 24, abs=0.1)
    assert "Regenerate its picture" in finding.action


def test_a_narration_cut_off_by_its_shot_end_is_found(shots: list[ShotInput], folder: Path) -> None:
    short = replace(shots[2], duration=shots[2].audio_duration - 0.5)
    film = compose([shots[0], short], folder, "cut")
    (finding,) = checks(film)["cut_off"]
    assert finding.shot == 2 and finding.data["seconds"] == pytest.approx(0.5, abs=0.05)


def test_two_shots_with_the_same_picture_are_named(shots: list[ShotInput], folder: Path) -> None:
    film = compose([shots[0], shots[1], replace(shots[2], image=shots[0].image)], folder, "same")
    (finding,) = checks(film)["duplicate"]
    assert (finding.data["first"], finding.shot) == (1, 3)


def _audio_stream(film: Path) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(film), "-map", "0:a", "-c", "copy", "-f", "adts", "-"],
        capture_output=True,
        check=True,
    ).stdout


def test_a_recompose_encodes_the_sound_of_the_edited_shot_only_and_sounds_as_a_fresh_render(
    shots: list[ShotInput], tmp_path: Path
) -> None:
    four = [*shots, replace(shots[0], narration="Rain.", transition="cut")]
    first = compose(four, tmp_path, "a")
    assert first.encoded_sound == 4
    peaks = set((tmp_path / "cache").glob("peak-*.json"))  # each narration's true peak, measured once
    assert peaks
    speech = espeak("The lamp glowed all night long.", language="en", path=tmp_path / "new.wav")
    edited = list(four)
    edited[1] = replace(four[1], narration="The lamp glowed all night long.", audio=Path(speech.path),
                        audio_duration=speech.duration, duration=speech.duration + 0.8)  # fmt: skip
    again = compose(edited, tmp_path, "b")
    # the edited shot's piece alone: the shots after it moved, but without music a piece is the
    # same wherever it lies
    assert again.encoded_sound == 1
    assert len(set((tmp_path / "cache").glob("peak-*.json")) - peaks) == 1  # and its true peak alone
    fresh = compose(edited, tmp_path / "fresh", "c")
    assert _audio_stream(again.video) == _audio_stream(fresh.video)
    assert again.check.loudness == fresh.check.loudness
    assert again.check.loudness["truePeak"] == measure_loudness(again.video).true_peak
    assert "sync" not in checks(again)


def test_with_music_a_recompose_re_encodes_the_edited_stretch_only_and_sounds_as_a_fresh_render(
    shots: list[ShotInput], folder: Path, tmp_path: Path
) -> None:
    music = tmp_path / "music.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=1.7", str(music)], check=True
    )
    four = [*shots, replace(shots[0], narration="Rain.", transition="cut")]
    first = compose(four, tmp_path, "a", music=music)
    assert first.encoded_sound == 4  # with music, a piece per shot
    edited = list(four)  # another voice for shot 2, as long as the shot: nothing moves
    edited[1] = replace(four[1], audio=shots[2].audio, audio_duration=shots[2].audio_duration)
    again = compose(edited, tmp_path, "b", music=music)
    # shot 2's piece, and shot 1's: the context after its last frame (the limiter's look-ahead,
    # the codec's overlap) is the new voice's first
    assert again.encoded_sound == 2
    fresh = compose(edited, tmp_path / "fresh", "c", music=music)
    assert _audio_stream(again.video) == _audio_stream(fresh.video)


def test_the_check_is_kept_with_the_render_and_answered_by_the_api_and_the_preview_page(
    api: Any, rendered: Any, user: Any
) -> None:

    answer = api.get(f"/api/v1/projects/{rendered.id}/check")
    assert answer.status_code == 200, answer.content
    check = answer.json()
    assert check["renderHash"] == rendered.render_hash
    assert abs(check["loudness"]["integrated"] - -16.0) <= 1.0 and check["loudness"]["truePeak"] <= -1.5
    assert check["loudness"]["target"] == -16.0
    shot_ids = {str(i) for i in rendered.shots.values_list("id", flat=True)}
    for finding in check["findings"]:  # whatever it found names a shot of this project, and a fix
        assert finding["action"] and finding["severity"] in ("error", "warning")
        assert "shot" not in finding or finding["shotId"] in shot_ids
    assert check["errorCount"] == 0
    render = rendered.tasks.get(kind="compose")
    assert render.result["check"]["errorCount"] == 0 and "Checked at" in render.message

    blank = ProjectFactory(owner=user)
    refused = api.get(f"/api/v1/projects/{blank.id}/check")
    assert refused.status_code == 409 and "render it first" in refused.json()["error"]["message"]

    browser = Client()
    browser.force_login(rendered.owner)
    page = browser.get(f"/projects/{rendered.id}/preview/").content.decode()
    assert "Film check" in page and "LUFS" in page
    chinese = browser.get(f"/projects/{rendered.id}/preview/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "成片检查" in chinese and "响度" in chinese


def test_a_motion_clip_that_stands_still_is_found_but_a_still_meant_so_is_not(
    shots: list[ShotInput], folder: Path
) -> None:
    clip = folder / "stuck.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", str(shots[1].image), "-t", "4", "-r", "24",
         "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    stuck = replace(shots[1], motion=clip, duration=3.5)
    film = compose([shots[0], stuck], folder, "frozen")
    (finding,) = checks(film)["frozen"]
    assert finding.shot == 2 and finding.data["seconds"] >= 2.0
    held = replace(shots[1], camera="static", duration=3.5)  # no camera move, on purpose
    assert "frozen" not in checks(compose([shots[0], held], folder, "held"))


def test_a_caption_line_too_wide_for_the_frame_is_found(shots: list[ShotInput], folder: Path) -> None:
    long_word = "Supercalifragilisticexpialidocious-and-then-some-more-words-joined"
    film = compose([replace(shots[0], narration=long_word, duration=6.0)], folder, "wide")
    found = checks(film)
    assert found["line_length"][0].data["width"] == len(long_word)
    assert found["title_safe"][0].shot == 1


def test_sound_shorter_than_the_picture_and_a_sound_too_loud_are_found(folder: Path) -> None:
    from inference.filmcheck import CheckShot, sound_findings, sync_findings
    from inference.media import probe

    film = folder / "mismatch.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=160x90:r=24:d=3", "-f", "lavfi",
         "-i", "sine=frequency=440:duration=2,volume=8", "-c:v", "libx264", "-c:a", "aac", str(film)],
        check=True,
    )  # fmt: skip
    (sync,) = sync_findings(probe(film), fps=24)
    assert sync.check == "sync" and sync.data["picture"] == pytest.approx(3.0, abs=0.05)
    shot = CheckShot(start=0, core=3, image=folder / "0.png", audio_seconds=2, still=False, segment=folder)
    loudness, found = sound_findings(film, [shot], target=-16.0, silence_seconds=2.0)
    assert loudness["truePeak"] is not None and loudness["truePeak"] > -1.5
    assert {f.check for f in found} >= {"peak", "loudness"}


def test_a_fonts_character_map_is_read_once_and_kept_as_it_is() -> None:
    from fontTools.ttLib import TTFont

    from inference.filmcheck import _character_map
    from inference.fonts import cjk_font_path

    path = cjk_font_path()
    assert path is not None
    font = TTFont(str(path), fontNumber=0, lazy=True)
    expected = sorted(font.getBestCmap())
    font.close()
    kept = list(Path(tempfile.gettempdir()).glob("storyvideo-cmap-*"))
    for stale in kept:  # read from the font, then from what was kept
        stale.unlink(missing_ok=True)
    assert _character_map(path) == expected
    assert list(Path(tempfile.gettempdir()).glob("storyvideo-cmap-*"))
    assert _character_map(path) == expected and ord("灯") in expected
