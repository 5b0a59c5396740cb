"""Text -> keyframe. The ``draft`` back end: a drawn title card, clearly marked as a draft."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.errors import EngineError
from inference.fonts import cjk_font_path
from inference.models import Runtime, weights_source
from inference.sentences import Sentence, denoising
from inference.styles import style_preset
from inference.types import ImageResult, Progress, no_progress


def _wrap(text: str, font: object, width: int) -> list[str]:
    """Wrap by pixel width: at spaces for Latin text, between any characters for CJK."""
    from PIL import ImageFont

    assert isinstance(font, ImageFont.FreeTypeFont)
    lines: list[str] = []
    line = ""
    tokens = text.replace("\n", " ").split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    for token in tokens:
        candidate = f"{line}{joiner}{token}" if line else token
        if font.getlength(candidate) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = token
    if line:
        lines.append(line)
    return lines


def draft_card(
    prompt: str,
    *,
    width: int,
    height: int,
    style: str,
    seed: int,
    path: Path,
    progress: Progress = no_progress,
) -> ImageResult:
    """Draw the prompt's words on the style's palette; the same inputs give the same PNG."""
    from PIL import Image, ImageDraw, ImageFont

    background, accent, ink = style_preset(style).palette
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    for _ in range(6):  # a few soft shapes, placed by the seed, so shots differ at a glance
        radius = rng.randint(height // 8, height // 3)
        x, y = rng.randint(0, width), rng.randint(0, height)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=accent, width=max(2, height // 180))
    font_file = str(cjk_font_path())
    size = max(14, height // 18)
    font = ImageFont.truetype(font_file, size)
    margin = width // 10
    lines = _wrap(prompt.strip(), font, width - 2 * margin)[:6]
    line_height = int(size * 1.4)
    top = (height - line_height * len(lines)) // 2
    for index, line in enumerate(lines):
        draw.text((margin, top + index * line_height), line, font=font, fill=ink)
    badge = ImageFont.truetype(font_file, max(12, height // 30))
    draw.rectangle((0, 0, width, max(16, height // 20)), fill=accent)
    draw.text((margin // 2, 2), "DRAFT · title card", font=badge, fill=background)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    progress(1.0, Sentence("card_drawn", "Card drawn"))
    return ImageResult(path=str(path), width=width, height=height, backend="draft")


# --- diffusers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyframeRequest:
    prompt: str
    seed: int
    path: Path
    characters: tuple[tuple[str, str], ...] = ()  # (name, description)
    negative_prompt: str = ""  # what the shot must not show; used where guidance is on (> 1)
    framing: str = ""  # the shot size and camera angle in the image model's words
    references: tuple[Path, ...] = ()  # its characters' reference pictures (an image prompt's)


@dataclass(frozen=True)
class ImagePrompt:
    """An IP-Adapter through which reference pictures condition the pictures: a hub id or a
    folder, the weight file in it with its subfolder (``models/ip-adapter_sd15.safetensors``; the
    CLIP image encoder is ``image_encoder`` beside it), and how strongly (0-1)."""

    model: str
    weight: str
    scale: float = 0.6

    @classmethod
    def parse(cls, text: str, scale: float = 0.6) -> ImagePrompt:
        """``MODEL:SUBFOLDER/FILE``; a ValueError saying how to write it."""
        model, _, weight = text.strip().rpartition(":")
        if not model or not weight.endswith((".safetensors", ".bin")):
            raise ValueError(
                f"{text!r} is no IP-Adapter; write it as MODEL:SUBFOLDER/FILE.safetensors "
                "(h94/IP-Adapter:models/ip-adapter_sd15.safetensors)"
            )
        return cls(model, weight, scale)

    def __str__(self) -> str:
        return f"{self.model}:{self.weight}"

    def fetch(self) -> Path:
        """Download the weight file and its image encoder (not the rest of the repository)."""
        from huggingface_hub import snapshot_download

        folder = self.weight.rpartition("/")[0]
        encoder = f"{folder}/image_encoder/*" if folder else "image_encoder/*"
        return Path(snapshot_download(self.model, allow_patterns=[self.weight, encoder]))


def keyframe_prompt(
    prompt: str, *, style: str, characters: list[tuple[str, str]], negative: str = "", framing: str = ""
) -> tuple[str, str]:
    """The shot's framing words and prompt with its characters' descriptions and the style folded
    in, and its negative prompt with the style's. The shot comes first (its framing, a few words,
    before it); ``fit_tokens`` makes it fit CLIP's 77 tokens."""
    positive = ", ".join(
        part for part in prompt_parts(prompt, style=style, characters=characters, framing=framing) if part
    )
    return positive, ", ".join(part for part in (negative.strip(), style_preset(style).negative) if part)


