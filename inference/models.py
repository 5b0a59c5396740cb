"""Where model weights come from, which device and precision they run on, and the per-process
cache that keeps them loaded between tasks. Heavy libraries are imported only inside functions.
"""

from __future__ import annotations

import gc
import os
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from inference.errors import OUT_OF_MEMORY, EngineError, WeightsMissingError, is_out_of_memory

T = TypeVar("T")
Item = TypeVar("Item")


@dataclass(frozen=True)
class Runtime:
    """How models run in this process: ``device`` and ``dtype`` are "auto" or explicit
    ("cuda", "mps", "cpu"; "float16", "bfloat16", "float32"), ``low_memory`` turns on attention
    slicing, VAE tiling and, for motion, CPU offload."""

    device: str = "auto"
    dtype: str = "auto"
    low_memory: bool = False
    models_dir: Path = Path("var/models")
    # How long this process remembers that a model's weights are not to be had (not on disk,
    # the hub unreachable or without them): meanwhile the draft starts at once.
    missing_memory_s: float = 600.0
    # torch.compile the keyframe denoiser, and decode the storyboard with a static cache (which
    # transformers compiles on CUDA): faster per call after a warm-up of its own.
    compile: bool = False
    # Keyframe networks in channels-last memory order (faster convolutions on tensor cores).
    channels_last: bool = False
    # A tiny autoencoder (taesd's kind; a folder or model id) decoding keyframes in place of the
    # text-to-image pipeline's own VAE.
    image_vae: str = ""
    # CPU threads one model call may use (0: the library's default, every core); 1 where calls
    # run side by side, one per core (speech lines in parallel).
    threads: int = 0

    def options(self) -> str:
        """What of this runtime changes a loaded model, for its cache key."""
        flags = [name for name in ("compile", "channels_last") if getattr(self, name)]
        return ",".join([*flags, *([f"vae={self.image_vae}"] if self.image_vae else [])])


def pick_device(wanted: str = "auto") -> str:
    """CUDA, then MPS, then the CPU; an explicit device that is not there is a clear error."""
    import torch

    present = {
        "cuda": torch.cuda.is_available(),
        "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
        "cpu": True,
    }
    if wanted == "auto":
        return next(name for name, ok in present.items() if ok)
    if not present.get(wanted.split(":")[0], False):
        raise EngineError(f"INFERENCE_DEVICE={wanted} but no such device is present here.", permanent=True)
    return wanted


def pick_dtype(device: str, wanted: str = "auto") -> Any:
    """Half precision where the device runs it well (CUDA, MPS), float32 on the CPU."""
    import torch

    if wanted != "auto":
        return getattr(torch, wanted)
    return torch.float16 if device.startswith(("cuda", "mps")) else torch.float32


def quiet_loading(library: str) -> None:
    """No loading progress bars in worker logs: the task's own progress is what people watch.
    ``library`` (transformers or diffusers) is the one about to load: importing the other would
    cost seconds of CPU for nothing (diffusers: 6 s on a small CPU)."""
    if library == "transformers":
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    elif library == "diffusers":
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def local_folder(model: str, models_dir: Path) -> Path | None:
    """The folder holding ``model``'s weights on disk, if any: the model given as a folder (or as
    one GGUF file), a copy under MODELS_DIR (what ``fetch_models`` writes), or a complete Hugging
    Face cache entry."""
    given = Path(model).expanduser()
    if given.is_absolute() or model.startswith("."):
        return given if given.is_dir() or (given.suffix == ".gguf" and given.is_file()) else None
    under = models_dir / model
    if (under / "config.json").is_file() or (under / "model_index.json").is_file():
        return under
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True))
    except Exception:  # not cached (or huggingface_hub missing): not on disk
        return None


# model id -> (until, why): weights this process found it cannot have, remembered for a while
# so that each job does not spend the hub's retries (a minute) before its draft starts.
_MISSING: dict[str, tuple[float, str]] = {}
_FETCH = "run `python manage.py fetch_models` where the network is reachable."


def missing_remember(model: str, why: str, memory_s: float) -> None:
    _MISSING[model] = (time.monotonic() + memory_s, why)


def _missing_remembered(model: str) -> str | None:
    until, why = _MISSING.get(model, (0.0, ""))
    return why if time.monotonic() < until else None


_HUB: dict[str, tuple[float, str | None]] = {}  # endpoint -> (until, why unreachable)


def hub_unreachable(memory_s: float = 60.0) -> str | None:
    """Why the model hub cannot be reached from here (a TCP connect, 3 s at most; the answer is
    kept ``memory_s``), or None. Behind a proxy the hub library's own connection decides."""
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    address = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    until, why = _HUB.get(address, (0.0, None))
    if time.monotonic() < until:
        return why
    endpoint = urlsplit(address)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname or "", port), timeout=3).close()
        why = None
    except OSError as exc:
        why = f"the model hub ({endpoint.scheme}://{endpoint.netloc}) cannot be reached: {exc.strerror or exc}"
    _HUB[address] = (time.monotonic() + memory_s, why)
    return why


