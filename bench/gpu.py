"""Story to film on the best device here, one table (issue 15). Every model is its published
architecture with random weights (bench/architectures.py), run through the code the workers run:

- keyframes/s: sd-turbo at 512x512, 1 step, batch 1/4/8/12, float16 and bfloat16; then at
  batch 4, channels-last, the tiny autoencoder (taesd), torch.compile (its warm-up counted) and
  all three;
- FLUX.1-schnell at 1024x576, 4 steps, batch 1 and 4 (the quality tier): keyframes/s;
- one SVD clip (14 frames, MOTION_STEPS steps): latency and peak GPU memory;
- one LTX-Video clip, 768x512, 121 frames (5 s), the distilled 8 steps: latency and peak GPU memory;
- storyboard tokens/s, prefill and decode, Qwen2.5-0.5B: dynamic cache, static cache, and
  static cache compiled (transformers compiles it on CUDA only);
- piper: 12 narration lines one after another, then side by side on every core;
- composition of the 12-shot 720p film, segments encoded in parallel on every core;
- the whole story -> film through the engines (storyboard, keyframes, speech, composition),
  with each stage's share: once cold (model loads counted), once warm.

    python bench/gpu.py [--small | --full] [--write] [--only SECTION ...] [--runs N]
    python bench/gpu.py --empty --write    # the full-size table with its rows left empty

``--small`` (the default without CUDA) runs the same layouts reduced, to check the script on a
CPU; those numbers say nothing of the real models. ``--write`` puts the table into
bench/README.md between this device class's markers; the JSON goes to bench/out/gpu-*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
STORIES = Path(os.environ.get("STORIES_DIR", ROOT.parent / "shared" / "stories"))
SECTIONS = ("keyframes", "flux", "svd", "ltx", "storyboard", "speech", "compose", "film")
SHOTS = 12


@dataclass
class Context:
    device: str
    small: bool
    runs: int
    folder: Path
    work: Path
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    seen: dict[str, float] = field(default_factory=dict)  # measurements later rows compare with

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def size(self) -> int:
        return 256 if self.small else 512


@dataclass
class Row:
    section: str
    what: str
    result: str = ""


def sync(ctx: Context) -> None:
    if ctx.cuda:
        import torch

        torch.cuda.synchronize()


def timed(ctx: Context, call: Callable[[], Any]) -> float:
    sync(ctx)
    started = time.perf_counter()
    call()
    sync(ctx)
    return time.perf_counter() - started


def median_of(ctx: Context, call: Callable[[], Any], runs: int) -> float:
    return statistics.median(timed(ctx, call) for _ in range(runs))


def release(ctx: Context) -> None:
    from inference.models import CACHE, release_memory

    CACHE.clear()
    release_memory()


# --- keyframes ----------------------------------------------------------------------------------
def keyframe_dtypes(ctx: Context) -> list[str]:
    return ["float16", "bfloat16"] if ctx.cuda else ["float32"]


def keyframe_batches(ctx: Context) -> list[int]:
    return [1, 4] if ctx.small else [1, 4, 8, 12]


KEYFRAME_OPTIONS = ("channels-last", "taesd", "torch.compile", "all three")


def keyframes(ctx: Context, dry: bool) -> list[Row]:
    from bench.architectures import build_sd_turbo, build_taesd
    from inference.image import KeyframeRequest, diffusers_keyframes
    from inference.models import Runtime

    rows = []
    size = ctx.size
    model = "" if dry else str(build_sd_turbo(ctx.folder, small=ctx.small))
    taesd = "" if dry else str(build_taesd(ctx.folder, small=ctx.small))

    def paint(runtime: Runtime, batch: int) -> None:
        requests = [
            KeyframeRequest("a lighthouse on a cliff at dusk", seed, ctx.work / f"k{seed}.png") for seed in range(batch)
        ]
        diffusers_keyframes(requests, model=model, runtime=runtime, width=size, height=size, style="photo")

    def rate(seconds: float, batch: int) -> str:
        return f"{batch / seconds:.2f} keyframes/s ({seconds * 1000 / batch:.0f} ms each)"

    for dtype in keyframe_dtypes(ctx):
        runtime = Runtime(device=ctx.device, dtype=dtype, models_dir=ctx.folder)
        load = Row("keyframes", f"sd-turbo {dtype}: load and first keyframe")
        if not dry:
            load.result = f"{timed(ctx, partial(paint, runtime, 1)):.1f} s"
        rows.append(load)
        for batch in keyframe_batches(ctx):
            row = Row("keyframes", f"sd-turbo {size}x{size}, 1 step, {dtype}, batch {batch}")
            if not dry:
                seconds = median_of(ctx, partial(paint, runtime, batch), ctx.runs)
                ctx.seen[f"keyframe {dtype} {batch}"] = seconds
                row.result = rate(seconds, batch)
            rows.append(row)
        release(ctx)
    dtype, batch = keyframe_dtypes(ctx)[0], 4
    for option in KEYFRAME_OPTIONS:
        row = Row("keyframes", f"{dtype}, batch {batch}, {option}")
        if not dry:
            runtime = Runtime(
                device=ctx.device,
                dtype=dtype,
                models_dir=ctx.folder,
                channels_last=option in ("channels-last", "all three"),
                compile=option in ("torch.compile", "all three"),
                image_vae=taesd if option in ("taesd", "all three") else "",
            )
            first = timed(ctx, partial(paint, runtime, batch))  # load, and compile
            seconds = median_of(ctx, partial(paint, runtime, batch), ctx.runs)
            plain = ctx.seen[f"keyframe {dtype} {batch}"]
            row.result = f"{rate(seconds, batch)}, {plain / seconds:.2f}x; first call {first:.1f} s"
            if "compile" in option or option == "all three":
                saved = (plain - seconds) / batch  # per keyframe
                warmup = first - seconds
                row.result += (
                    f"; pays back its warm-up after {warmup / saved:.0f} keyframes"
                    if saved > 0
                    else "; never pays back"
                )
            release(ctx)
        rows.append(row)
    return rows


# --- motion -------------------------------------------------------------------------------------
def clip_timing(ctx: Context, clip: Callable[[], None]) -> tuple[float, float, str]:
    """A clip's median seconds after its first call (the load), that first call's, and its peak
    GPU memory."""
    import torch

    first = timed(ctx, clip)
    if ctx.cuda:
        torch.cuda.reset_peak_memory_stats()
    seconds = median_of(ctx, clip, max(1, ctx.runs - 1))
    if not ctx.cuda:
        return seconds, first, "on the CPU: no GPU memory to measure"
    return seconds, first, f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"


def svd(ctx: Context, dry: bool) -> list[Row]:
    from bench.architectures import build_svd
    from inference.image import draft_card
    from inference.models import Runtime
    from inference.motion import svd_clip

    steps = 2 if ctx.small else 25
    row = Row("svd", f"SVD img2vid, 14 frames, {steps} steps, {'reduced' if ctx.small else '1024x576'}")
    if dry:
        return [row]

    model = str(build_svd(ctx.folder, small=ctx.small))
    still = draft_card("a lighthouse", width=1024, height=576, style="photo", seed=1, path=ctx.work / "still.png")
    runtime = Runtime(device=ctx.device, models_dir=ctx.folder)

    def clip() -> None:
        svd_clip(Path(still.path), model=model, runtime=runtime, path=ctx.work / "clip.mp4", seed=1, steps=steps)

    seconds, first, peak = clip_timing(ctx, clip)
    row.result = f"{seconds:.1f} s a clip ({peak}); first call with load {first:.1f} s"
    release(ctx)
    return [row]


def ltx(ctx: Context, dry: bool) -> list[Row]:
    from bench.architectures import build_ltx
    from inference.image import draft_card
    from inference.models import Runtime
    from inference.motion import ltx_clip

    width, height, frames, fps = (64, 32, 17, 8) if ctx.small else (768, 512, 121, 24)
    size = "reduced (the tests' tiny pipeline), 64x32, 17 frames" if ctx.small else f"{width}x{height}, 121 frames"
    row = Row("ltx", f"LTX-Video {'' if ctx.small else '2B architecture '}clip, {size}, 8 steps")
    if dry:
        return [row]

    model = str(build_ltx(ctx.folder, small=ctx.small))
    still = draft_card("a lighthouse", width=1024, height=576, style="photo", seed=1, path=ctx.work / "still.png")
    runtime = Runtime(device=ctx.device, models_dir=ctx.folder, dtype="bfloat16" if ctx.cuda else "auto")

    def clip() -> None:
        ltx_clip(
            Path(still.path),
            model=model,
            runtime=runtime,
            path=ctx.work / "ltx.mp4",
            seed=1,
            prompt="waves break below a lighthouse, the camera slowly pushes in",
            seconds=(frames - 1) / fps,
            fps=fps,
            area=width * height,
        )

    seconds, first, peak = clip_timing(ctx, clip)
    row.result = f"{seconds:.2f} s a clip of {(frames - 1) / fps:.0f} s ({peak}); first call with load {first:.1f} s"
    release(ctx)
    return [row]


def flux(ctx: Context, dry: bool) -> list[Row]:
    from bench.architectures import build_flux
    from inference.image import KeyframeRequest, diffusers_keyframes
    from inference.models import Runtime

    width, height = (128, 72) if ctx.small else (1024, 576)
    what = "reduced (the tests' tiny pipeline)" if ctx.small else "FLUX.1 architecture"
    rows = [Row("flux", f"{what}, {width}x{height}, 4 steps, batch {batch}") for batch in (1, 4)]
    if dry:
        return rows
    model = str(build_flux(ctx.folder, small=ctx.small))
    runtime = Runtime(device=ctx.device, models_dir=ctx.folder, dtype="bfloat16" if ctx.cuda else "auto")

    def paint(batch: int) -> None:
        requests = [KeyframeRequest("a lighthouse at dusk", seed, ctx.work / f"f{seed}.png") for seed in range(batch)]
        diffusers_keyframes(requests, model=model, runtime=runtime, width=width, height=height, style="photo", steps=4)

    first = timed(ctx, partial(paint, 1))
    for row, batch in zip(rows, (1, 4), strict=True):
        seconds = median_of(ctx, partial(paint, batch), ctx.runs)
        row.result = f"{batch / seconds:.2f} keyframes/s ({seconds * 1000 / batch:.0f} ms each)"
    rows[0].result += f"; first call with load {first:.1f} s"
    release(ctx)
    return rows


# --- storyboard ---------------------------------------------------------------------------------
def storyboard(ctx: Context, dry: bool) -> list[Row]:
    from bench.architectures import qwen
    from inference.models import pick_dtype

    prompt_tokens, new_tokens = (128, 32) if ctx.small else (512, 256)
    answer = SHOTS * 80  # a real 0.5B model's storyboard answer: ~80 tokens a shot, no narration
    variants: dict[str, dict[str, Any]] = {
        "dynamic cache": {},
        "static cache": {"cache_implementation": "static", "disable_compile": True},
        "static cache, compiled": {"cache_implementation": "static"},
    }
    dtype = "float16" if ctx.cuda else "float32"  # INFERENCE_DTYPE=auto
    rows = [Row("storyboard", f"Qwen2.5-0.5B {dtype}, {prompt_tokens}-token prompt, {name}") for name in variants]
    whole_answer = Row("storyboard", f"a {SHOTS}-shot answer ({answer} new tokens), the fastest of the three")
    if dry:
        return [*rows, whole_answer]
    import torch

    model: Any = qwen(small=ctx.small).to(device=ctx.device, dtype=pick_dtype(ctx.device)).eval()
    prompt = torch.randint(0, 151936, (1, prompt_tokens), device=ctx.device)

    def generate(count: int, options: dict[str, Any]) -> None:
        with torch.inference_mode():
            model.generate(
                prompt,
                max_new_tokens=count,
                min_new_tokens=count,
                do_sample=False,
                eos_token_id=None,
                pad_token_id=0,
                **options,
            )

    rates: dict[str, float] = {}
    for row, (name, options) in zip(rows, variants.items(), strict=True):
        if name.endswith("compiled") and not ctx.cuda:
            row.result = "— (transformers compiles the static cache on CUDA only)"
        else:
            first = timed(ctx, partial(generate, new_tokens, options))  # warm-up (and compile)
            prefill = median_of(ctx, partial(generate, 1, options), ctx.runs)
            whole = median_of(ctx, partial(generate, new_tokens, options), ctx.runs)
            decode = rates[name] = (new_tokens - 1) / max(1e-9, whole - prefill)
            row.result = f"prefill {prompt_tokens / prefill:,.0f} tokens/s, decode {decode:.1f} tokens/s"
            row.result += f"; first call {first:.1f} s"
    fastest = max(rates, key=rates.__getitem__)
    seconds = median_of(ctx, partial(generate, answer, variants[fastest]), ctx.runs)
    whole_answer.result = f"**{seconds:.1f} s** ({fastest})"
    release(ctx)
    return [*rows, whole_answer]


# --- speech -------------------------------------------------------------------------------------
def story_lines() -> list[str]:
    from inference.storyboard import group_balanced
    from inference.text import split_sentences

    sentences = split_sentences((STORIES / "lighthouse.en.txt").read_text(encoding="utf-8"))
    return [" ".join(group) for group in group_balanced(sentences, SHOTS)]


def speech(ctx: Context, dry: bool) -> list[Row]:
    from inference.engines import SpeechLine, speech_lines
    from inference.errors import EngineError
    from inference.models import Runtime

    rows = [
        Row("speech", f"piper en_US-joe-medium, {SHOTS} lines one after another"),
        Row("speech", f"piper, {SHOTS} lines side by side on {ctx.cores} cores (SPEECH_PARALLEL)"),
    ]
    if dry:
        rows[1].what = f"piper, {SHOTS} lines side by side on the machine's cores (SPEECH_PARALLEL)"
        return rows
    lines = [
        SpeechLine("piper:en_US-joe-medium", text, "en", ctx.work / f"line{i}.wav")
        for i, text in enumerate(story_lines())
    ]
    runtime = Runtime(models_dir=ctx.folder)
    audio = 0.0
    for row, workers in zip(rows, (1, ctx.cores), strict=True):
        speech_lines(lines[:2], runtime=runtime, workers=workers)  # load the voice (once per thread count)

        def speak(workers: int = workers) -> None:
            nonlocal audio
            results = speech_lines(lines, runtime=runtime, workers=workers)
            audio = sum(r.duration for r in results if not isinstance(r, EngineError))

        seconds = median_of(ctx, speak, ctx.runs)
        ctx.seen[f"speech {workers}"] = seconds
        row.result = f"{seconds:.2f} s for {audio:.0f} s of narration ({seconds / audio:.3f} of real time)"
    rows[1].result += f", {ctx.seen['speech 1'] / ctx.seen[f'speech {ctx.cores}']:.2f}x"
    release(ctx)
    return rows


# --- composition --------------------------------------------------------------------------------
def compose(ctx: Context, dry: bool) -> list[Row]:
    cores = "every core" if dry else f"{ctx.cores} cores"
    row = Row("compose", f"{SHOTS}-shot 1280x720 film (camera moves, dissolves, captions), segments on {cores}")
    if dry:
        return [row]
    from bench.compose import OUT, prepare
    from inference.compose import ShotInput, compose_film

    shots = prepare(SHOTS, OUT / str(SHOTS))
    inputs = [
        ShotInput(
            image=Path(str(s["image"])),
            duration=float(str(s["speech"])) + 0.6,
            camera=str(s["camera"]),
            narration=str(s["text"]),
            audio=Path(str(s["audio"])),
            audio_duration=float(str(s["speech"])),
        )
        for s in shots
    ]
    times, length = [], 0.0
    for run in range(ctx.runs):
        started = time.perf_counter()
        film = compose_film(
            inputs, width=1280, height=720, cache_dir=ctx.work / f"cache{run}", out_dir=ctx.work / f"film{run}"
        )
        times.append(time.perf_counter() - started)
        length = film.duration
    seconds = statistics.median(times)
    row.result = f"{seconds:.1f} s for a {length:.1f} s film ({length / seconds:.1f}x real time)"
    return [row]


# --- the whole film -----------------------------------------------------------------------------
FILM_STAGES = ("storyboard", "keyframes", "speech", "motion", "composition")


def film(ctx: Context, dry: bool) -> list[Row]:
    runs = ("cold (loads counted)", "warm", "every shot animated (LTX-Video), warm")
    rows = [Row("film", f"story to MP4, {SHOTS} shots, 720p, {run}") for run in runs]
    if dry:
        return rows
    from bench.architectures import build_ltx, build_qwen_chat, build_sd_turbo

    chat = build_qwen_chat(ctx.folder, small=ctx.small)
    sd = build_sd_turbo(ctx.folder, small=ctx.small)
    ltx = build_ltx(ctx.folder, small=ctx.small)
    for row, run in zip(rows[:2], runs, strict=False):
        row.result = film_once(ctx, chat, sd, ctx.work / run.split()[0])
    film_once(ctx, chat, sd, ctx.work / "animated-warm-up", ltx=ltx)  # LTX-Video loaded
    rows[2].result = film_once(ctx, chat, sd, ctx.work / "animated", ltx=ltx)
    release(ctx)
    return rows


def film_once(ctx: Context, chat: Path, sd: Path, work: Path, ltx: Path | None = None) -> str:
    """One story to one film through the engines: the time, and each stage's share of it."""
    from inference import engines
    from inference.compose import ShotInput, compose_film
    from inference.errors import EngineError
    from inference.image import KeyframeRequest
    from inference.models import Runtime
    from inference.registry import MotionJob
    from inference.styles import motion_words
    from inference.usage import metering

    story = (STORIES / "lighthouse.en.txt").read_text(encoding="utf-8")
    runtime = Runtime(device=ctx.device, models_dir=ctx.folder)
    spent: dict[str, float] = {}

    @contextmanager
    def stage(what: str) -> Iterator[None]:
        sync(ctx)
        started = time.perf_counter()
        yield
        sync(ctx)
        spent[what] = time.perf_counter() - started

    with stage("storyboard"), metering() as usage:
        board = engines.storyboard(
            f"transformers:{chat}", story, shot_count=SHOTS, language="en", style="cinematic", runtime=runtime
        )
    requests = [KeyframeRequest(shot.prompt, index, work / f"k{index}.png") for index, shot in enumerate(board.shots)]
    with stage("keyframes"):
        engines.keyframes(f"diffusers:{sd}", requests, width=1280, height=720, style="cinematic", runtime=runtime)
    lines = [
        engines.SpeechLine("piper:en_US-joe-medium", shot.narration, "en", work / f"s{index}.wav")
        for index, shot in enumerate(board.shots)
    ]
    with stage("speech"):
        voices = engines.speech_lines(lines, runtime=runtime, workers=ctx.cores)
    spoken = [voice for voice in voices if not isinstance(voice, EngineError)]
    if len(spoken) < len(voices):
        raise SystemExit(f"a narration line failed: {next(v for v in voices if isinstance(v, EngineError))}")
    clips: list[Path | None] = [None] * len(spoken)
    if ltx is not None:  # each keyframe animated for its shot's length (reduced: 64x32 at 8 fps)
        area, fps = (64 * 32, 8) if ctx.small else (768 * 512, 24)
        with stage("motion"):
            for index, (request, voice, shot) in enumerate(zip(requests, spoken, board.shots, strict=True)):
                job = MotionJob(
                    request.path,
                    work / f"m{index}.mp4",
                    index,
                    prompt=motion_words(shot.prompt, shot.camera),
                    seconds=voice.duration + 0.6,
                    fps=fps,
                    area=area,
                )
                clip, note = engines.motion(f"ltx:{ltx}", job, runtime=runtime)
                if clip is None:
                    raise SystemExit(f"no clip: {note}")
                clips[index] = Path(clip.path)
    inputs = [
        ShotInput(
            image=request.path,
            duration=voice.duration + 0.6,
            camera=shot.camera,
            transition=shot.transition,
            narration=shot.narration,
            audio=Path(voice.path),
            audio_duration=voice.duration,
            sentences=voice.sentences,
            motion=clip,
        )
        for request, voice, shot, clip in zip(requests, spoken, board.shots, clips, strict=True)
    ]
    with stage("composition"):
        made = compose_film(inputs, width=1280, height=720, cache_dir=work / "cache", out_dir=work / "film")
    total = sum(spent.values())
    shares = ", ".join(
        f"{what} {spent[what]:.1f} s ({spent[what] / total:.0%})" for what in FILM_STAGES if what in spent
    )
    # random weights write a random answer (its length too); where it is unusable, the draft
    # splitter's shots stand in, and the row says so
    writer = "the model" if board.backend == "transformers" else "the draft splitter (the random answer was unusable)"
    return (
        f"**{total:.1f} s** for a {made.duration:.1f} s film of {len(board.shots)} shots: {shares}; "
        f"the storyboard's {usage.tokensOut} tokens written, its shots by {writer}"
    )


