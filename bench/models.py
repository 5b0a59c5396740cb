"""The engines' cost on this machine, with real architectures at full size and random weights
(the same compute as the real weights, which cannot be downloaded here):

- keyframes: sd-turbo's architecture (Stable Diffusion 2.1 UNet, its VAE, OpenCLIP ViT-H text
  encoder; configs written from the published model_index/config.json files), saved once and
  loaded through ``inference.image.diffusers_keyframes`` — the code the workers run — at
  512x512, 1 step, guidance 0, batch 1 and 4, float32 and bfloat16;
- storyboard: Qwen2.5-0.5B-Instruct's architecture, tokens per second of greedy decoding;
- speech: real-time factor (synthesis seconds / audio seconds) of piper's en_US-joe-medium
  voice and espeak-ng, through ``inference.engines.speech``.

    python bench/models.py [--quick] [--device cuda] [--out bench/out/models.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.architectures import build_sd_turbo, qwen  # noqa: E402


def bench_keyframes(folder: Path, device: str, dtypes: list[str], batches: list[int], runs: int) -> list[dict]:
    from inference.image import KeyframeRequest, diffusers_keyframes
    from inference.models import CACHE, Runtime

    model = build_sd_turbo(folder)
    rows = []
    for dtype in dtypes:
        runtime = Runtime(device=device, dtype=dtype, models_dir=folder)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            request = KeyframeRequest("a lighthouse on a cliff at dusk", 1, Path(out) / "warm.png")
            diffusers_keyframes([request], model=str(model), runtime=runtime, width=512, height=512, style="photo")
            load_and_first = time.perf_counter() - started
            for batch in batches:
                times = []
                for run in range(runs if batch == 1 else 1):  # a batch of 4 takes minutes on a CPU
                    requests = [
                        KeyframeRequest("a lighthouse on a cliff at dusk", seed, Path(out) / f"{run}-{seed}.png")
                        for seed in range(batch)
                    ]
                    started = time.perf_counter()
                    diffusers_keyframes(
                        requests, model=str(model), runtime=runtime, width=512, height=512, style="photo"
                    )
                    times.append(time.perf_counter() - started)
                median = statistics.median(times)
                rows.append(
                    {
                        "dtype": dtype,
                        "batch": batch,
                        "runs": len(times),
                        "median_s": round(median, 2),
                        "per_image_s": round(median / batch, 2),
                        "first_call_with_load_s": round(load_and_first, 2),
                    }
                )
                print(
                    f"keyframes {dtype} batch {batch}: median {median:.2f} s ({median / batch:.2f} s/image)", flush=True
                )
        CACHE.clear()
    return rows


def _generate(model: Any, prompt: Any, count: int) -> float:
    """Seconds to generate exactly ``count`` tokens greedily after ``prompt``."""
    import torch

    started = time.perf_counter()
    with torch.inference_mode():
        model.generate(
            prompt, max_new_tokens=count, min_new_tokens=count, do_sample=False, eos_token_id=None, pad_token_id=0
        )
    return time.perf_counter() - started


def bench_storyboard(device: str, dtypes: list[str], tokens: int, runs: int) -> list[dict]:
    import torch

    rows = []
    for dtype in dtypes:
        model: Any = qwen().to(device=device, dtype=getattr(torch, dtype)).eval()
        prompt = torch.randint(0, 151936, (1, 512), device=device)  # about a short story's chat prompt

        _generate(model, prompt, 2)  # warm up
        prefill = statistics.median(_generate(model, prompt, 1) for _ in range(runs))
        whole = statistics.median(_generate(model, prompt, tokens) for _ in range(runs))
        rate = (tokens - 1) / (whole - prefill)
        rows.append(
            {
                "dtype": dtype,
                "prompt_tokens": 512,
                "new_tokens": tokens,
                "runs": runs,
                "prefill_s": round(prefill, 2),
                "decode_tokens_per_s": round(rate, 1),
                "whole_answer_s": round(whole, 2),
            }
        )
        print(
            f"storyboard Qwen2.5-0.5B {dtype}: prefill of 512 tokens {prefill:.2f} s, decoding {rate:.1f} tokens/s",
            flush=True,
        )
        del model
    return rows


def bench_constrained() -> list[dict]:
    """Does constrained decoding help? A small random chat model (the tests' one) asked once per
    story, with and without the JSON-schema filter: is the answer a usable storyboard, and at
    what cost. Random weights are the worst case for an unconstrained answer; what a real 0.5B
    model gains is smaller, but the guarantee is the same."""
    from inference.models import Runtime
    from inference.storyboard import transformers_storyboard
    from tests.tiny_models import build_chat_model

    rows = []
    with tempfile.TemporaryDirectory() as out:
        model = build_chat_model(Path(out))
        for story_file in sorted((ROOT.parent / "shared" / "stories").glob("*.txt")):
            story = story_file.read_text(encoding="utf-8")
            language = "zh" if ".zh." in story_file.name else "en"
            for constrained in (False, True):
                started = time.perf_counter()
                board = transformers_storyboard(
                    story,
                    model=str(model),
                    runtime=Runtime(models_dir=Path(out)),
                    shot_count=4,
                    language=language,
                    style="ink",
                    attempts=1,
                    max_new_tokens=1500,
                    constrained=constrained,
                    text_limit=40,
                )
                seconds = time.perf_counter() - started
                usable = board.backend == "transformers"
                rows.append(
                    {
                        "story": story_file.name,
                        "constrained": constrained,
                        "usable_answer": usable,
                        "seconds": round(seconds, 2),
                    }
                )
                print(f"constrained={constrained} {story_file.name}: usable={usable} in {seconds:.1f} s", flush=True)
    return rows


def bench_speech(runs: int) -> list[dict]:
    from inference import engines
    from inference.models import Runtime

    story = (ROOT.parent / "shared" / "stories" / "lighthouse.en.txt").read_text(encoding="utf-8")
    text = " ".join(story.split()[:120])
    rows = []
    for spec in ("piper:en_US-joe-medium", "espeak:en-us"):
        factors, duration = [], 0.0
        with tempfile.TemporaryDirectory() as out:
            for run in range(runs + 1):
                started = time.perf_counter()
                result = engines.speech(
                    spec, text, language="en", path=Path(out) / f"{run}.wav", runtime=Runtime(models_dir=Path(out))
                )
                factors.append((time.perf_counter() - started) / result.duration)
                duration = result.duration
        factor = statistics.median(factors[1:])
        rows.append({"spec": spec, "audio_s": round(duration, 1), "runs": runs, "real_time_factor": round(factor, 4)})
        print(f"speech {spec}: {duration:.1f} s of audio, real-time factor {factor:.3f}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one run each, batch 1 only, float32 only")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--folder", default=str(ROOT / "var" / "bench-models"))
    parser.add_argument("--out", default="")
    parser.add_argument("--dtypes", nargs="*", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--batches", nargs="*", type=int)
    parser.add_argument("--runs", type=int)
    parser.add_argument("--skip", nargs="*", default=[], choices=["keyframes", "storyboard", "speech", "constrained"])
    args = parser.parse_args()
    import torch

    from inference.models import pick_device

    device = pick_device(args.device)
    dtypes = args.dtypes or (["float32"] if args.quick else ["float32", "bfloat16"])
    runs = args.runs or (1 if args.quick else 3)
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, torch {torch.__version__}, "
        + (torch.cuda.get_device_name() if device.startswith("cuda") else "CPU"),
        "device": device,
    }
    print(report["machine"], flush=True)
    if "speech" not in args.skip:
        report["speech"] = bench_speech(runs)
    if "constrained" not in args.skip:
        report["constrained"] = bench_constrained()
    if "storyboard" not in args.skip:
        report["storyboard"] = bench_storyboard(device, dtypes, 32 if args.quick else 128, runs)
    if "keyframes" not in args.skip:
        batches = args.batches or ([1] if args.quick else [1, 4])
        # emulated bfloat16 takes > 7 min per keyframe on a CPU without it (bench/README.md): ask for it by name
        keyframe_dtypes = args.dtypes or (["float32"] if device == "cpu" else dtypes)
        report["keyframes"] = bench_keyframes(folder, device, keyframe_dtypes, batches, runs)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