def prompt_parts(
    prompt: str, *, style: str, characters: list[tuple[str, str]], framing: str = ""
) -> tuple[str, str, str, str]:
    """The framing words, the shot's prompt, its characters with their descriptions, the style's words."""
    people = "; ".join(f"{name}: {description}" if description else name for name, description in characters)
    return framing, prompt.strip(), people, style_preset(style).prompt


def fit_tokens(count: Callable[[str], int], parts: tuple[str, str, str, str], limit: int) -> tuple[str, int]:
    """The parts joined, fitted into ``limit`` tokens by dropping words from the end of the shot's
    prompt first, then from the characters' descriptions: the characters and the style are what
    keep a face and a look from shot to shot, so they are the last to go. Also how many tokens
    were dropped (0 when it fits)."""
    framing, prompt, people, style = parts

    def joined(body: str, cast: str) -> str:
        return ", ".join(part for part in (framing, body, cast, style) if part)

    full = count(joined(prompt, people))
    if full <= limit:
        return joined(prompt, people), 0

    def longest(words: list[str], sep: str, text: Callable[[str], str]) -> str | None:
        """The most of ``words`` (from the start) whose text fits, or None when none does."""
        low, high = 0, len(words)
        if count(text("")) > limit:
            return None
        while low < high:
            middle = (low + high + 1) // 2
            if count(text(sep.join(words[:middle]))) <= limit:
                low = middle
            else:
                high = middle - 1
        return sep.join(words[:low])

    def words(text: str) -> tuple[list[str], str]:
        return (text.split(), " ") if " " in text else (list(text), "")

    prompt_words, sep = words(prompt)
    body = longest(prompt_words, sep, lambda kept: joined(kept, people))
    if body is not None:
        return joined(body, people), full - count(joined(body, people))
    people_words, sep = words(people)
    cast = longest(people_words, sep, lambda kept: joined("", kept)) or ""
    return joined("", cast), full - count(joined("", cast))


def clip_counter(tokenizer: Any) -> tuple[Callable[[str], int], int]:
    """Counting a text's tokens with a CLIP tokenizer, and how many it reads (77 less its two marks)."""

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    return count, int(tokenizer.model_max_length) - 2


def generation_size(width: int, height: int, *, area: int = 512 * 512, multiple: int = 64) -> tuple[int, int]:
    """The frame's aspect ratio at about the model's native area, in multiples of ``multiple``."""
    scale = (area / (width * height)) ** 0.5
    return (
        max(multiple, round(width * scale / multiple) * multiple),
        max(multiple, round(height * scale / multiple) * multiple),
    )


def cover(image: Any, width: int, height: int) -> Any:
    """Scale to cover width x height and crop the middle."""
    from PIL import Image

    scale = max(width / image.width, height / image.height)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    image = image.resize(size, Image.Resampling.LANCZOS)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return image.crop((left, top, left + width, top + height))


