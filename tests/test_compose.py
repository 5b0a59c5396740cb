"""Composition: the film, its subtitles, its timeline and bundle, probed with ffprobe."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from inference import compose
from inference.compose import FPS, TRANSITION_FRAMES, ShotInput, compose_film
from inference.image import draft_card
from inference.kenburns import PAN_ZOOM, ZOOM, zoompan_filter
from inference.media import ffmpeg_exe
from inference.render_cache import STAMP, Pruned, prune
from inference.speech import espeak
from inference.subtitles import Cue, text_width, to_ass, wrap
from inference.timeline import TimelineShot, build_timeline, write_timeline

W, H = 640, 360
EN = ["The keeper climbed the stairs.", "The lamp went out in the storm.", "The cat saved the boat."]
ZH = "很久很久以前，月亮上住着一只白色的小兔子，它每天都在桂花树下捣药。"


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type,codec_name,width,height,pix_fmt,display_aspect_ratio",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        check=True,
    ).stdout
    return json.loads(out)


def frame_at(video: Path, seconds: float) -> Any:
    from PIL import Image

    png = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-ss",
            f"{seconds:.3f}",
            "-i",
            str(video),
            "-frames:v",
            "1",
            "-f",
            "image2pipe",
            "-vcodec",
            "png",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return Image.open(io.BytesIO(png)).convert("L")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> list[ShotInput]:
    folder = tmp_path_factory.mktemp("shots")
    made = []
    for index, (text, camera, transition) in enumerate(
        zip(EN, ["zoom_in", "pan_left", "pan_up"], ["dissolve", "cut", "fade"], strict=True)
    ):
        image = draft_card(
            f"scene {index}", width=W, height=H, style="storybook", seed=index, path=folder / f"{index}.png"
        )
        speech = espeak(text, language="en", path=folder / f"{index}.wav")
        made.append(
            ShotInput(
                image=Path(image.path),
                duration=speech.duration + 0.6,
                camera=camera,
                transition=transition,
                narration=text,
                audio=Path(speech.path),
                audio_duration=speech.duration,
            )
        )
    return made


@pytest.fixture(scope="module")
def film(shots: list[ShotInput], tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("film")
    return compose_film(shots, width=W, height=H, cache_dir=root / "cache", out_dir=root / "out")


def test_the_film_has_picture_and_sound_at_the_right_size_and_length(shots: list[ShotInput], film: Any) -> None:
    info = ffprobe(film.video)
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(video) == 1 and len(audio) == 1
    assert (video[0]["codec_name"], video[0]["pix_fmt"], audio[0]["codec_name"]) == ("h264", "yuv420p", "aac")
    assert (video[0]["width"], video[0]["height"], video[0].get("display_aspect_ratio", "16:9")) == (W, H, "16:9")
    # Segments (each shot plus its transition handles) minus the overlaps = own times + transitions.
    segments = sum(p.head + p.core + p.tail for p in film.placements)
    overlaps = sum(p.head for p in film.placements)
    assert float(info["format"]["duration"]) == pytest.approx((segments - overlaps) / FPS, abs=1 / FPS)
    assert segments - overlaps == sum(round(s.duration * FPS) for s in shots) + 2 * TRANSITION_FRAMES
    data = film.video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "faststart: the index comes first"
    assert (
        subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(film.video), "-f", "null", "-"], capture_output=True, check=True
        ).stderr
        == b""
    )


def _onsets(path: Path) -> list[float]:
    """Where sound starts: at 0 unless the file opens with silence, then after each silence
    (ffmpeg's silencedetect)."""
    report = subprocess.run(
        ["ffmpeg", "-i", str(path), "-af", "silencedetect=noise=-45dB:d=0.3", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    starts = [float(x) for x in re.findall(r"silence_start: (-?[\d.e-]+)", report)]
    ends = [float(x) for x in re.findall(r"silence_end: ([\d.]+)", report)]
    opens_silent = bool(starts) and starts[0] <= 0.01
    return ends if opens_silent else [0.0, *ends]


def test_each_narration_starts_within_one_frame_of_its_shot(shots: list[ShotInput], film: Any) -> None:
    """Audio and picture stay in sync over the whole film: every shot's narration begins where
    its shot begins (plus the clip's own lead-in silence), to within one frame."""
    film_onsets = _onsets(film.video)
    for shot, place in zip(shots, film.placements, strict=True):
        assert shot.audio is not None
        lead = _onsets(shot.audio)[0]
        expected = place.start / FPS + lead
        nearest = min(film_onsets, key=lambda onset: abs(onset - expected))
        assert abs(nearest - expected) <= 1 / FPS, (place.index, nearest, expected)


def _srt_cues(text: str) -> list[tuple[float, float, str]]:
    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        start, end = (
            sum(float(x) * f for x, f in zip(re.split("[:,]", stamp)[:3], (3600, 60, 1), strict=True))
            + int(stamp[-3:]) / 1000
            for stamp in lines[1].split(" --> ")
        )
        cues.append((start, end, " ".join(lines[2:])))
    return cues


def test_subtitles_hold_every_line_in_order_inside_the_film_and_never_cross_a_transition(
    shots: list[ShotInput], film: Any
) -> None:
    cues = _srt_cues(film.srt.read_text(encoding="utf-8"))
    assert " ".join(text for *_, text in cues) == " ".join(s.narration for s in shots)
    starts = [start for start, _, _ in cues]
    assert starts == sorted(starts)
    assert all(0 <= start < end <= film.duration + 1e-3 for start, end, _ in cues)
    for start, end, _ in cues:
        assert any(p.start / FPS - 1e-3 <= start and end <= (p.start + p.core) / FPS + 1e-3 for p in film.placements)
    vtt = film.vtt.read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and vtt.count("-->") == len(cues)


def test_a_burned_in_chinese_subtitle_draws_text_where_the_cue_is(tmp_path: Path, shots: list[ShotInput]) -> None:
    speech = espeak(ZH, language="zh", path=tmp_path / "zh.wav")
    shot = replace(
        shots[0],
        narration=ZH,
        audio=Path(speech.path),
        audio_duration=speech.duration,
        duration=speech.duration + 0.6,
        camera="static",
        transition="cut",
    )
    burned = compose_film([shot], width=W, height=H, cache_dir=tmp_path / "c", out_dir=tmp_path / "a")
    plain = compose_film(
        [shot], width=W, height=H, cache_dir=tmp_path / "c", out_dir=tmp_path / "b", burn_subtitles=False
    )
    cue = burned.cues[0]
    at = (cue.start + cue.end) / 2
    with_text, without = frame_at(burned.video, at), frame_at(plain.video, at)
    from PIL import ImageChops

    difference = ImageChops.difference(with_text, without)
    bottom = difference.crop((0, int(H * 0.72), W, H))
    top = difference.crop((0, 0, W, int(H * 0.5)))
    changed = sum(1 for value in bottom.getdata() if value > 60)
    assert changed > 400, "the caption's glyphs are in the lower part of the frame"
    assert max(top.getdata()) < 40, "and nowhere else"


def test_recomposing_after_one_narration_changes_encodes_exactly_one_segment(
    tmp_path: Path, shots: list[ShotInput]
) -> None:
    first = compose_film(shots, width=W, height=H, cache_dir=tmp_path / "cache", out_dir=tmp_path / "out")
    assert first.encoded_segments == 3
    speech = espeak("A different line entirely.", language="en", path=tmp_path / "new.wav")
    edited = list(shots)
    edited[2] = replace(
        shots[2],
        narration="A different line entirely.",
        audio=Path(speech.path),
        audio_duration=speech.duration,
        duration=speech.duration + 0.6,
    )
    second = compose_film(edited, width=W, height=H, cache_dir=tmp_path / "cache", out_dir=tmp_path / "out")
    assert second.encoded_segments == 1
    assert second.encoded_transitions == 0  # shot 2 -> 3 is a cut; shot 1 -> 2 is unchanged
    assert second.digest != first.digest
    assert not list((tmp_path / "out").glob(".*")), "no temporary files are left behind"
    # The poster is the first shot's, the same frame as the film's, taken once and kept with its segment.
    from PIL import Image, ImageChops

    assert first.poster.read_bytes() == second.poster.read_bytes()
    at = first.placements[0].core / FPS / 2
    poster, frame = Image.open(first.poster).convert("L"), frame_at(first.video, at)
    assert poster.size == frame.size == (W, H)
    assert sum(ImageChops.difference(poster, frame).getdata()) / (W * H) < 3, "the film's frame, as a JPEG"
    assert frame_at(first.video, at + 1.5).tobytes() != poster.tobytes()  # a frame of a moving camera, not any


def test_the_render_cache_keeps_what_renders_used_last_and_makes_again_what_it_let_go(
    tmp_path: Path, shots: list[ShotInput]
) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    first = compose_film(shots, width=W, height=H, cache_dir=cache, out_dir=out)
    made = sorted(entry.name for entry in cache.iterdir())
    assert [name[:4] for name in made].count("seg-") == 3 and any(name.startswith("snd-") for name in made)
    stale = tmp_path / "stale"  # an entry no render has used for two days, larger than the rest
    stale.write_bytes(b"x" * 2_000_000)
    os.replace(stale, cache / "seg-stale")
    long_ago = time.time() - 2 * 86400
    for entry in cache.iterdir():
        os.utime(entry, (long_ago, long_ago))

    again = compose_film(shots, width=W, height=H, cache_dir=cache, out_dir=out)
    assert (again.encoded_segments, again.encoded_transitions, again.digest) == (0, 0, first.digest)
    pruned = prune(cache, max_bytes=0, keep_s=3600)
    assert pruned is not None and pruned.entries == 1 and pruned.freed == 2_000_000  # only the stale one
    assert sorted(entry.name for entry in cache.iterdir() if entry.name != STAMP) == made  # fonts: not an entry
    assert prune(cache, max_bytes=0, keep_s=0, every_s=3600) is None  # pruned a moment ago

    pruned = prune(cache, max_bytes=0, keep_s=0)
    assert pruned is not None and pruned.entries == len(made) - 1 and pruned.kept == 0
    assert sorted(entry.name for entry in cache.iterdir()) == [STAMP, "fonts"]
    remade = compose_film(shots, width=W, height=H, cache_dir=cache, out_dir=out)
    assert remade.encoded_segments == 3 and remade.digest == first.digest
    assert float(ffprobe(remade.video)["format"]["duration"]) == pytest.approx(first.duration, abs=1 / FPS)


def test_the_render_cache_goes_oldest_first_down_to_its_size(tmp_path: Path) -> None:
    now = time.time()
    for name, age, size in (("seg-a", 3 * 3600, 1000), ("tr-b.mp4", 2 * 3600, 1000), ("snd-c.aac", 60, 1000)):
        path = tmp_path / name
        if name.startswith("seg-"):
            path.mkdir()
            (path / "core.mp4").write_bytes(b"x" * (size - 400))
            (path / "check.json").write_bytes(b"x" * 400)
        else:
            path.write_bytes(b"x" * size)
        os.utime(path, (now - age, now - age))
    pruned = prune(tmp_path, max_bytes=1500, keep_s=600)
    # the two oldest go; the third, used a minute ago, stays though the cache is still over its size
    assert pruned == Pruned(entries=2, freed=2000, kept=1000)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == [STAMP, "snd-c.aac"]


def test_music_plays_under_the_narration(tmp_path: Path, shots: list[ShotInput]) -> None:
    music = tmp_path / "music.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=2", str(music)], check=True
    )
    silent = [replace(s, audio=None, audio_duration=0.0, narration="") for s in shots[:1]]
    with_music = compose_film(silent, width=W, height=H, cache_dir=tmp_path / "c", out_dir=tmp_path / "m", music=music)
    without = compose_film(silent, width=W, height=H, cache_dir=tmp_path / "c", out_dir=tmp_path / "n")

    def mean_volume(path: Path) -> float:
        report = subprocess.run(
            ["ffmpeg", "-i", str(path), "-af", "volumedetect", "-f", "null", "-"], capture_output=True, text=True
        ).stderr
        found = re.search(r"mean_volume: (-?[\d.]+|-inf) dB", report)
        assert found
        return float(found.group(1)) if found.group(1) != "-inf" else -200.0

    assert mean_volume(with_music.video) > -45  # looped for the whole film, not just its 2 s
    assert mean_volume(without.video) < -80

    quieter = compose_film(
        silent, width=W, height=H, cache_dir=tmp_path / "c", out_dir=tmp_path / "q", music=music, music_volume_db=-12
    )
    assert abs(mean_volume(with_music.video) - mean_volume(quieter.video) - 12) < 1.5, "the project's music level"


def test_the_timeline_is_written_as_otio_fcp_xml_and_edl_and_parses_back(
    tmp_path: Path, shots: list[ShotInput], film: Any
) -> None:
    import opentimelineio as otio

    entries = [
        TimelineShot(
            f"Shot {i + 1}",
            f"segments/shot-{i + 1:02d}.mp4",
            f"audio/shot-{i + 1:02d}.wav",
            s.audio_duration,
            s.transition,
        )
        for i, s in enumerate(shots)
    ]
    timeline = build_timeline("Lighthouse", entries, film.placements, music="music/bed.mp3", film_frames=film.frames)
    paths = write_timeline(timeline, tmp_path, "timeline")
    back = otio.adapters.read_from_file(str(paths["otio"]))
    assert [t.name for t in back.tracks] == ["Video", "Narration", "Music", "Subtitles"]
    assert back.duration().to_frames() == film.frames
    video = back.tracks[0]
    assert [c.name for c in video.find_clips()] == ["Shot 1", "Shot 2", "Shot 3"]
    assert len([item for item in video if isinstance(item, otio.schema.Transition)]) == 1
    subtitles = [c.metadata["text"] for c in back.tracks[3].find_clips()]
    assert subtitles == [c.text for c in film.cues]
    fcp = otio.adapters.read_from_file(str(paths["fcpxml"]), adapter_name="fcp_xml")
    assert len(list(fcp.video_tracks()[0].find_clips())) == 3
    edl = otio.adapters.read_from_file(str(paths["edl"]), adapter_name="cmx_3600", rate=FPS)
    assert [c.name for c in edl.video_tracks()[0].find_clips()] == ["Shot 1", "Shot 2", "Shot 3"]


def _camera_frames(camera: str, still: Path, frames: int, width: int, height: int) -> Any:
    """The frames ffmpeg renders for a camera move over ``still``, as an RGB array."""
    import numpy as np

    command = [
        ffmpeg_exe(),
        "-v",
        "error",
        "-loop",
        "1",
        "-i",
        str(still),
        "-vf",
        zoompan_filter(camera, frames, width, height, FPS),
        "-frames:v",
        str(frames),
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
    ]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(frames, height, width, 3).astype(float)


def _marks(frame: Any) -> tuple[float, float, float]:
    """Where the still's four dots are in a frame: their centre (x, y) and the left-right span."""
    import numpy as np

    ink = 255 - frame.mean(axis=2)
    ys, xs = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]]
    cx, cy = (ink * xs).sum() / ink.sum(), (ink * ys).sum() / ink.sum()
    across = np.abs(ys - cy) < np.abs(xs - cx)
    left, right = ink * across * (xs < cx), ink * across * (xs > cx)
    return cx, cy, (right * xs).sum() / right.sum() - (left * xs).sum() / left.sum()


