"""The engines' cost on this machine, with real architectures at full size and random weights
(the same compute as the real weights, which cannot be downloaded here):

- keyframes: sd-turbo's architecture (Stable Diffusion 2.1 UNet, its VAE, OpenCLIP ViT-H text
  encoder; configs written from the published model_index/config.json files), saved once and
  loaded through ``inference.image.diffusers_keyframes`` — the code the workers run — at
  512x512, 1 step, guidance 0, batch 1 and 4, float32 and bfloat16;
- storyboard: Qwen2.5-0.5B-Instruct's architecture, tokens per second of greedy decoding;
- speech: real-time factor (synthesis seconds / audio seconds) of piper's en_US-joe-medium
  voice and espeak-ng, through ``inference.engines.speech``.

    python bench/models.py [--quick] [--device cuda] [--out bench/results-models.json]
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

SD_TURBO_UNET: dict[str, Any] = {  # stabilityai/sd-turbo unet/config.json (SD 2.1 at 512)
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280, 1280),
    "attention_head_dim": (5, 10, 20, 20),
    "cross_attention_dim": 1024,
    "use_linear_projection": True,
    "act_fn": "silu",
    "norm_num_groups": 32,
    "down_block_types": ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
}
SD_TURBO_VAE: dict[str, Any] = {  # stabilityai/sd-turbo vae/config.json
    "sample_size": 768,
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (128, 256, 512, 512),
    "norm_num_groups": 32,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
}
SD_TURBO_TEXT: dict[str, Any] = {  # stabilityai/sd-turbo text_encoder/config.json (OpenCLIP ViT-H/14 text tower)
    "vocab_size": 49408,
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 23,
    "num_attention_heads": 16,
    "max_position_embeddings": 77,
    "hidden_act": "gelu",
    "projection_dim": 512,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "pad_token_id": 1,
}
QWEN25_05B: dict[str, Any] = {  # Qwen/Qwen2.5-0.5B-Instruct config.json
    "vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
    "num_attention_heads": 14, "num_key_value_heads": 2, "max_position_embeddings": 32768,
    "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": True,
}  # fmt: skip


def build_sd_turbo(folder: Path) -> Path:
    """sd-turbo's pipeline with random weights, saved once (about 5 GB in float32)."""
    target = folder / "sd-turbo-random"
    if (target / "model_index.json").is_file():
        return target
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from tests.tiny_models import clip_tokenizer

    torch.manual_seed(0)
    clip_tokenizer(folder / "clip-tokenizer")  # the vocabulary's content does not change the compute
    pipe: Any = StableDiffusionPipeline(
        vae=AutoencoderKL(**SD_TURBO_VAE), text_encoder=CLIPTextModel(CLIPTextConfig(**SD_TURBO_TEXT)),
        tokenizer=CLIPTokenizer.from_pretrained(folder / "clip-tokenizer"), unet=UNet2DConditionModel(**SD_TURBO_UNET),
        scheduler=EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                         timestep_spacing="trailing", steps_offset=1),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    pipe.save_pretrained(target)
    return target


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
                for run in range(runs):
                    requests = [
                        KeyframeRequest("a lighthouse on a cliff at dusk", seed, Path(out) / f"{run}-{seed}.png")
                        for seed in range(batch)
                    ]
                    started = time.perf_counter()
                    diffusers_keyframes(requests, model=str(model), runtime=runtime, width=512, height=512,
                                        style="photo")  # fmt: skip
                    times.append(time.perf_counter() - started)
                median = statistics.median(times)
                rows.append({"dtype": dtype, "batch": batch, "runs": runs, "median_s": round(median, 2),
                             "per_image_s": round(median / batch, 2),
                             "first_call_with_load_s": round(load_and_first, 2)})  # fmt: skip
                print(f"keyframes {dtype} batch {batch}: median {median:.2f} s ({median / batch:.2f} s/image)",
                      flush=True)  # fmt: skip
        CACHE.clear()
    return rows


def bench_storyboard(device: str, dtypes: list[str], tokens: int, runs: int) -> list[dict]:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    rows = []
    for dtype in dtypes:
        torch.manual_seed(0)
        model: Any = Qwen2ForCausalLM(Qwen2Config(**QWEN25_05B))
        model = model.to(device=device, dtype=getattr(torch, dtype)).eval()
        prompt = torch.randint(0, 151936, (1, 512), device=device)  # about a short story's chat prompt
        rates = []
        for _ in range(runs + 1):  # the first run warms up
            started = time.perf_counter()
            with torch.inference_mode():
                out = model.generate(prompt, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                                     eos_token_id=None, pad_token_id=0)  # fmt: skip
            rates.append((out.shape[-1] - prompt.shape[-1]) / (time.perf_counter() - started))
        rate = statistics.median(rates[1:])
        rows.append({"dtype": dtype, "prompt_tokens": 512, "new_tokens": tokens, "runs": runs,
                     "tokens_per_s": round(rate, 1)})  # fmt: skip
        print(f"storyboard Qwen2.5-0.5B {dtype}: {rate:.1f} tokens/s", flush=True)
        del model
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
                result = engines.speech(spec, text, language="en", path=Path(out) / f"{run}.wav",
                                        runtime=Runtime(models_dir=Path(out)))  # fmt: skip
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
    parser.add_argument("--skip", nargs="*", default=[], choices=["keyframes", "storyboard", "speech"])
    args = parser.parse_args()
    import torch

    from inference.models import pick_device

    device = pick_device(args.device)
    dtypes = ["float32"] if args.quick else ["float32", "bfloat16"]
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, torch {torch.__version__}, "
                   + (torch.cuda.get_device_name() if device.startswith("cuda") else "CPU"),
        "device": device,
    }  # fmt: skip
    print(report["machine"], flush=True)
    if "speech" not in args.skip:
        report["speech"] = bench_speech(1 if args.quick else 3)
    if "storyboard" not in args.skip:
        report["storyboard"] = bench_storyboard(device, dtypes, 32 if args.quick else 128, 1 if args.quick else 3)
    if "keyframes" not in args.skip:
        report["keyframes"] = bench_keyframes(folder, device, dtypes, [1] if args.quick else [1, 4],
                                              1 if args.quick else 3)  # fmt: skip
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
