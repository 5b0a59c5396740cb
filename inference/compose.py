"""Shots -> film, fast and incremental.

Each shot is rendered once into a segment (its camera move or motion clip, its burned-in
subtitles) that is split, by stream copy, into head | core | tail at the frames where the
transitions into and out of it begin and end. A transition is rendered only where there is
one, from the tail of one shot and the head of the next, as soon as both are ready. The film is
the concatenation (stream copy) of core, transition, core, transition, ... and the sound track
(``inference.sound``: in pieces, at the loudness target), then checked (``inference.filmcheck``).

Segments and transitions are cached by a hash of everything that shaped them, so changing one
shot re-encodes one segment (and the transitions beside it). Output is written to temporary
names, probed, and only then moved into place.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from inference import kenburns, sound
from inference.errors import EngineError
from inference.filmcheck import (
    LOOK,
    CheckShot,
    FilmCheck,
    Heard,
    ShotTime,
    check_film,
    drawable,
    picture_record,
    sound_findings,
)
from inference.fonts import LATIN_FAMILY, caption_fonts_dir, latin_font_path
from inference.media import ffmpeg_log, file_digest, probe, run_ffmpeg, stop_running_ffmpeg
from inference.render_cache import hit
from inference.sentences import Sentence
from inference.sound import SoundTrack
from inference.subtitles import Cue, max_units_for, narration_cues, to_ass, to_srt, to_vtt
from inference.types import Progress, no_progress

FPS = 24
TRANSITION_FRAMES = 12  # 0.5 s at 24 fps
ENGINE_VERSION = 6  # bump to invalidate every cached segment (5: each holds what the film check saw; 6: only
# the frames the film shows outside its transitions)
XFADE = {
    "fade": "fadeblack",
    "dissolve": "fade",
    "wipe_left": "wipeleft",
    "wipe_right": "wiperight",
    "slide_left": "slideleft",
    "slide_right": "slideright",
}
X264 = [
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-crf",
    "20",
    "-pix_fmt",
    "yuv420p",
    "-profile:v",
    "high",
    "-level",
    "4.1",
    "-x264-params",
    "keyint=48:min-keyint=1:scenecut=0",
]


@dataclass
class ShotInput:
    image: Path
    duration: float  # seconds on screen outside transitions (the shot's own time)
    camera: str = "zoom_in"
    transition: str = "dissolve"  # into the next shot; for the last shot, how the film ends
    narration: str = ""
    audio: Path | None = None
    audio_duration: float = 0.0
    motion: Path | None = None  # a motion clip, used instead of the camera move
    sentences: list[tuple[float, float, str]] = field(default_factory=list)
    second: str = ""  # the narration in the language it was translated from: bilingual subtitles


@dataclass
class Placement:
    """Where a shot sits on the film's timeline, in frames."""

    index: int
    head: int  # frames shared with the previous shot's transition
    core: int
    tail: int  # frames shared with the next shot's transition (or the closing fade)
    start: int  # film frame at which the core begins
    local_cues: list[Cue]  # the shot's captions, in seconds from the start of its core

    @property
    def cues(self) -> list[Cue]:
        """The captions on the film's timeline."""
        offset = self.start / FPS
        return [Cue(round(c.start + offset, 3), round(c.end + offset, 3), c.text) for c in self.local_cues]


@dataclass
class FilmResult:
    video: Path
    srt: Path
    vtt: Path
    poster: Path
    duration: float
    frames: int
    digest: str
    encoded_segments: int
    encoded_transitions: int
    encoded_sound: int  # pieces of the sound track encoded (the rest were cached)
    check: FilmCheck
    placements: list[Placement]
    cues: list[Cue]
    segments: list[Path]  # each shot's cached segment folder (head/core/tail pieces)


