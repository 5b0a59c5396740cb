"""The film's sound track, in pieces that an edit replaces one at a time.

The track is one mix on the film's timeline: each narration brought to the target loudness
(EBU R128, measured once per recording, through the limiter) where its shot's core plays,
music looped under it and ducked while someone speaks, a limiter against peaks. It is rendered
in pieces on AAC's frame grid (1024 samples): a piece is the mix over its span with the sound
around it as context (so the compressor, the limiter and the codec's overlapping windows are
where they would be in one pass), encoded, and cut back to the packets of its own span. The
pieces' packets join, by stream copy, into a track that decodes as one encode would. Pieces
are cached by a hash of what shaped them, relative to where they begin.

Without music a piece is one narration (or a run of narrations too close to part) with a little
silence either side, and the stretches between are the encoder's silent packet repeated: a
narration sits at the AAC frame nearest its shot's start (within 10.7 ms), so its piece is the
same wherever the shot moves, and an edit re-encodes the edited narration's piece alone. With
music a piece is a shot's span with a second before it as context; a shot whose length changes
moves the music under every later shot, and those pieces are rendered again (the music is one
continuous bed).

Each clip is placed only where it plays (never delayed from the film's start), so a piece's mix
reads only the clips that overlap its window: the cost is linear in shots.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from inference.errors import EngineError
from inference.media import ffmpeg_log, file_digest, run_ffmpeg
from inference.render_cache import hit

SAMPLE_RATE = 48000
FRAME = 1024  # samples per AAC frame
PREROLL = 48  # frames of context before a piece (1.02 s: the ducking's 500 ms release and more)
POSTROLL = 4  # frames of context after it (the limiter's look-ahead, the codec's overlap)
VERSION = 3  # bump to invalidate every cached piece
# Where a filter takes two or more inputs (amix, sidechaincompress), it works through them in
# chunks of whatever each has buffered, which depends on the timing of ffmpeg's threads; the
# vector maths of a chunk's body and the plain maths of its tail round differently, so the same
# mix came out a bit different now and then (a recompose's sound then differed from a fresh
# render's). Every input of such a filter is cut into frames of this many samples first.
CHUNK = "asetnsamples=n=1024:p=0"
# The music bed sits this far under the narration's target, before the person's volume and the
# ducking: -30 LUFS under narration at -16, quiet enough that a film's loudness is its voice's.
MUSIC_UNDER_LU = 14.0
TRUE_PEAK_DBTP = -1.5
# The limiter works on samples; AAC's reconstruction overshoots between them by up to ~1 dB.
LIMIT_DBFS = TRUE_PEAK_DBTP - 1.0
LIMITER = f"alimiter=limit={10 ** (LIMIT_DBFS / 20):.4f}:level=false:latency=1"
ENCODE = ["-c:a", "aac", "-aac_coder", "fast", "-b:a", "160k", "-ar", str(SAMPLE_RATE), "-ac", "2"]


@dataclass(frozen=True)
class Voice:
    """One narration clip on the film's timeline, in samples."""

    audio: Path
    start: int  # where its shot's core begins; it is placed at the AAC frame nearest (±10.7 ms)
    length: int  # how much of it plays (it is cut at its shot's end)
    gain_db: float

    @property
    def frame(self) -> int:
        return round(self.start / FRAME)

    @property
    def end_frame(self) -> int:
        return self.frame + frames_for(self.length)


@dataclass(frozen=True)
class Piece:
    first: int  # AAC frame (of the film's grid) at which the piece begins
    end: int  # the frame after its last