def load_text2image(source: str, *, device: str, dtype: Any, runtime: Runtime) -> Any:
    """The text-to-image pipeline on its device; the runtime's ``image_vae`` (a tiny autoencoder)
    decodes in place of the pipeline's own, its ``channels_last`` and ``compile`` apply to the
    denoiser and the decoder."""
    import torch
    from diffusers import AutoencoderTiny, AutoPipelineForText2Image

    pipe = AutoPipelineForText2Image.from_pretrained(source, dtype=dtype)
    if runtime.image_vae:
        tiny = AutoencoderTiny.from_pretrained(weights_source(runtime.image_vae, runtime.models_dir), dtype=dtype)
        if tiny.config.latent_channels == pipe.vae.config.latent_channels:  # taesd for SD, taef1 for FLUX
            pipe.vae = tiny
    pipe.set_progress_bar_config(disable=True)
    if runtime.low_memory:
        pipe.enable_attention_slicing()
        if hasattr(pipe.vae, "enable_tiling"):
            pipe.vae.enable_tiling()
    pipe = pipe.to(device)
    denoiser = "unet" if getattr(pipe, "unet", None) is not None else "transformer"  # FLUX: a transformer
    if runtime.channels_last:
        getattr(pipe, denoiser).to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    if runtime.compile:
        setattr(pipe, denoiser, torch.compile(getattr(pipe, denoiser)))
        pipe.vae.decode = torch.compile(pipe.vae.decode)
    return pipe