def _key(**parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _check_inputs(index: int, shot: ShotInput) -> None:
    """Only files the app wrote reach here; still, a broken one fails with its shot's number."""
    from inference.speech import wav_info

    for path, what in ((shot.image, "keyframe"), (shot.audio, "narration audio"), (shot.motion, "motion clip")):
        if path is not None and (not path.is_file() or path.stat().st_size == 0):
            raise EngineError(f"Shot {index + 1}: its {what} is missing or empty; regenerate it.", permanent=True)
    try:
        from PIL import Image

        with Image.open(shot.image) as image:
            image.verify()
    except Exception:
        raise EngineError(
            f"Shot {index + 1}: its keyframe is not a readable image; regenerate it.", permanent=True
        ) from None
    if shot.audio is not None:
        try:
            wav_info(shot.audio, what="its narration audio")
        except EngineError as exc:
            raise EngineError(f"Shot {index + 1}: {exc} Regenerate its speech.", permanent=True) from None


def plan(shots: list[ShotInput], *, width: int, height: int) -> list[Placement]:
    """Frame-exact placements: film = core0, t0, core1, t1, ..., coreN[, closing fade]."""
    units = max_units_for(width, height)
    boundaries = [TRANSITION_FRAMES if shot.transition != "cut" else 0 for shot in shots]
    placements, start = [], 0
    for index, shot in enumerate(shots):
        head = boundaries[index - 1] if index else 0
        core = max(1, round(shot.duration * FPS))
        tail = boundaries[index]
        spoken = min(shot.audio_duration, core / FPS) if shot.audio else core / FPS
        # Timed from the shot's own start, never from the film's: a shot's captions (and so its
        # cache key) do not change when the shots before it change length.
        cues = narration_cues(
            shot.narration,
            start=0.0,
            duration=spoken,
            max_width=units,
            sentences=shot.sentences or None,
            second=shot.second,
        )
        # No cue outlives its shot's core: captions are never blended in a transition.
        core_end = core / FPS
        cues = [Cue(c.start, min(c.end, core_end), c.text) for c in cues if c.start < core_end]
        placements.append(Placement(index, head, core, tail, start, cues))
        start += core + tail
    return placements


def _segment_key(shot: ShotInput, place: Placement, *, last: bool, width: int, height: int, burn: bool) -> str:
    return _key(
        image=file_digest(shot.image),
        motion=f"{file_digest(shot.motion)}:held" if shot.motion else "",  # its last frame holds (not looped)
        camera=shot.camera,
        head=place.head,
        core=place.core,
        tail=place.tail,
        last=last,
        size=[width, height],
        fps=FPS,
        burn=burn,
        cues=[(c.start, c.end, drawable(c.text)) for c in place.local_cues] if burn else [],
        v=ENGINE_VERSION,
    )


@contextmanager
def _threads(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool for ffmpeg work. When the caller is stopped midway (the job's timeout or a
    cancel, raised in this thread), the ffmpegs still running are killed first: shutting the
    pool down waits for its threads, which would otherwise wait for them."""
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        yield pool
    except BaseException:
        stop_running_ffmpeg()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _escape_filter_value(value: str) -> str:
    """Quote a value for an ffmpeg filter graph (paths of our own; escaped all the same)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "'\\''").replace(":", "\\:") + "'"


def _moving(shot: ShotInput, total: int, width: int, height: int, *, first: int, count: int) -> tuple[list[str], str]:
    """The input and the filters that make frames ``first`` to ``first + count`` of a shot's
    ``total`` frames of picture (its camera move over the keyframe, or its motion clip, whose last
    frame holds where the clip is shorter than the shot), without captions."""
    if shot.motion is None:
        source = ["-i", str(shot.image)]
        return source, kenburns.zoompan_filter(shot.camera, total, width, height, FPS, first=first, count=count)
    # Its last frame repeated by ``loop`` from an input read round and round: a filter that
    # outlives its input (tpad) trips ffmpeg 7's scheduler beside the look branch's trim.
    source = ["-stream_loop", "-1", "-i", str(shot.motion)]
    held = max(0, math.floor(probe(shot.motion).video_duration * FPS) - 1)
    move = (
        f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},fps={FPS},setsar=1,"
        f"loop=loop=-1:size=1:start={held}"
    )
    if first:
        move += f",trim=start_frame={first}"
    # frames numbered afresh at a constant rate: xfade takes no other (``loop`` leaves it unset)
    return source, f"{move},setpts=N/({FPS}*TB),fps={FPS}"


