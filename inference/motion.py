"""Keyframe -> short clip. The ``diffusers`` back end: Stable Video Diffusion (optional; the
default ``kenburns`` camera move is made at composition and needs nothing here)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.image import generation_size
from inference.media import run_ffmpeg
from inference.models import Runtime
from inference.sentences import Sentence, denoising
from inference.types import Progress, no_progress


@dataclass
class MotionResult:
    path: str
    frames: int
    fps: int
    width: int
    height: int
    backend: str
    model: str = ""
    note: str = ""


def load_image2video(source: str, *, device: str, dtype: Any, low_memory: bool) -> Any:
    from diffusers import StableVideoDiffusionPipeline

    pipe = StableVideoDiffusionPipeline.from_pretrained(source, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    if low_memory and device.startswith("cuda"):
        pipe.enable_model_cpu_offload()  # moves each part to the GPU only while it runs
        return pipe
    return pipe.to(device)


def svd_clip(
    image: Path,
    *,
    model: str,
    runtime: Runtime,
    path: Path,
    seed: int,
    frames: int = 14,
    fps: int = 7,
    steps: int = 25,
    progress: Progress = no_progress,
) -> MotionResult:
    """Animate a keyframe into ``frames`` frames at ``fps`` and encode them as an H.264 MP4."""
    from PIL import Image

    from inference.models import load_model

    pipe = load_model(
        "diffusers-i2v",
        model,
        runtime,
        lambda source, device, dtype: load_image2video(
            source, device=device, dtype=dtype, low_memory=runtime.low_memory
        ),
    ).model
    import torch  # after the load: missing weights are found before torch is imported

    still = Image.open(image).convert("RGB")
    # The model's native area in the keyframe's aspect ratio: 1024x576 for SVD at 16:9.
    native = int(pipe.unet.config.sample_size) * int(pipe.vae_scale_factor)
    width, height = generation_size(still.width, still.height, area=native * native, multiple=max(8, native // 8))
    still = still.resize((width, height), Image.Resampling.LANCZOS)

    def on_step(pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        progress(0.9 * (step + 1) / steps, denoising(step + 1, steps))
        return tensors

    with torch.inference_mode():
        clip = pipe(
            still,
            width=width,
            height=height,
            num_frames=frames,
            num_inference_steps=steps,
            fps=fps,
            decode_chunk_size=2 if runtime.low_memory else frames,
            generator=torch.Generator("cpu").manual_seed(seed),
            callback_on_step_end=on_step,
        ).frames[0]
    work = Path(tempfile.mkdtemp(prefix="motion-"))
    try:
        for index, frame in enumerate(clip):
            frame.convert("RGB").save(work / f"{index:04d}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        run_ffmpeg(
            [
                "-framerate",
                str(fps),
                "-i",
                str(work / "%04d.png"),
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-vf",
                "pad=ceil(iw/2)*2:ceil(ih/2)*2",
                "-movflags",
                "+faststart",
                str(path),
            ]
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    progress(1.0, Sentence("animated", "%(count)s frames animated", count=len(clip)))
    return MotionResult(
        path=str(path), frames=len(clip), fps=fps, width=width, height=height, backend="diffusers", model=model
    )