def test_camera_moves_rendered_by_ffmpeg_travel_as_far_as_meant_start_and_end_at_rest_and_never_lurch(
    tmp_path: Path,
) -> None:
    import numpy as np
    from PIL import Image, ImageDraw

    width, height, frames = 320, 180, 48
    still = Image.new("RGB", (1280, 720), "white")
    draw = ImageDraw.Draw(still)
    for x, y in ((0.3, 0.5), (0.7, 0.5), (0.5, 0.3), (0.5, 0.7)):
        draw.ellipse((x * 1280 - 14, y * 720 - 14, x * 1280 + 14, y * 720 + 14), fill="black")
    still.save(tmp_path / "still.png")
    pan_x, pan_y, zoom = width * (PAN_ZOOM - 1), height * (PAN_ZOOM - 1), 0.4 * width * (ZOOM - 1)
    travels = {
        "zoom_in": (0, 0, zoom),
        "zoom_out": (0, 0, -zoom),
        "pan_left": (pan_x, 0, 0),
        "pan_right": (-pan_x, 0, 0),
        "pan_up": (0, pan_y, 0),
        "pan_down": (0, -pan_y, 0),
        "static": (0, 0, 0),
    }
    for camera, expected in travels.items():
        video = _camera_frames(camera, tmp_path / "still.png", frames, width, height)
        borders = np.concatenate(
            [video[:, 0].ravel(), video[:, -1].ravel(), video[:, :, 0].ravel(), video[:, :, -1].ravel()]
        )
        assert borders.min() > 200, f"{camera}: the frame always lies inside the picture"
        marks = np.array([_marks(frame) for frame in video])
        for axis, meant in enumerate(expected):
            series = marks[:, axis]
            assert series[-1] - series[0] == pytest.approx(meant, abs=max(1.0, 0.03 * abs(meant))), camera
            if not meant:
                continue
            steps = np.diff(series) * np.sign(meant)
            assert steps.min() > -0.05, f"{camera} never moves backwards"
            tenth = len(steps) // 10
            calm = max(steps[:tenth].mean(), steps[-tenth:].mean())
            assert calm < 0.35 * steps[tenth:-tenth].mean(), f"{camera} starts and ends at rest (eased)"
            # zoompan places the crop on whole pixels of the still scaled OVERSAMPLE times: the speed
            # may change by that rounding from one frame to the next, never by a lurch of a pixel.
            assert np.abs(np.diff(steps)).max() < 1.0, f"{camera} never lurches"