def render_segment(
    shot: ShotInput, place: Placement, *, last: bool, width: int, height: int, burn: bool, folder: Path
) -> None:
    """Render the frames of a shot the film shows outside its transitions: its core (with its
    captions) and, for the last shot, its closing fade, in pieces split by stream copy. The
    transitions render their own frames from the shots' sources (``render_transition``), and the
    editor's clip its handles (``editor_clip``), so that no frame is encoded twice."""
    fade = place.tail if last else 0
    total = place.core + fade
    work = Path(tempfile.mkdtemp(prefix=".seg-", dir=folder.parent))
    try:
        filters = []
        if burn and place.local_cues:
            cues = [Cue(c.start, c.end, drawable(c.text)) for c in place.local_cues]
            fonts = caption_fonts_dir(folder.parent / "fonts")
            latin = LATIN_FAMILY if latin_font_path() else ""
            (work / "subs.ass").write_text(
                to_ass(cues, width=width, height=height, font_name="Noto Sans CJK SC", latin_font_name=latin),
                encoding="utf-8",
            )
            filters.append(f"subtitles=subs.ass:fontsdir={_escape_filter_value(str(fonts))}")
        if fade:
            filters.append(f"fade=t=out:st={place.core / FPS:.4f}:d={fade / FPS:.4f}")
        source, move = _moving(shot, place.head + place.core + place.tail, width, height, first=place.head, count=total)
        # The frames as rendered go to the encoder and, the core's, to the film check's eyes.
        look = LOOK.format(first=0, end=place.core)
        graph = ",".join([move, *filters, "format=yuv420p"]) + f",split[out][look];[look]{look}"
        output = ["-filter_complex", f"[0:v]{graph}", "-map", "[out]", *X264, "-an"]
        if fade:
            output += ["-force_key_frames", f"expr:eq(n,0)+eq(n,{place.core})", "-f", "segment"]
            output += ["-segment_format", "mp4", "-reset_timestamps", "1", "-segment_frames", str(place.core)]
            output.append("piece%d.mp4")
        else:
            output.append("piece0.mp4")
        log = ffmpeg_log([*source, "-frames:v", str(total), *output], cwd=work)
        looked = picture_record(log, image=shot.image)
        names = ["core", "tail"] if fade else ["core"]
        pieces = sorted(work.glob("piece*.mp4"), key=lambda p: int(p.stem[5:]))
        if len(pieces) != len(names):
            raise EngineError(
                f"Shot {place.index + 1}: the segment split into {len(pieces)} pieces, not {len(names)}.",
                permanent=False,
            )
        staging = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for name, piece in zip(names, pieces, strict=True):
            os.replace(piece, staging / f"{name}.mp4")
        (staging / "check.json").write_text(json.dumps(looked))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _handle(shot: ShotInput, place: Placement, which: str, *, width: int, height: int, path: Path) -> None:
    """A shot's transition handle as a piece of its own: the ``head`` or ``tail`` frames of its
    move, encoded as its core is (so the pieces join by stream copy)."""
    first, count = (0, place.head) if which == "head" else (place.head + place.core, place.tail)
    source, move = _moving(shot, place.head + place.core + place.tail, width, height, first=first, count=count)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp.mp4")
    run_ffmpeg(
        [
            *source,
            *["-filter_complex", f"[0:v]{move},format=yuv420p[v]", "-map", "[v]", "-frames:v", str(count)],
            *[*X264, "-an", str(tmp)],
        ]
    )
    os.replace(tmp, path)


def render_transition(
    shots: tuple[ShotInput, ShotInput],
    places: tuple[Placement, Placement],
    *,
    width: int,
    height: int,
    path: Path,
) -> None:
    """The transition from one shot into the next, made from their sources: the first shot's
    tail frames and the next one's head frames, rendered here and blended, encoded once."""
    (a, b), (pa, pb) = shots, places
    frames = pa.tail
    tail_in, tail = _moving(a, pa.head + pa.core + pa.tail, width, height, first=pa.head + pa.core, count=frames)
    head_in, head = _moving(b, pb.head + pb.core + pb.tail, width, height, first=0, count=frames)
    blend = f"xfade=transition={XFADE.get(a.transition, 'fade')}:duration={frames / FPS:.4f}:offset=0"
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    run_ffmpeg(
        [
            *tail_in,
            *head_in,
            *["-filter_complex", f"[0:v]{tail},format=yuv420p[a];[1:v]{head},format=yuv420p[b];[a][b]{blend}[v]"],
            *["-map", "[v]", "-frames:v", str(frames), *X264, "-an", str(tmp)],
        ]
    )
    os.replace(tmp, path)


