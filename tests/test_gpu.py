"""Device memory: a batch that does not fit is halved until it does, and one that never fits
fails clearly and gives its memory back. The tests marked ``gpu`` need a CUDA device
(``make test`` leaves them out; ``pytest -m gpu`` runs them there) and use sd-turbo's
architecture at full size, with random weights."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from inference.errors import EngineError
from inference.image import KeyframeRequest, diffusers_keyframes
from inference.models import Runtime, in_halves_on_oom, release_memory


class Activations:
    """Stands for a batch's tensors: something the failed call's frames hold."""


def test_a_batch_that_never_fits_fails_clearly_and_keeps_nothing_alive() -> None:
    import torch

    calls: list[int] = []
    held: list[weakref.ref[Activations]] = []

    def run(batch: list[int]) -> list[int]:
        calls.append(len(batch))
        activations = Activations()
        held.append(weakref.ref(activations))
        if len(batch) > 2 or 13 in batch:
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate 2.00 GiB ({activations})")
        return [n * 10 for n in batch]

    splits: list[tuple[int, int]] = []
    assert in_halves_on_oom(run, list(range(5)), on_split=lambda a, b: splits.append((a, b))) == [0, 10, 20, 30, 40]
    assert calls == [5, 2, 3, 1, 2] and splits == [(2, 3), (1, 2)]
    with pytest.raises(EngineError) as error:
        in_halves_on_oom(run, [12, 13])
    assert not error.value.permanent
    assert str(error.value).startswith("Out of memory even with one shot at a time.")
    assert "CUDA out of memory" in str(error.value)
    assert error.value.__cause__ is None and error.value.__context__ is None  # no frames kept with it
    gc.collect()
    assert [ref() for ref in held] == [None] * len(held)  # every failed call's memory is free


def test_any_other_error_is_not_split() -> None:
    calls: list[int] = []

    def run(batch: list[int]) -> list[int]:
        calls.append(len(batch))
        raise ValueError("a bug, not memory")

    with pytest.raises(ValueError, match="a bug"):
        in_halves_on_oom(run, [1, 2, 3, 4])
    assert calls == [4]


# --- on a CUDA device ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sd_turbo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full-size model, on a CUDA device only: asked there, not while every run collects (a
    skip condition in a decorator imported torch into each pytest process at collection)."""
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    from bench.architectures import build_sd_turbo

    return build_sd_turbo(tmp_path_factory.mktemp("full-size"))


def _requests(folder: Path, count: int) -> list[KeyframeRequest]:
    return [KeyframeRequest("a lighthouse on a cliff at dusk", seed, folder / f"{seed}.png") for seed in range(count)]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.gpu
def test_a_full_size_keyframe_on_cuda_has_its_shape_and_no_nan(sd_turbo: Path, tmp_path: Path, dtype: str) -> None:
    import torch

    from inference.image import text2image_pipeline

    runtime = Runtime(device="cuda", dtype=dtype, models_dir=tmp_path)
    [result] = diffusers_keyframes(
        _requests(tmp_path, 1), model=str(sd_turbo), runtime=runtime, width=1280, height=720, style="photo"
    )
    assert result.backend == "diffusers" and Image.open(result.path).size == (1280, 720)
    pipe = text2image_pipeline(str(sd_turbo), runtime)  # the one the call above loaded
    assert pipe.unet.device.type == "cuda" and pipe.unet.dtype == getattr(torch, dtype)
    with torch.inference_mode():
        latents = pipe("a lighthouse", num_inference_steps=1, guidance_scale=0.0, output_type="latent").images
        decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor).sample
    assert latents.shape == (1, 4, 64, 64) and decoded.shape == (1, 3, 512, 512)
    assert torch.isfinite(latents).all() and torch.isfinite(decoded).all()
    assert np.asarray(Image.open(result.path)).std() > 0  # not a blank (NaN-decoded) frame


@pytest.mark.gpu
def test_out_of_device_memory_halves_the_batch_then_fails_clearly_and_frees_the_memory(
    sd_turbo: Path, tmp_path: Path
) -> None:
    import torch

    runtime = Runtime(device="cuda", dtype="float16", models_dir=tmp_path)

    def paint(batch: list[KeyframeRequest]) -> list[Any]:
        return diffusers_keyframes(batch, model=str(sd_turbo), runtime=runtime, width=512, height=512, style="photo")

    paint(_requests(tmp_path, 1))  # loaded: what stays is the weights
    torch.cuda.synchronize()
    weights = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    paint(_requests(tmp_path, 1))
    one = torch.cuda.max_memory_allocated() - weights  # what one keyframe needs on top
    total = torch.cuda.get_device_properties(0).total_memory
    release_memory()  # the allocator's cached blocks back, so that the fraction below binds
    try:
        torch.cuda.set_per_process_memory_fraction((weights + 2.5 * one) / total)  # room for about two
        splits: list[tuple[int, int]] = []
        painted = in_halves_on_oom(paint, _requests(tmp_path, 8), on_split=lambda a, b: splits.append((a, b)))
        assert len(painted) == 8 and splits[0] == (4, 4)
        assert all(Image.open(p.path).size == (512, 512) for p in painted)

        release_memory()
        torch.cuda.set_per_process_memory_fraction((weights + 0.3 * one) / total)  # room for none
        with pytest.raises(EngineError) as error:
            in_halves_on_oom(paint, _requests(tmp_path, 2))
        assert str(error.value).startswith("Out of memory even with one shot at a time.")
        assert not error.value.permanent
        torch.cuda.synchronize()
        assert torch.cuda.memory_allocated() <= weights + 16 * 2**20  # the batch's memory is back
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