def test_subtitle_lines_wrap_by_width_in_chinese_and_english() -> None:
    english = wrap("Pip leapt onto the window ledge and knocked over a forgotten lantern.", 24)
    assert all(text_width(line) <= 24 for line in english)
    sentence = "Pip leapt onto the window ledge and knocked over a forgotten lantern."
    assert " ".join(english).split() == sentence.split()  # no word is broken
    chinese = wrap("小兔子决定帮助他们。它把桂花收集起来，做成了一盏会发光的花灯。", 20)
    assert "".join(chinese) == "小兔子决定帮助他们。它把桂花收集起来，做成了一盏会发光的花灯。"
    assert all(line[0] not in "，。！？、" for line in chinese)
    assert all(text_width(line) <= 22 for line in chinese)


def test_no_subtitle_text_can_restyle_the_burned_in_captions() -> None:
    ass = to_ass([Cue(0, 1, "{\\b1\\c&H0000FF&}hello\\N")], width=W, height=H, font_name="Noto Sans CJK SC")
    dialogue = ass.strip().splitlines()[-1]
    assert "{" not in dialogue.split(",,", 1)[1] and "\\b1" not in dialogue


def _silence(path: Path, seconds: float) -> Path:
    import wave

    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(22050)
        wav.writeframes(b"\0\0" * round(seconds * 22050))
    return path