def build_audio(
    shots: list[ShotInput],
    placements: list[Placement],
    *,
    music: Path | None,
    music_volume_db: float,
    cache_dir: Path,
    path: Path,
    loudness: float,
) -> SoundTrack:
    """The narration, each clip at ``loudness`` LUFS where its shot's core plays, over the music
    (see ``inference.sound``): rendered in pieces, only those an edit changed."""
    bed = None
    if music is not None:
        normalised, length = sound.music_bed(music, loudness=loudness, cache_dir=cache_dir)
        bed = sound.Music(normalised, length, music_volume_db)
    per_frame = sound.SAMPLE_RATE // FPS
    spoken = [(shot, place, shot.audio) for shot, place in zip(shots, placements, strict=True) if shot.audio]
    gains = sound.clip_gains([audio for _, _, audio in spoken], target=loudness, cache_dir=cache_dir)
    voices = []
    for (shot, place, audio), gain in zip(spoken, gains, strict=True):
        core = place.core * per_frame  # a narration is cut at its shot's end: it never runs into the next
        voices.append(
            sound.Voice(
                audio=audio,
                start=place.start * per_frame,
                length=min(round(shot.audio_duration * sound.SAMPLE_RATE) or core, core),
                gain_db=gain,
            )
        )
    return sound.build_sound(
        starts=[place.start * per_frame for place in placements],
        voices=voices,
        total=sum(p.core + p.tail for p in placements) * per_frame,
        music=bed,
        cache_dir=cache_dir,
        path=path,
    )