def weights_source(model: str, models_dir: Path, missing_memory_s: float = 600.0) -> str:
    """What to hand to ``from_pretrained``: the local folder when there is one, else the model
    id, which downloads. Weights that cannot be had here (HF_HUB_OFFLINE set, the hub out of
    reach, or found missing by a recent try) are a clear, permanent ``WeightsMissingError``."""
    folder = local_folder(model, models_dir)
    if folder is not None:
        return str(folder)
    if Path(model).is_absolute() or model.startswith("."):
        raise EngineError(f"The model folder {model} does not exist.", permanent=True)
    if hub_offline():
        raise WeightsMissingError(f"The weights of {model} are not on this machine and HF_HUB_OFFLINE is set: {_FETCH}")
    remembered = _missing_remembered(model)
    if remembered:
        raise WeightsMissingError(remembered)
    unreachable = hub_unreachable()
    if unreachable:
        why = f"The weights of {model} are not on this machine and {unreachable}. {_FETCH}"
        missing_remember(model, why, missing_memory_s)
        raise WeightsMissingError(why)
    return model


class ModelCache:
    """Loaded models of this worker process, keyed by (back end, model, device, dtype). A model is
    loaded once; concurrent first uses wait for the one load. At most ``limit`` stay loaded: past
    it the least recently used is released (and its GPU memory with it)."""

    def __init__(self, limit: int = 6) -> None:
        self.limit = limit
        self._items: OrderedDict[tuple[str, str, str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str, str], load: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
            else:
                self._items[key] = load()
                released = 0
                while len(self._items) > max(1, self.limit):
                    self._items.popitem(last=False)
                    released += 1
                if released:
                    release_memory()
            return self._items[key]  # type: ignore[no-any-return,unused-ignore]

    def loaded(self) -> list[tuple[str, str, str, str]]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def release_memory() -> None:
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


CACHE = ModelCache()


def in_halves_on_oom(
    run: Callable[[list[Item]], list[T]],
    items: list[Item],
    *,
    on_split: Callable[[int, int], None] = lambda first, second: None,
) -> list[T]:
    """``run(items)``; out of memory, the memory is released and the two halves run in turn (and
    so on down). A single item that still does not fit is a transient EngineError (memory may be
    freed meanwhile) that says what to do. Django-free: the task engine's batches and the GPU
    tests use the same split."""
    try:
        return run(items)
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        failure = f"{type(exc).__name__}: {str(exc)[:300]}"
    # Out of the except block, the error and its traceback are gone, and with them the frames
    # holding the batch's tensors: only now can their memory go back to the device.
    release_memory()
    if len(items) == 1:
        raise EngineError(f"{OUT_OF_MEMORY} ({failure})", permanent=False)
    half = len(items) // 2
    on_split(half, len(items) - half)
    return in_halves_on_oom(run, items[:half], on_split=on_split) + in_halves_on_oom(
        run, items[half:], on_split=on_split
    )


@dataclass(frozen=True)
class Loaded:
    model: Any
    device: str
    source: str  # the folder or model id the weights came from


def load_model(kind: str, model: str, runtime: Runtime, loader: Callable[[str, str, Any], Any]) -> Loaded:
    """``loader(source, device, dtype)``'s result for ``model``, loaded once per process on the
    runtime's device and dtype; a loading failure becomes an EngineError (``load_error``).
    ``kind`` starts with the library that loads it (``diffusers-…``, ``transformers-…``). Weights
    that are not here are found missing before torch is imported: a process that drafts never
    pays for it (3 s of CPU and 300 MB)."""
    source = weights_source(model, runtime.models_dir, runtime.missing_memory_s)
    device = pick_device(runtime.device)
    dtype = pick_dtype(device, runtime.dtype)

    def load() -> Any:
        quiet_loading(kind.split("-", 1)[0])
        try:
            return loader(source, device, dtype)
        except Exception as exc:
            error = load_error(source, exc)
            if isinstance(error, WeightsMissingError):  # the next job drafts at once
                missing_remember(model, str(error), runtime.missing_memory_s)
            raise error from None

    return Loaded(CACHE.get((kind, source, device, str(dtype)), load), device, source)


def load_error(model: str, exc: Exception) -> EngineError:
    """A loading failure as an EngineError: weights that are not here and could not be fetched
    are ``WeightsMissingError`` (the default preset then drafts); running out of device memory is
    transient (another job may free it); anything else, broken weights say, is permanent."""
    if isinstance(exc, EngineError):
        return exc
    text = " ".join(f"{type(exc).__name__}: {exc}".split())[:400]
    if "out of memory" in text.lower():
        return EngineError(f"Not enough device memory to load {model}: {text}", permanent=False)
    if isinstance(exc, OSError) and not Path(model).expanduser().exists():
        return WeightsMissingError(
            f"The weights of {model} are not on this machine and could not be downloaded ({text}): {_FETCH}"
        )
    return EngineError(f"Could not load {model}: {text}", permanent=True)