def frames_for(samples: int) -> int:
    return -(-samples // FRAME)


def shot_pieces(starts: list[int], total: int) -> list[Piece]:
    """With music: one piece per shot, from the AAC frame nearest its start (in samples) to the
    next shot's; the last to the end of the film (``total`` samples). A shot too short to hold a
    frame of its own shares its neighbour's."""
    edges = sorted({0, *(min(round(s / FRAME), frames_for(total)) for s in starts[1:])})
    ends = [*edges[1:], frames_for(total)]
    return [Piece(a, b) for a, b in zip(edges, ends, strict=True) if b > a]


MARGIN = 2  # frames of silence kept on each side of a narration in a speech-only piece


def speech_pieces(voices: list[Voice], total: int) -> list[Piece]:
    """Without music: one piece per narration (or per run of narrations too close to part),
    from a little before it to a little after; the silence between pieces is the codec's silent
    packet, repeated. A piece is then the same wherever its shot lies in the film."""
    film = frames_for(total)
    pieces: list[Piece] = []
    for voice in sorted(voices, key=lambda v: v.frame):
        first, end = max(0, voice.frame - MARGIN), min(film, voice.end_frame + MARGIN)
        if end <= first:
            continue
        if pieces and first <= pieces[-1].end:
            pieces[-1] = Piece(pieces[-1].first, max(end, pieces[-1].end))
        else:
            pieces.append(Piece(first, end))
    return pieces


_LOUDNESS = re.compile(r"I:\s+(-?[\d.]+|-inf|nan) LUFS")
_PEAK = re.compile(r"Peak:\s+(-?[\d.]+|-inf|nan) dBFS")
_RANGE = re.compile(r"LRA:\s+(-?[\d.]+|-inf|nan) LU")


@dataclass(frozen=True)
class Loudness:
    integrated: float | None  # LUFS; None where nothing rose above the gate (silence)
    true_peak: float | None  # dBTP
    range: float | None  # LU


def _number(pattern: re.Pattern[str], log: str) -> float | None:
    found = pattern.findall(log)
    if not found or found[-1] in ("-inf", "nan"):
        return None
    value = float(found[-1])
    return None if value <= -70 else value


def parse_loudness(log: str) -> Loudness:
    """The summary ffmpeg's ``ebur128`` filter logs at the end of its input."""
    return Loudness(_number(_LOUDNESS, log), _number(_PEAK, log), _number(_RANGE, log))


TO_MIX = f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"  # as the mix takes a clip


# A second of silence either side: the measuring blocks that straddle a narration's edges in a film.
IN_A_FILM = "adelay=delays=1s:all=1,apad=pad_dur=1"


def clip_gains(paths: Sequence[Path], *, target: float, cache_dir: Path) -> list[float]:
    """The gain that brings each narration clip to ``target`` LUFS through the mix's limiter (±20
    dB at most), measured once per clip's content and target: once as it is, then again with the
    gain, since the limiter takes some loudness off the loudest clips. The clips not yet measured
    are measured together: one ffmpeg for each step, however many clips (a process start costs
    more than measuring a narration)."""
    records = {path: cache_dir / f"gain-{file_digest(path)[:32]}-{target:g}-{VERSION}.json" for path in paths}
    gains: dict[Path, float] = {}
    for path, record in records.items():
        if hit(record):
            gains[path] = json.loads(record.read_text())["gain"]
    todo = [path for path in records if path not in gains]
    if todo:
        measured = dict(zip(todo, _integrated([(path, None) for path in todo]), strict=True))
        gain = {path: 0.0 if (level := measured[path]) is None else _within_20(target - level) for path in todo}
        steps = [path for path in todo if measured[path] is not None]
        for _ in range(3):  # the limiter gives back less than each step adds: a few steps
            if not steps:
                break
            limited = _integrated([(path, gain[path]) for path in steps])  # as the film will hear them
            again = []
            for path, heard in zip(steps, limited, strict=True):
                if heard is not None and abs(target - heard) >= 0.2:
                    gain[path] = _within_20(gain[path] + target - heard)
                    again.append(path)
            steps = again
        for path in todo:
            record = records[path]
            tmp = record.with_name(f".{record.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"gain": gain[path], "measured": measured[path]}))
            os.replace(tmp, record)
            gains[path] = gain[path]
    return [gains[path] for path in paths]


def _within_20(gain: float) -> float:
    return max(-20.0, min(20.0, gain))


_SUMMARY = re.compile(r"\[ebur128@m(\d+) @ [^\]]*\] Summary:(.*?)(?=\n\[|\Z)", re.DOTALL)


def _integrated(clips: list[tuple[Path, float | None]]) -> list[float | None]:
    """The integrated loudness of each clip (in stereo at 48 kHz, as the mix hears it; where a
    gain is given, after it and the mix's limiter), all in one ffmpeg."""
    inputs, chains, outputs = [], [], []
    for index, (path, gain_db) in enumerate(clips):
        chain = TO_MIX if gain_db is None else f"{TO_MIX},volume={gain_db:.2f}dB,{LIMITER},{IN_A_FILM}"
        inputs += ["-i", str(path)]
        chains.append(f"[{index}:a]{chain},ebur128@m{index}=framelog=verbose[m{index}]")
        outputs += ["-map", f"[m{index}]", "-f", "null", "-"]
    log = ffmpeg_log([*inputs, "-filter_complex", ";".join(chains), *outputs])
    found = {int(index): parse_loudness(summary).integrated for index, summary in _SUMMARY.findall(log)}
    if len(found) != len(clips):
        raise EngineError("ffmpeg measured the narrations' loudness only in part.", permanent=False)
    return [found[index] for index in range(len(clips))]


def music_bed(path: Path, *, loudness: float, cache_dir: Path) -> tuple[Path, int]:
    """The music at 48 kHz stereo, loudness-normalised to MUSIC_UNDER_LU under the film's
    ``loudness`` (cached by content), and its length in samples."""
    level = loudness - MUSIC_UNDER_LU
    target = cache_dir / f"norm-{file_digest(path)[:32]}-{level:g}.wav"
    if not hit(target):
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.wav")
        run_ffmpeg(
            [
                "-i",
                str(path),
                "-vn",
                "-af",
                f"loudnorm=I={level:g}:TP=-2:LRA=11,aresample={SAMPLE_RATE}",
                "-ac",
                "2",
                "-ar",
                str(SAMPLE_RATE),
                "-c:a",
                "pcm_s16le",
                str(tmp),
            ]
        )
        os.replace(tmp, target)
    return target, _wav_frames(target)


def _wav_frames(path: Path) -> int:
    import wave

    with wave.open(str(path), "rb") as wav:
        return wav.getnframes()


@dataclass(frozen=True)
class Music:
    bed: Path  # from music_bed
    length: int  # samples
    volume_db: float


def adts_packets(data: bytes) -> list[bytes]:
    """Split an ADTS stream (AAC packets, each behind a 7- or 9-byte header that gives its
    length) into its packets, headers included."""
    packets, at = [], 0
    while at < len(data):
        if data[at] != 0xFF or data[at + 1] & 0xF6 != 0xF0:
            raise EngineError("The sound encoder wrote an unreadable AAC stream.", permanent=False)
        size = ((data[at + 3] & 0x03) << 11) | (data[at + 4] << 3) | (data[at + 5] >> 5)
        if size < 7:
            raise EngineError("The sound encoder wrote an unreadable AAC stream.", permanent=False)
        packets.append(data[at : at + size])
        at += size
    return packets


def _piece_key(piece: Piece, voices: list[Voice], music: Music | None) -> str:
    """What shapes a piece, relative to its start: the same narration as far into the same
    length of piece is the same piece anywhere in the film (without music: with it, where the
    music is at that point counts too)."""
    window = (piece.first - PREROLL) * FRAME
    parts = {
        "frames": piece.end - piece.first,
        "voices": [(file_digest(v.audio), v.frame - piece.first, v.length, round(v.gain_db, 2)) for v in voices],
        "music": [file_digest(music.bed), window % music.length if window > 0 else window, music.volume_db]
        if music
        else None,
        "limit": LIMIT_DBFS,
        "v": VERSION,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _heard(piece: Piece, voices: list[Voice]) -> list[Voice]:
    """The narrations that sound in the piece's window (its context included)."""
    first, end = piece.first - PREROLL, piece.end + POSTROLL
    return [v for v in voices if v.frame < end and v.end_frame > first]


def render_piece(piece: Piece, voices: list[Voice], music: Music | None, *, path: Path) -> None:
    """The mix over the piece's window, encoded, cut back to the piece's own packets."""
    window = (piece.first - PREROLL) * FRAME  # may start before the film: silence there
    length = (piece.end - piece.first + PREROLL + POSTROLL) * FRAME
    inputs: list[str] = []
    chains: list[str] = []
    for index, voice in enumerate(voices):
        inputs += ["-i", str(voice.audio)]
        chain = f"[{index}:a]{TO_MIX},volume={voice.gain_db:.2f}dB,atrim=end_sample={voice.length}"
        start = voice.frame * FRAME
        if start >= window:
            chain += f",adelay=delays={start - window}S:all=1"
        else:
            chain += f",atrim=start_sample={window - start},asetpts=PTS-STARTPTS"
        chains.append(chain + f",{CHUNK}[n{index}]")
    if voices:
        chains.append(
            "".join(f"[n{i}]" for i in range(len(voices)))
            + f"amix=inputs={len(voices)}:normalize=0:dropout_transition=0,"
            f"apad=whole_len={length},atrim=end_sample={length},{CHUNK}[voice]"
        )
    else:
        chains.append(f"anullsrc=r={SAMPLE_RATE}:cl=stereo,atrim=end_sample={length}[voice]")
    last = "[voice]"
    if music is not None:
        index = len(voices)
        inputs += ["-stream_loop", "-1", "-i", str(music.bed)]
        offset = window % music.length if window > 0 else 0
        bed = (
            f"[{index}:a]asetpts=N/SR/TB,atrim=start_sample={offset}:end_sample={offset + length},"
            f"asetpts=PTS-STARTPTS,volume={music.volume_db:.2f}dB"
        )
        if window < 0:  # the music begins with the film
            bed += f",adelay=delays={-window}S:all=1,atrim=end_sample={length}"
        chains += [
            bed + f",{CHUNK}[bed]",
            "[voice]asplit=2[v1][v2]",
            "[bed][v1]sidechaincompress=threshold=0.02:ratio=6:attack=20:release=500[ducked]",
            "[v2][ducked]amix=inputs=2:normalize=0:duration=first[mixed]",
        ]
        last = "[mixed]"
    chains.append(f"{last}{LIMITER},atrim=end_sample={length}[out]")
    packets = _encode(inputs, ";".join(chains), path)
    # The encoder's first packet is its priming: packet k + 1 decodes the window's frame k.
    wanted = PREROLL + 1 + piece.end - piece.first
    if len(packets) < wanted:
        raise EngineError(f"The sound encoder wrote {len(packets)} packets where {wanted} were due.", permanent=False)
    _write(path, b"".join(packets[PREROLL + 1 : wanted]))


def _encode(inputs: list[str], graph: str, path: Path) -> list[bytes]:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.enc.aac")
    try:
        run_ffmpeg([*inputs, "-filter_complex", graph, "-map", "[out]", *ENCODE, "-f", "adts", str(tmp)])
        return adts_packets(tmp.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)


def _write(path: Path, data: bytes) -> None:
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.write_bytes(data)
    os.replace(staging, path)


def silent_packet(cache_dir: Path) -> bytes:
    """The packet the encoder writes for a frame of silence after silence (the same bytes every
    time): the stretches between narrations, and the track's first packet, the codec's priming."""
    path = cache_dir / f"silence-{VERSION}.aac"
    if not hit(path):
        packets = _encode([], f"anullsrc=r={SAMPLE_RATE}:cl=stereo,atrim=end_sample={8 * FRAME}[out]", path)
        _write(path, packets[4])
    return path.read_bytes()


@dataclass(frozen=True)
class Region:
    """Where a track without music sounds: a piece, which the track holds between the codec's
    silent packets (the one before is what its first frame is decoded from; the one after, where
    the film goes on, its last)."""

    first: int  # AAC frame of the film's grid
    end: int  # the frame after its last
    piece: Path  # its packets, in the render cache (named by what shaped them)
    closed: bool  # a silent packet follows it (the film goes on)


@dataclass
class SoundTrack:
    path: Path  # ADTS; its first packet is priming, to be skipped (``PRIMING_SECONDS``)
    samples: int
    encoded_pieces: int
    pieces: int
    # Without music, where anything sounds (the codec's silence between): its true peak is the
    # highest of theirs. With music, None: the music sounds throughout.
    regions: list[Region] | None = None


PRIMING_SECONDS = FRAME / SAMPLE_RATE  # give it as a negative -itsoffset when muxing


def build_sound(
    *,
    starts: list[int],
    voices: list[Voice],
    total: int,
    music: Music | None,
    cache_dir: Path,
    path: Path,
) -> SoundTrack:
    """The whole track, rendering only the pieces that are not cached. ``starts``: each shot's
    first sample; ``total``: the film's length in samples."""
    silence = silent_packet(cache_dir)
    pieces = shot_pieces(starts, total) if music is not None else speech_pieces(voices, total)
    encoded = 0
    regions: list[Region] = []
    film = frames_for(total)
    with open(path, "wb") as out:
        out.write(silence)  # the priming packet, which the player drops
        at = 0
        for piece in pieces:
            out.write(silence * (piece.first - at))
            # without music the stretch before a piece is silent, so its narrations are its own
            heard = _heard(piece, voices) if music else [v for v in voices if piece.first <= v.frame < piece.end]
            file = cache_dir / f"snd-{_piece_key(piece, heard, music)}.aac"
            if not hit(file):
                render_piece(piece, heard, music, path=file)
                encoded += 1
            out.write(file.read_bytes())  # after a silent packet (the priming, for the first)
            regions.append(Region(piece.first, piece.end, file, closed=piece.end < film))
            at = piece.end
        out.write(silence * (film - at))
    return SoundTrack(
        path=path,
        samples=total,
        encoded_pieces=encoded,
        pieces=len(pieces),
        regions=None if music else regions,
    )


def true_peak(track: SoundTrack, *, cache_dir: Path) -> float | None:
    """The true peak (dBTP) of a track without music, None where it is silent: the highest of
    its regions', each measured by ``ebur128`` once per content (its piece and where the film
    ends in it), decoded from the packets the track holds, the silent one either side, as the
    film decodes them. Every sample between regions is the codec's silence, so this is the whole
    track's figure, while an edit has only its new regions measured."""
    if track.regions is None:
        raise ValueError("A track with music is measured whole.")
    peaks: dict[int, float | None] = {}
    todo: list[tuple[int, bytes, int, Path]] = []
    for index, region in enumerate(track.regions):
        samples = min((region.end + 1) * FRAME, track.samples) - region.first * FRAME
        record = cache_dir / f"peak-{region.piece.stem}-{int(region.closed)}-{samples}-{VERSION}.json"
        if hit(record):
            peaks[index] = json.loads(record.read_text())["peak"]
        else:
            silence = silent_packet(cache_dir)
            packets = silence + region.piece.read_bytes() + (silence if region.closed else b"")
            todo.append((index, packets, samples, record))
    for at in range(0, len(todo), PEAKS_AT_ONCE):
        peaks.update(_measure_peaks(todo[at : at + PEAKS_AT_ONCE], folder=track.path.parent))
    heard = [peak for peak in peaks.values() if peak is not None]
    return max(heard) if heard else None


PEAKS_AT_ONCE = 32  # regions an ffmpeg measures (it runs a thread for each input and each output)


def _measure_peaks(todo: list[tuple[int, bytes, int, Path]], *, folder: Path) -> dict[int, float | None]:
    """Each region's true peak, all in one ffmpeg; each kept in its record."""
    files = [folder / f".peak-{os.getpid()}-{n}.aac" for n in range(len(todo))]
    try:
        inputs, chains, outputs = [], [], []
        for n, ((_, chunk, samples, _), file) in enumerate(zip(todo, files, strict=True)):
            file.write_bytes(chunk)
            inputs += ["-f", "aac", "-i", str(file)]
            # its first packet only gives the decoder the frame before: its sound is not the region's
            chains.append(
                f"[{n}:a]atrim=start_sample={FRAME}:end_sample={FRAME + samples},asetpts=PTS-STARTPTS,"
                f"ebur128@m{n}=peak=true:framelog=verbose[m{n}]"
            )
            outputs += ["-map", f"[m{n}]", "-f", "null", "-"]
        log = ffmpeg_log([*inputs, "-filter_complex", ";".join(chains), *outputs])
    finally:
        for file in files:
            file.unlink(missing_ok=True)
    found = {int(n): parse_loudness(summary) for n, summary in _SUMMARY.findall(log)}
    if len(found) != len(todo):
        raise EngineError("ffmpeg measured the sound's peaks only in part.", permanent=False)
    peaks = {}
    for n, (index, _, _, record) in enumerate(todo):
        peaks[index] = found[n].true_peak
        _write(record, json.dumps({"peak": peaks[index]}).encode())
    return peaks
