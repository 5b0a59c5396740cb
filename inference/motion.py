"""Keyframe -> clip. ``ltx``: LTX-Video, conditioned on the keyframe and a motion prompt, as
long as the shot's narration (one clip up to the model's comfortable length, longer ones
extended from their own last frames); ``diffusers``: Stable Video Diffusion's short clip. Both
optional: the default ``kenburns`` camera move is made at composition and needs nothing here."""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.errors import OUT_OF_MEMORY, EngineError, is_out_of_memory
from inference.image import cover, generation_size
from inference.media import run_ffmpeg
from inference.models import Runtime, release_memory
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
    encode_frames(clip, fps=fps, path=path)
    progress(1.0, Sentence("animated", "%(count)s frames animated", count=len(clip)))
    return MotionResult(
        path=str(path), frames=len(clip), fps=fps, width=width, height=height, backend="diffusers", model=model
    )


def encode_frames(frames: list[Any], *, fps: int, path: Path) -> None:
    """PIL frames -> an H.264 MP4 at ``fps`` (even dimensions, fast start)."""
    work = Path(tempfile.mkdtemp(prefix="motion-"))
    try:
        for index, frame in enumerate(frames):
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


# --- LTX-Video ------------------------------------------------------------------------------
# The distilled releases' own schedule (diffusers' LTX documentation): 8 steps, no guidance.
LTX_DISTILLED_TIMESTEPS = [1000, 993, 987, 981, 975, 909, 725, 0.03]
LTX_NEGATIVE = "worst quality, inconsistent motion, blurry, jittery, distorted"


def load_ltx(source: str, *, device: str, dtype: Any, low_memory: bool) -> Any:
    from diffusers import LTXConditionPipeline

    pipe = LTXConditionPipeline.from_pretrained(source, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    if low_memory:
        pipe.vae.enable_tiling()
        if device.startswith("cuda"):
            pipe.enable_model_cpu_offload()
            return pipe
    return pipe.to(device)


def model_frames(frames: int, temporal: int) -> int:
    """At least ``frames``, as the model takes them: ``temporal * k + 1`` (8k+1 for LTX-Video)."""
    return temporal * max(1, math.ceil((frames - 1) / temporal)) + 1


def frames_for(seconds: float, fps: int, temporal: int) -> int:
    """Frames covering ``seconds`` at ``fps``, as the model takes them."""
    return model_frames(max(1, math.ceil(seconds * fps)), temporal)


def clip_pieces(wanted: int, *, longest: int, temporal: int) -> list[int]:
    """The frame counts of a clip of ``wanted`` frames made in pieces of at most ``longest``:
    each piece after the first starts from the last ``temporal + 1`` frames of the one before
    (its conditioning video, dropped again when the pieces are joined)."""
    overlap = temporal + 1
    longest = temporal * max(2, (longest - 1) // temporal) + 1  # each piece adds frames of its own
    pieces = [min(wanted, longest)]
    made = pieces[0]
    while made < wanted:
        piece = min(longest, model_frames(wanted - made + overlap, temporal))
        pieces.append(piece)
        made += piece - overlap
    return pieces


def ltx_clip(
    image: Path,
    *,
    model: str,
    runtime: Runtime,
    path: Path,
    seed: int,
    prompt: str,
    seconds: float,
    fps: int = 24,
    area: int = 768 * 512,
    longest: int = 121,
    steps: int = 0,
    progress: Progress = no_progress,
) -> MotionResult:
    """Animate a keyframe for ``seconds`` at ``fps`` in the keyframe's aspect ratio at about
    ``area`` pixels: one piece of up to ``longest`` frames, longer clips extended from their own
    last frames. ``steps`` 0: the model's own (a distilled release's 8-step schedule, else 40).
    Out of memory, the pieces are halved and the VAE decodes in tiles."""
    from PIL import Image

    from inference.models import load_model

    pipe = load_model(
        "diffusers-ltx",
        model,
        runtime,
        lambda source, device, dtype: load_ltx(source, device=device, dtype=dtype, low_memory=runtime.low_memory),
    ).model
    import torch  # after the load: missing weights are found before torch is imported
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

    spatial, temporal = int(pipe.vae_spatial_compression_ratio), int(pipe.vae_temporal_compression_ratio)
    still = Image.open(image).convert("RGB")
    width, height = generation_size(still.width, still.height, area=area, multiple=max(32, spatial))  # as it asks
    still = cover(still, width, height)
    wanted = frames_for(seconds, fps, temporal)
    distilled = "distilled" in model.lower()
    schedule: dict[str, Any] = (
        {"timesteps": LTX_DISTILLED_TIMESTEPS} if distilled and steps <= 0 else {"num_inference_steps": steps or 40}
    )
    count = len(LTX_DISTILLED_TIMESTEPS) if "timesteps" in schedule else int(schedule["num_inference_steps"])
    guidance = {"guidance_scale": 1.0, "guidance_rescale": 0.7} if distilled else {"guidance_scale": 3.0}

    def make(pieces: list[int]) -> list[Any]:
        frames: list[Any] = []
        for index, piece in enumerate(pieces):

            def on_step(pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any], index: int = index) -> Any:
                done = (index + (step + 1) / count) / len(pieces)
                progress(0.9 * done, denoising(index * count + step + 1, count * len(pieces)))
                return tensors

            condition = (
                LTXVideoCondition(image=still, frame_index=0)
                if not frames
                else LTXVideoCondition(video=frames[-(temporal + 1) :], frame_index=0)
            )
            with torch.inference_mode():
                made = pipe(
                    conditions=[condition],
                    prompt=prompt,
                    negative_prompt=LTX_NEGATIVE,
                    width=width,
                    height=height,
                    num_frames=piece,
                    frame_rate=fps,
                    decode_timestep=0.05,
                    decode_noise_scale=0.025,
                    image_cond_noise_scale=0.0,
                    generator=torch.Generator("cpu").manual_seed(seed + index),
                    callback_on_step_end=on_step,
                    **schedule,
                    **guidance,
                ).frames[0]
            frames += made if not frames else made[temporal + 1 :]
        return frames[:wanted]

    while True:
        try:
            clip = make(clip_pieces(wanted, longest=longest, temporal=temporal))
            break
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            failure = f"{type(exc).__name__}: {str(exc)[:300]}"
        release_memory()  # out of the except block: the tensors the error held are gone
        if longest <= 2 * temporal + 1:
            raise EngineError(f"{OUT_OF_MEMORY} ({failure})", permanent=False)
        longest = min(longest, wanted) // 2  # clip_pieces rounds it to what the model takes
        pipe.vae.enable_tiling()
    encode_frames(clip, fps=fps, path=path)
    progress(1.0, Sentence("animated", "%(count)s frames animated", count=len(clip)))
    return MotionResult(
        path=str(path), frames=len(clip), fps=fps, width=width, height=height, backend="ltx", model=model
    )