def native_frame(pipe: Any) -> tuple[int, int]:
    """A text-to-image pipeline's native side and the multiple its sizes take: a UNet's sample size
    (sd-turbo: 64 x 8 = 512, multiples of 64), else the transformer's default (FLUX: 128 x 8 = 1024,
    in multiples of 16: its latents are packed two by two)."""
    scale = int(pipe.vae_scale_factor)
    if getattr(pipe, "unet", None) is not None:
        native = int(pipe.unet.config.sample_size) * scale
        return native, max(8, native // 8)
    return int(pipe.default_sample_size) * scale, 2 * scale


def is_flux(pipe: Any) -> bool:
    return type(pipe).__name__.startswith("Flux")


def text2image_pipeline(model: str, runtime: Runtime) -> Any:
    """The pipeline for ``model`` on this runtime, loaded once per process (and per setting)."""
    from inference.models import load_model

    return load_model(
        f"diffusers-t2i:{runtime.options()}",
        model,
        runtime,
        lambda source, device, dtype: load_text2image(source, device=device, dtype=dtype, runtime=runtime),
    ).model


def image_prompt_ready(pipe: Any, model: str, prompt: ImagePrompt, runtime: Runtime) -> str:
    """Load the IP-Adapter into the pipeline once (it then stays, as the pipeline does); "" when it
    is there, else why the reference pictures cannot condition this model's pictures."""
    loaded: tuple[ImagePrompt, str] | None = getattr(pipe, "storyvideo_image_prompt", None)
    if loaded is not None and loaded[0] == prompt:
        return loaded[1]
    if getattr(pipe, "unet", None) is None or not hasattr(pipe, "load_ip_adapter"):
        why = f"{model} takes no IP-Adapter here (a Stable Diffusion model does)"
    else:
        try:
            source = weights_source(prompt.model, runtime.models_dir, runtime.missing_memory_s)
        except EngineError as exc:  # not kept: once fetched, the next call loads it
            return str(exc)
        subfolder, _, weight = prompt.weight.rpartition("/")
        try:
            pipe.load_ip_adapter(source, subfolder=subfolder, weight_name=weight)
            why = ""
        except Exception as exc:  # a wrong file, or an adapter made for another model
            first = str(exc).split(". ")[0][:200]  # diffusers' first sentence says what does not fit
            why = f"the IP-Adapter {prompt} does not fit {model} ({type(exc).__name__}: {first})"
            with contextlib.suppress(Exception):  # whatever of it was loaded goes
                pipe.unload_ip_adapter()
    pipe.storyvideo_image_prompt = (prompt, why)
    return why


def image_prompt_inputs(pipe: Any, references: tuple[Path, ...], scale: float) -> dict[str, Any]:
    """The pipeline's image prompt for pictures of these references (all of them, as one prompt);
    none: the adapter is there but adds nothing (scale 0 on a blank picture)."""
    from PIL import Image

    pictures = [Image.open(path).convert("RGB") for path in references] or [Image.new("RGB", (224, 224))]
    pipe.set_ip_adapter_scale(scale if references else 0.0)
    return {"ip_adapter_image": [pictures]}


def diffusers_keyframes(
    requests: list[KeyframeRequest],
    *,
    model: str,
    runtime: Runtime,
    width: int,
    height: int,
    style: str,
    steps: int = 1,
    guidance: float = 0.0,
    image_prompt: ImagePrompt | None = None,
    progress: Progress = no_progress,
) -> list[ImageResult]:
    """Paint several keyframes in one call. Each has its own CPU generator seeded by its shot,
    so an image depends only on its prompt and seed, never on what it was batched with. With an
    ``image_prompt`` (an IP-Adapter) the characters' reference pictures condition their shots:
    one call per set of references (the adapter takes one image prompt a call)."""
    pipe = text2image_pipeline(model, runtime)
    import torch  # after the load: missing weights are found before torch is imported

    note = ""
    if image_prompt is not None and any(r.references for r in requests):
        note = image_prompt_ready(pipe, model, image_prompt, runtime)
    # once an adapter is in the pipeline, every call gives it an image prompt
    loaded: tuple[ImagePrompt, str] | None = getattr(pipe, "storyvideo_image_prompt", None)
    scale = loaded[0].scale if loaded is not None and not loaded[1] else None
    native, multiple = native_frame(pipe)
    gen_width, gen_height = generation_size(width, height, area=native * native, multiple=multiple)
    count, limit = clip_counter(pipe.tokenizer)
    fitted = [  # what CLIP reads, and what it could not
        fit_tokens(count, prompt_parts(r.prompt, style=style, characters=list(r.characters), framing=r.framing), limit)
        for r in requests
    ]
    whole = [
        keyframe_prompt(
            r.prompt, style=style, characters=list(r.characters), negative=r.negative_prompt, framing=r.framing
        )
        for r in requests
    ]
    groups: dict[tuple[Path, ...], list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(request.references if scale is not None else (), []).append(index)
    images: list[Any] = [None] * len(requests)
    for done, (references, indexes) in enumerate(groups.items()):

        def on_step(
            pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any], done: int = done
        ) -> dict[str, Any]:
            progress(0.9 * (done + (step + 1) / steps) / len(groups), denoising(step + 1, steps))
            return tensors

        texts: dict[str, Any]
        if is_flux(pipe):  # T5 reads the whole prompt; schnell was trained on 256 of its tokens
            texts = {
                "prompt_2": [whole[i][0] for i in indexes],
                "max_sequence_length": 256 if "schnell" in model.lower() else 512,
            }
        else:
            texts = {"negative_prompt": [whole[i][1] for i in indexes] if guidance > 1 else None}
        if scale is not None:
            texts |= image_prompt_inputs(pipe, references, scale)
        with torch.inference_mode():
            painted = pipe(
                prompt=[fitted[i][0] for i in indexes],
                **texts,
                num_inference_steps=steps,
                guidance_scale=guidance,
                width=gen_width,
                height=gen_height,
                generator=[torch.Generator("cpu").manual_seed(requests[i].seed) for i in indexes],
                callback_on_step_end=on_step,
            ).images
        for index, image in zip(indexes, painted, strict=True):
            images[index] = image
    results = []
    for request, image, (_, cut) in zip(requests, images, fitted, strict=True):
        request.path.parent.mkdir(parents=True, exist_ok=True)
        cover(image.convert("RGB"), width, height).save(request.path, format="PNG")
        results.append(
            ImageResult(
                path=str(request.path),
                width=width,
                height=height,
                backend="diffusers",
                model=model,
                cut_tokens=cut,
                note=Sentence("references_unused", "The reference pictures did not guide it: %(why)s.", why=note)
                if note and request.references
                else "",
            )
        )
    progress(1.0, Sentence("painted", "%(count)s keyframe(s) painted", count=len(results)))
    return results