def _packets(film: Path) -> list[str]:
    """Every packet of every stream (time stamps, sizes, checksums), as the file carries them."""
    listing = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(film), "-map", "0", "-c", "copy", "-f", "framemd5", "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return [line for line in listing.splitlines() if not line.startswith("#")]


def test_editing_any_one_shot_re_encodes_that_shot_and_the_transitions_beside_it_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cue times are kept relative to each shot, so a shot's cache key never depends on where the
    shots before it put it on the film's timeline (regression: 6 of 8 segments re-encoded). The
    pictures are joined in runs of parts (four here), and an edit joins again only the runs that
    hold what it changed."""
    monkeypatch.setattr(compose, "JOIN_RUN", 4)
    w, h = 256, 144
    lines = [
        "The keeper climbed.",
        "Waves rose high, and higher.",
        "A gull cried.",
        "The lamp went dark.",
        "He struck a match; it caught.",
        "Dawn came, grey and cold.",
    ]
    lengths = [1.37, 2.113, 0.917, 1.651, 2.487, 1.229]
    shots = []
    for index, (text, seconds) in enumerate(zip(lines, lengths, strict=True)):
        image = draft_card(
            f"scene {index}", width=w, height=h, style="storybook", seed=index, path=tmp_path / f"{index}.png"
        )
        audio = _silence(tmp_path / f"{index}.wav", seconds)
        shots.append(
            ShotInput(
                image=Path(image.path),
                duration=round(seconds + 0.6, 3),
                camera="zoom_in",
                transition="cut" if index == 2 else "dissolve",
                narration=text,
                audio=audio,
                audio_duration=seconds,
            )
        )
    cache = tmp_path / "cache"
    base = compose_film(shots, width=w, height=h, cache_dir=cache, out_dir=tmp_path / "out")
    assert base.encoded_segments == len(shots)
    runs = set(cache.glob("run-*.mp4"))
    assert len(runs) == 3  # 11 parts: 6 shots, 4 transitions (one is a cut), the closing fade
    with monkeypatch.context() as single:  # every part joined at once: the same film, packet for packet
        single.setattr(compose, "JOIN_RUN", 1)
        at_once = compose_film(shots, width=w, height=h, cache_dir=cache, out_dir=tmp_path / "one")
    assert _packets(at_once.video) == _packets(base.video)
    for edited_index, new_seconds in ((1, 3.071), (3, 0.613), (4, 1.999)):
        text = "A new line of a different length, " * (1 + edited_index % 2)
        edited = list(shots)
        edited[edited_index] = replace(
            shots[edited_index],
            narration=text,
            audio=_silence(tmp_path / f"new{edited_index}.wav", new_seconds),
            audio_duration=new_seconds,
            duration=round(new_seconds + 0.6, 3),
        )
        joined = set(cache.glob("run-*.mp4"))
        again = compose_film(edited, width=w, height=h, cache_dir=cache, out_dir=tmp_path / "out")
        assert 1 <= len(set(cache.glob("run-*.mp4")) - joined) <= 2, f"edit of shot {edited_index + 1}"
        beside = [i for i in (edited_index - 1, edited_index) if 0 <= i < len(shots) - 1]
        assert again.encoded_segments == 1, f"edit of shot {edited_index + 1}"
        assert again.encoded_transitions == sum(shots[i].transition != "cut" for i in beside)
        # And going back to the original film re-encodes nothing at all.
        restored = compose_film(shots, width=w, height=h, cache_dir=cache, out_dir=tmp_path / "out")
        assert (restored.encoded_segments, restored.encoded_transitions) == (0, 0)
        assert restored.digest == base.digest


def word_gaps(frame: Any, size: int) -> list[int]:
    """The blank columns between runs of white caption fill, left to right, in the caption band:
    the gaps between letters are a few pixels, the gaps between words wider."""
    band = frame.crop((0, int(frame.height * 0.6), frame.width, frame.height))
    inked = [any(band.getpixel((x, y)) > 200 for y in range(band.height)) for x in range(band.width)]
    runs, gaps, blank = 0, [], 0
    for ink in inked:
        if ink:
            if runs and blank:
                gaps.append(blank)
            runs, blank = runs + 1, 0
        elif runs:
            blank += 1
    return gaps


def test_english_captions_keep_their_word_spaces_visible(tmp_path: Path, shots: list[ShotInput]) -> None:
    from PIL import Image

    dark = tmp_path / "dark.png"
    Image.new("RGB", (W, H), (20, 20, 30)).save(dark)
    shot = replace(shots[0], image=dark, narration="Every evening", camera="static", transition="cut")
    film = compose_film([shot], width=W, height=H, cache_dir=tmp_path / "c", out_dir=tmp_path / "o")
    cue = film.cues[0]
    size = max(16, round(H * 0.052))  # the caption's font size (inference.subtitles.to_ass)
    gaps = word_gaps(frame_at(film.video, (cue.start + cue.end) / 2), size)
    assert gaps, "the caption was drawn"
    # The space is at least a quarter of the font size and 1.5 times any gap inside a word (in
    # Noto Sans CJK's Latin glyphs it measured 4 px of 19 here, against 3 px inside words).
    space, letters = max(gaps), sorted(gaps)[:-1]
    assert space >= size / 4, (space, size, gaps)
    assert all(gap * 1.5 <= space for gap in letters), str(gaps)


def test_a_long_sentence_is_cut_into_even_cues_with_no_lone_word(stories_dir: str) -> None:
    from inference.subtitles import chunk, max_units_for
    from inference.text import split_sentences

    width = max_units_for(1280, 720)
    story = (Path(stories_dir) / "lighthouse.en.txt").read_text(encoding="utf-8")
    sentences = [s for s in split_sentences(story) if len(s.split()) > 3]
    long = "Every evening, Ada climbed the spiral stairs of the old lighthouse with her small grey cat, " * 2
    for sentence in [*sentences, long.strip()]:
        cues = chunk(sentence, width)
        assert " ".join(" ".join(cues).split()) == " ".join(sentence.split()), "every word, in order"
        lines = [line for cue in cues for line in cue.split("\n")]
        assert all(len(line.split()) > 1 for line in lines), (sentence, cues)
        if len(lines) > 1:  # even widths: the shortest line at least half the longest
            assert min(map(text_width, lines)) >= max(map(text_width, lines)) / 2, (sentence, lines)


def test_a_clip_shorter_than_its_shot_plays_once_and_then_holds_its_last_frame(
    tmp_path: Path, shots: list[ShotInput]
) -> None:
    from PIL import ImageChops

    clip = tmp_path / "clip.mp4"  # 1 s: dark grey, then white from 0.5 s on
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=0x202020:s=320x180:r=8:d=0.5",
         "-f", "lavfi", "-i", "color=c=white:s=320x180:r=8:d=0.5",
         "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    shot = replace(shots[0], motion=clip, camera="static", transition="cut", narration="", duration=3.0)
    made = compose_film(
        [shot], width=W, height=H, cache_dir=tmp_path / "c", out_dir=tmp_path / "o", burn_subtitles=False
    )
    start, held, end = (frame_at(made.video, at) for at in (0.2, 1.2, 2.3))  # looped, both would be dark
    assert max(start.getdata()) < 80, "the clip's first half"
    assert min(held.getdata()) > 200 and min(end.getdata()) > 200, "its last frame, held to the shot's end"
    assert max(ImageChops.difference(held, end).getdata()) < 10, "still, never looped back to the dark start"

    # Dissolving into the next shot, the transition starts from the held frame (made from the clip).
    from tests.factories import frames_in

    moving = replace(shot, transition="dissolve")
    film = compose_film(
        [moving, shots[1]], width=W, height=H, cache_dir=tmp_path / "c", out_dir=tmp_path / "o", burn_subtitles=False
    )
    assert frames_in(film.video) == film.frames
    blending = frame_at(film.video, (film.placements[0].core + 0.5) / FPS)  # the transition's first frame
    assert sum(blending.getdata()) / (W * H) > 200, "the clip's held white, barely blended yet"


def test_a_render_prunes_the_render_cache_and_keeps_what_it_used(rendered: Any, settings: Any) -> None:
    from tests.factories import render

    cache = settings.VAR_DIR / "cache" / "segments"
    long_ago = time.time() - 2 * 86400
    stale = cache / f"seg-stale-{os.getpid()}-{time.monotonic_ns()}"  # what no render has used for two days
    stale.mkdir()
    (stale / "core.mp4").write_bytes(b"x" * 1000)
    for path in (stale, cache / STAMP):  # and the cache not pruned since
        path.touch()
        os.utime(path, (long_ago, long_ago))
    settings.RENDER_CACHE_MAX_BYTES = 0
    task = render(rendered)
    assert task.status == "finished", task.message
    assert not stale.exists()
    rendered.refresh_from_db()
    used = [Path(item["file"]).stem for item in rendered.render_manifest["segments"]]
    assert used and all((cache / name / "core.mp4").is_file() for name in used)


def test_a_segment_holds_only_what_the_film_shows_and_an_editors_clip_adds_its_handles(
    tmp_path: Path, shots: list[ShotInput]
) -> None:
    from inference.compose import editor_clip
    from tests.factories import frames_in

    made = compose_film(shots, width=W, height=H, cache_dir=tmp_path / "cache", out_dir=tmp_path / "out")
    # film: core0, dissolve, core1 | cut | core2, closing fade: no frame is encoded twice
    pieces = [sorted(p.name for p in folder.glob("*.mp4")) for folder in made.segments]
    assert pieces == [["core.mp4"], ["core.mp4"], ["core.mp4", "tail.mp4"]]
    assert made.encoded_transitions == 1
    for index, (shot, place) in enumerate(zip(shots, made.placements, strict=True)):
        clip = tmp_path / f"clip-{index}.mp4"
        editor_clip(shot, place, width=W, height=H, folder=made.segments[index], path=clip)
        assert frames_in(clip) == place.head + place.core + place.tail, index
    handles = (made.placements[0].head, made.placements[0].tail, made.placements[1].head)
    assert handles == (0, TRANSITION_FRAMES, TRANSITION_FRAMES)