def compose_film(
    shots: list[ShotInput],
    *,
    width: int,
    height: int,
    cache_dir: Path,
    out_dir: Path,
    burn_subtitles: bool = True,
    music: Path | None = None,
    music_volume_db: float = 0.0,
    loudness: float = -16.0,
    silence_seconds: float = 2.0,
    check: bool = True,
    progress: Progress = no_progress,
) -> FilmResult:
    """Render what is not cached, join, probe, and only then move the results into ``out_dir``
    under names made of the film's hash. A failure leaves no temporary file behind."""
    if not shots:
        raise EngineError("There are no shots to compose.", permanent=True)
    for index, shot in enumerate(shots):
        _check_inputs(index, shot)
    if music is not None and (not music.is_file() or music.stat().st_size == 0):
        raise EngineError("The music file is missing or empty; upload it again.", permanent=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    placements = plan(shots, width=width, height=height)
    work = Path(tempfile.mkdtemp(prefix=".film-", dir=out_dir))
    try:
        return _compose(
            shots,
            placements,
            width=width,
            height=height,
            cache_dir=cache_dir,
            out_dir=out_dir,
            work=work,
            burn_subtitles=burn_subtitles,
            music=music,
            music_volume_db=music_volume_db,
            loudness=loudness,
            silence_seconds=silence_seconds,
            check=check,
            progress=progress,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _compose(
    shots: list[ShotInput],
    placements: list[Placement],
    *,
    width: int,
    height: int,
    cache_dir: Path,
    out_dir: Path,
    work: Path,
    burn_subtitles: bool,
    music: Path | None,
    music_volume_db: float,
    loudness: float,
    silence_seconds: float,
    check: bool,
    progress: Progress,
) -> FilmResult:
    total_frames = sum(p.core + p.tail for p in placements)
    seconds = total_frames / FPS
    # The sound track depends only on the plan: build it while the pictures render, and check it
    # while they render and while the film is joined (the join copies it as it is).
    audio = work / "audio.aac"

    def hear(track_done: Future[sound.SoundTrack]) -> Heard:
        track = track_done.result()
        times = [
            ShotTime(
                start=place.start / FPS, core=place.core / FPS, audio_seconds=shot.audio_duration if shot.audio else 0
            )
            for shot, place in zip(shots, placements, strict=True)
        ]
        window = (sound.FRAME, sound.FRAME + track.samples)  # past the priming packet, to the film's end
        peak = None if track.regions is None else partial(sound.true_peak, track, cache_dir=cache_dir)
        return sound_findings(audio, times, target=loudness, silence_seconds=silence_seconds, samples=window, peak=peak)

    with _threads(2) as sounds:
        track_done = sounds.submit(
            build_audio,
            shots,
            placements,
            music=music,
            music_volume_db=music_volume_db,
            cache_dir=cache_dir,
            path=audio,
            loudness=loudness,
        )
        heard_done = sounds.submit(hear, track_done) if check else None
        parts, folders, encoded, encoded_transitions = _pictures(
            shots,
            placements,
            width=width,
            height=height,
            cache_dir=cache_dir,
            burn=burn_subtitles,
            progress=progress,
        )
        track = track_done.result()
        progress(0.85, Sentence("joining", "Joining"))
        listing = work / "parts.txt"
        listing.write_text(_concat_listing(_runs(parts, cache_dir)))
        film = work / "film.mp4"
        run_ffmpeg(
            [
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                str(listing),
                "-itsoffset",
                f"-{sound.PRIMING_SECONDS:.6f}",
                "-f",
                "aac",
                "-i",
                str(audio),
                "-map",
                "0:v",
                "-map",
                "1:a",
                "-c",
                "copy",
                "-t",
                f"{seconds:.4f}",
                "-movflags",
                "+faststart",
                str(film),
            ]
        )
        progress(0.93, Sentence("checking", "Checking the film"))
        found = probe(film)
        if found.video_streams != 1 or found.audio_streams != 1 or abs(found.duration - seconds) > 2.5 / FPS:
            raise EngineError(
                f"The composed film failed its check ({found.video_streams} video and {found.audio_streams} audio "
                f"streams, {found.duration:.3f} s of an expected {seconds:.3f} s).",
                permanent=False,
            )
        heard = heard_done.result() if heard_done else None
    cues = [cue for place in placements for cue in place.cues]
    checked = FilmCheck(loudness={}, findings=[])
    if heard is not None:
        checked = check_film(
            found,
            heard,
            [
                CheckShot(
                    start=place.start / FPS,
                    core=place.core / FPS,
                    image=shot.image,
                    audio_seconds=shot.audio_duration if shot.audio else 0.0,
                    still=shot.motion is None and shot.camera == "static",
                    segment=folder,
                )
                for shot, place, folder in zip(shots, placements, folders, strict=True)
            ],
            cues,
            width=width,
            height=height,
            max_units=max_units_for(width, height),
            fps=FPS,
            target=loudness,
        )
    (work / "film.srt").write_text(to_srt(cues), encoding="utf-8")
    (work / "film.vtt").write_text(to_vtt(cues), encoding="utf-8")
    shutil.copyfile(_poster(folders[0], placements[0]), work / "poster.jpg")
    digest = file_digest(film)
    final = {}
    for name in ("film.mp4", "film.srt", "film.vtt", "poster.jpg"):
        final[name] = out_dir / f"{digest[:16]}{Path(name).suffix}"
        os.replace(work / name, final[name])
    progress(1.0, Sentence("film_ready", "Film ready"))
    return FilmResult(
        video=final["film.mp4"],
        srt=final["film.srt"],
        vtt=final["film.vtt"],
        poster=final["poster.jpg"],
        duration=found.duration,
        frames=total_frames,
        digest=digest,
        encoded_segments=encoded,
        encoded_transitions=encoded_transitions,
        encoded_sound=track.encoded_pieces,
        check=checked,
        placements=placements,
        cues=cues,
        segments=folders,
    )


def segment_folders(
    shots: list[ShotInput], placements: list[Placement], *, width: int, height: int, cache_dir: Path, burn: bool
) -> list[Path]:
    """Each shot's segment folder in the render cache (named by what its frames are made of)."""
    return [
        cache_dir
        / f"seg-{_segment_key(shot, place, last=index == len(shots) - 1, width=width, height=height, burn=burn)}"
        for index, (shot, place) in enumerate(zip(shots, placements, strict=True))
    ]


def _pictures(
    shots: list[ShotInput],
    placements: list[Placement],
    *,
    width: int,
    height: int,
    cache_dir: Path,
    burn: bool,
    progress: Progress,
) -> tuple[list[Path], list[Path], int, int]:
    """Render the segments and transitions that are not cached, all at once on the free cores
    (a transition is made from its shots' sources, so it waits for no segment); return the pieces
    to join in order, the segment folders, and how many segments and transitions were encoded."""
    folders = segment_folders(shots, placements, width=width, height=height, cache_dir=cache_dir, burn=burn)
    last = len(shots) - 1
    todo = [i for i, folder in enumerate(folders) if not (hit(folder) and (folder / "core.mp4").exists())]
    parts: list[Path] = []
    transitions: dict[int, Path] = {}  # those to render, by the shot they leave
    for index, (shot, place) in enumerate(zip(shots, placements, strict=True)):
        parts.append(folders[index] / "core.mp4")
        if index == last:
            if place.tail:
                parts.append(folders[index] / "tail.mp4")  # the closing fade
        elif place.tail:
            key = _key(a=folders[index].name, b=folders[index + 1].name, kind=shot.transition)
            path = cache_dir / f"tr-{key}.mp4"
            parts.append(path)
            if not hit(path):
                transitions[index] = path
    done, work, ready = 0, len(todo) + len(transitions), len(shots) - len(todo)
    with _threads(max(1, os.cpu_count() or 1)) as pool:
        segments = {
            pool.submit(
                render_segment,
                shots[i],
                placements[i],
                last=i == last,
                width=width,
                height=height,
                burn=burn,
                folder=folders[i],
            )
            for i in todo
        }
        running = segments | {
            pool.submit(
                render_transition,
                (shots[i], shots[i + 1]),
                (placements[i], placements[i + 1]),
                width=width,
                height=height,
                path=path,
            )
            for i, path in transitions.items()
        }
        for future in as_completed(running):
            future.result()
            done += 1
            ready += future in segments
            said = Sentence("rendered", "Shot %(done)s of %(shots)s rendered", done=ready, shots=len(shots))
            progress(0.75 * done / work, said)
    return parts, folders, len(todo), len(transitions)


def _poster(folder: Path, place: Placement) -> Path:
    """The film's poster: the middle of its first shot's core, the same frame as in the film (its
    bytes are the film's), taken once and kept with that segment, so an edit of another shot
    does not take it again."""
    poster = folder / "poster.jpg"
    if not poster.exists():
        taken = folder / f".poster-{os.getpid()}-{threading.get_ident()}.jpg"
        at = (place.core / FPS) / 2
        run_ffmpeg(["-ss", f"{at:.3f}", "-i", str(folder / "core.mp4"), "-frames:v", "1", "-q:v", "3", str(taken)])
        os.replace(taken, poster)  # whole, or not there (two renders may take it at once)
    return poster


def editor_clip(shot: ShotInput, place: Placement, *, width: int, height: int, folder: Path, path: Path) -> None:
    """One shot's whole segment (its head handle, core and tail handle) as a single file, by
    stream copy: the clip an editor gets for that shot, to make its transitions again. The
    handles are rendered here, once, into the segment's folder: a film does not need them."""
    names = [name for name, count in (("head", place.head), ("core", place.core), ("tail", place.tail)) if count]
    for name in names:
        if name != "core" and not (folder / f"{name}.mp4").exists():
            _handle(shot, place, name, width=width, height=height, path=folder / f"{name}.mp4")
    listing = path.with_name(f".{path.name}.txt")
    listing.write_text(_concat_listing([folder / f"{name}.mp4" for name in names]))
    try:
        run_ffmpeg(
            ["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart", str(path)]
        )
    finally:
        listing.unlink(missing_ok=True)


JOIN_RUN = 16  # pictures joined into one file, before the film joins those files


def _runs(parts: list[Path], cache_dir: Path) -> list[Path]:
    """The film's pictures as runs of ``JOIN_RUN`` consecutive parts, each joined by stream copy
    and kept in the render cache by which parts it holds: an edit joins again only the runs it
    changed, and the film joins the runs (its join opens tens of files rather than every
    segment and transition: ffmpeg decodes a frame of each file it opens)."""
    if len(parts) <= JOIN_RUN:  # one run: the film joins its parts itself
        return parts
    runs = []
    for at in range(0, len(parts), JOIN_RUN):
        run = parts[at : at + JOIN_RUN]
        if len(run) == 1:
            runs.append(run[0])
            continue
        names = "\n".join(str(part.relative_to(cache_dir)) for part in run)
        path = cache_dir / f"run-{hashlib.sha256(names.encode()).hexdigest()[:32]}.mp4"
        if not hit(path):
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp.mp4")
            listing = tmp.with_suffix(".txt")
            listing.write_text(_concat_listing(run))
            try:
                run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-an", str(tmp)])
                os.replace(tmp, path)
            finally:
                listing.unlink(missing_ok=True)
                tmp.unlink(missing_ok=True)
        runs.append(path)
    return runs


def _concat_listing(paths: list[Path]) -> str:
    """The list of files ffmpeg's concat demuxer joins, in order."""
    return "".join(f"file {_escape_concat(path.resolve())}\n" for path in paths)


def _escape_concat(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"
