"""The film's sound as a listener gets it, measured by ffmpeg's ``ebur128`` in regions that an
edit replaces one at a time.

EBU R128's integrated loudness and loudness range are gated means and percentiles of block
loudnesses (400 ms blocks for the one, 3 s for the other, a block every 100 ms), and true peak is
a maximum: all three are made from per-block figures, so the track can be measured in regions
and the regions' blocks put together. A region is measured from the track's own packets (the
bytes the film holds, by stream copy) with 3 s of what comes before it as context, so each of
its blocks is the block a pass over the whole film would see there; it is cached by those bytes
and its place relative to them. A recompose then listens again only to the regions whose bytes
changed: the edited narration's, and those whose 3 s of context it is in or moved (a narration
sits at the AAC frame nearest its shot's start, so the gap between two can change by a frame
when a shot before them changes length), never the whole film. The blocks are on each region's
own 100 ms grid (where a whole-film pass has one): the same measurement taken at other instants,
within about 0.1 LU of a single pass on a film of a minute. Silence is where no 100 ms frame's
true peak reaches ``QUIET_DBFS``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference.media import ffmpeg_log

SAMPLE_RATE = 48000
FRAME = 1024  # samples per AAC packet
TICK = SAMPLE_RATE // 10  # ebur128 gives a block every 100 ms
CONTEXT = -(-3 * SAMPLE_RATE // FRAME)  # packets before a region: the 3 s of a short-term block
QUIET_DBFS = -50.0  # below this nothing is heard (silencedetect's -50 dB)
ABSOLUTE_GATE = -70.0
VERSION = 3  # bump to measure every region again
# A film shorter than this is measured as one region: its blocks are few, and where each region
# keeps its own 100 ms grid their phase moves the gated mean by up to a few tenths of an LU (by
# about 0.1 LU at a minute); one pass over a short film costs little.
IN_ONE_PASS = 30 * SAMPLE_RATE

# ebur128's line for each 100 ms block: its end (t), momentary (M, 400 ms) and short-term (S, 3 s)
# loudness, and the frame's true peak per channel (FTPK).
_BLOCK = re.compile(
    r"\[ebur128@r(\d+) @ [^\]]+\] t: ([\d.]+)\s+TARGET:\S+ LUFS\s+"
    r"M:\s*(\S+)\s+S:\s*(\S+)\s+I:.*?FTPK:((?:\s+\S+)+?) dBFS"
)


@dataclass(frozen=True)
class Region:
    """A stretch of the film, in samples: its blocks are those that end in ``(start, end]``, up
    to where the next region begins. From ``silent_from`` on, the track is the codec's silent
    packet until the next region: the region is measured so (what follows it in the film does
    not change its measure, only how much of it counts)."""

    start: int
    end: int
    silent_from: int | None = None


@dataclass
class Heard:
    integrated: float | None  # LUFS; None where nothing rose above the gate (silence)
    true_peak: float | None  # dBTP
    range: float | None  # LU
    silences: list[tuple[float, float]] = field(default_factory=list)  # seconds, every one
    listened: int = 0  # regions decoded for this measurement (the rest were cached)


def _value(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _listen(sources: list[tuple[list[str], str]]) -> list[list[tuple[int, float | None, float | None, float | None]]]:
    """Each source (ffmpeg input arguments, the filters before measuring) measured in one
    ffmpeg: its blocks as (end sample, M, S, frame true peak), from the start of its output."""
    chains, outputs, inputs = [], [], []
    for index, (arguments, before) in enumerate(sources):
        inputs += arguments
        chains.append(f"[{index}:a]{before}ebur128@r{index}=peak=true:framelog=info[o{index}]")
        outputs += ["-map", f"[o{index}]", "-f", "null", "-"]
    log = ffmpeg_log([*inputs, "-filter_complex", ";".join(chains), *outputs])
    blocks: list[list[tuple[int, float | None, float | None, float | None]]] = [[] for _ in sources]
    for index, t, momentary, short, peaks in _BLOCK.findall(log):
        heard = [p for p in (_value(x) for x in peaks.split()) if p is not None]
        blocks[int(index)].append(
            (round(float(t) * 10) * TICK, _value(momentary), _value(short), max(heard) if heard else None)
        )
    return blocks


def _record(
    blocks: list[tuple[int, float | None, float | None, float | None]], offset: int, region: Region
) -> dict[str, Any]:
    """A region's blocks, relative to its start: those ending in it (loudness), and for the
    peaks also the one that ends just before it (the frames join without a gap)."""
    start, end = region.start - offset, region.end - offset
    return {
        "blocks": [[e - start, m, s] for e, m, s, _ in blocks if start < e <= end],
        "peaks": [[e - start, p] for e, _, _, p in blocks if start - TICK < e <= end],
    }


def measure_track(track: Path, regions: list[Region], *, samples: int, cache_dir: Path) -> Heard:
    """The sound of an ADTS track whose first packet is the codec's priming (as
    ``inference.sound`` writes it), ``samples`` long, measured region by region. Where no region
    is, the track is the codec's silent packet: nothing is heard there."""
    from inference.sound import adts_packets

    packets = adts_packets(track.read_bytes())
    if samples < IN_ONE_PASS and regions:
        regions = [Region(0, samples)]
    records: list[dict[str, Any] | None] = []
    todo: list[tuple[int, bytes, int, Path]] = []
    for region in regions:
        # Packet i decodes the film's frame i - 1 (packet 0 is the priming): decoding from
        # packet ``first`` and dropping its frame gives the film from sample first * FRAME.
        first = max(0, region.start // FRAME - CONTEXT)
        last = -(-region.end // FRAME) + 1
        kept = packets[first : min(last, region.silent_from // FRAME + 1) if region.silent_from else last]
        data = b"".join(kept) + packets[0] * (last - first - len(kept))  # packet 0: the silent priming
        offset = first * FRAME
        place = f"{region.start - offset}:{region.end - offset}:{VERSION}".encode()
        path = cache_dir / f"heard-{hashlib.sha256(data + place).hexdigest()[:32]}.json"
        records.append(json.loads(path.read_text()) if path.exists() else None)
        if records[-1] is None:
            todo.append((len(records) - 1, data, offset, path))
    if todo:
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".hear-") as scratch:

            def measure(batch: list[tuple[int, bytes, int, Path]]) -> None:
                sources = []
                for index, data, offset, _ in batch:
                    part = Path(scratch) / f"{index}.aac"
                    part.write_bytes(data)
                    length = regions[index].end - offset
                    trim = f"atrim=start_sample={FRAME}:end_sample={FRAME + length},asetpts=PTS-STARTPTS,"
                    sources.append((["-f", "aac", "-i", str(part)], trim))
                for (index, _, offset, path), blocks in zip(batch, _listen(sources), strict=True):
                    records[index] = _record(blocks, offset, regions[index])
                    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                    tmp.write_text(json.dumps(records[index]))
                    os.replace(tmp, path)

            # an ffmpeg a core, each with a share of the regions, and at least 4 an ffmpeg (its start costs)
            workers = max(1, min(-(-len(todo) // 4), os.cpu_count() or 1))
            batches = [todo[i::workers] for i in range(workers)]
            with ThreadPoolExecutor(max_workers=len(batches)) as pool:
                list(pool.map(measure, batches))
    limits = [region.start for region in regions[1:]] + [samples] * bool(regions)
    placed = [
        (region.start, min(limit, samples), record)
        for region, limit, record in zip(regions, limits, records, strict=True)
        if record is not None
    ]
    heard = _heard(placed, samples)
    heard.listened = len(todo)
    return heard


def measure_media(path: Path) -> Heard:
    """The sound of any media file, in one pass (a single region from its first sample)."""
    (blocks,) = _listen([(["-i", str(path)], "")])
    end = blocks[-1][0] if blocks else 0
    return _heard([(0, end, _record(blocks, 0, Region(0, end)))], end)


def _gated_mean(loudness: list[float], relative: float) -> tuple[float, list[float]] | None:
    """The mean of ``loudness`` values (as energies) over the absolute gate, the relative gate
    ``relative`` LU under it, and the values above both; None where none passes."""
    over = [x for x in loudness if x >= ABSOLUTE_GATE]
    if not over:
        return None
    gate = _energy_mean(over) + relative
    kept = [x for x in over if x >= gate]
    return (_energy_mean(kept), kept) if kept else None


def _energy_mean(loudness: list[float]) -> float:
    return -0.691 + 10 * math.log10(sum(10 ** ((x + 0.691) / 10) for x in loudness) / len(loudness))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def _heard(placed: list[tuple[int, int, dict[str, Any]]], samples: int) -> Heard:
    """EBU R128 (BS.1770-4: blocks gated at -70 LUFS and 10 LU under their mean; EBU Tech 3342:
    short-term blocks gated at -70 LUFS and 20 LU under, 10th to 95th percentile) and the
    silences, from the regions' blocks (each region's up to ``limit``, where the next begins)."""
    blocks = [(m, s) for start, limit, record in placed for e, m, s in record["blocks"] if start + e <= limit]
    integrated = _gated_mean([m for m, _ in blocks if m is not None], -10.0)
    spread = _gated_mean([s for _, s in blocks if s is not None], -20.0)
    peaks = [(start + e, p) for start, limit, record in placed for e, p in record["peaks"] if start + e <= limit]
    loud = sorted((max(0, e - TICK), min(samples, e)) for e, p in peaks if p is not None and p >= QUIET_DBFS)
    silences, at = [], 0
    for begin, end in loud:
        if begin > at:
            silences.append((round(at / SAMPLE_RATE, 3), round(begin / SAMPLE_RATE, 3)))
        at = max(at, end)
    if samples > at:
        silences.append((round(at / SAMPLE_RATE, 3), round(samples / SAMPLE_RATE, 3)))
    heard_peaks = [p for _, p in peaks if p is not None]
    return Heard(
        integrated=round(integrated[0], 1) if integrated else None,
        true_peak=round(max(heard_peaks), 1) if heard_peaks and max(heard_peaks) > ABSOLUTE_GATE else None,
        range=round(_percentile(spread[1], 0.95) - _percentile(spread[1], 0.10), 1) if spread else 0.0,
        silences=silences,
    )