# --- the table ----------------------------------------------------------------------------------
RUNNERS: dict[str, Callable[[Context, bool], list[Row]]] = {
    "keyframes": keyframes,
    "flux": flux,
    "svd": svd,
    "ltx": ltx,
    "storyboard": storyboard,
    "speech": speech,
    "compose": compose,
    "film": film,
}


def machine(ctx: Context) -> str:
    import torch

    chip = torch.cuda.get_device_name() if ctx.cuda else platform.processor() or platform.machine()
    return f"{chip}, {ctx.cores} cores, torch {torch.__version__}"


def table(rows: list[Row], heading: str) -> str:
    lines = [heading, "", "| stage | measured | result |", "|---|---|---|"]
    lines += [f"| {row.section} | {row.what} | {row.result} |" for row in rows]
    return "\n".join(lines) + "\n"


def write(readme: Path, block: str, text: str) -> None:
    content = readme.read_text(encoding="utf-8")
    start, end = f"<!-- gpu.py:{block} -->\n", f"<!-- /gpu.py:{block} -->"
    if start not in content or end not in content:
        raise SystemExit(f"{readme} has no {start.strip()} … {end} markers")
    head, rest = content.split(start, 1)
    readme.write_text(head + start + text + end + rest.split(end, 1)[1], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--small", action="store_true", help="reduced sizes (the default without CUDA)")
    size.add_argument("--full", action="store_true", help="full sizes even without CUDA")
    parser.add_argument("--empty", action="store_true", help="run nothing: the full-size table, its results empty")
    parser.add_argument("--only", nargs="*", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--runs", type=int, default=3, help="timed runs after each warm-up (medians)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--folder", default=str(ROOT / "var" / "bench-models"))
    parser.add_argument("--write", action="store_true", help="put the table into the README (--readme)")
    parser.add_argument("--readme", default=str(ROOT / "bench" / "README.md"))
    args = parser.parse_args()
    from inference.models import pick_device

    device = "cuda" if args.empty else pick_device(args.device)
    small = not args.empty and (args.small or (not args.full and not device.startswith("cuda")))
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-bench-"))
    ctx = Context(device=device, small=small, runs=args.runs, folder=folder, work=work)
    rows: list[Row] = []
    try:
        for section in args.only:
            started = time.perf_counter()
            made = RUNNERS[section](ctx, args.empty)
            for row in made:
                print(f"{row.section}: {row.what}: {row.result}", flush=True)
            if not args.empty:
                print(f"({section} took {time.perf_counter() - started:.0f} s)", flush=True)
            rows += made
    finally:
        shutil.rmtree(work, ignore_errors=True)
    block = "cuda" if device.startswith("cuda") else "cpu"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if args.empty:
        heading = "*One NVIDIA GPU: not yet measured (no GPU has been lent to this project's sessions).*"
    else:
        heading = (
            f"*{machine(ctx)}{', reduced sizes' if small else ''}; {when}; medians of {args.runs} after a warm-up.*"
        )
    text = table(rows, heading)
    out = ROOT / "bench" / "out" / f"gpu-{block}{'-small' if small else ''}.json"
    if not args.empty:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"machine": heading, "rows": [row.__dict__ for row in rows]}, indent=2))
    print(text)
    if args.write:
        write(Path(args.readme), block, text)


if __name__ == "__main__":
    main()
