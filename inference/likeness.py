"""How alike a character's pictures are: each picture of it against its reference picture (or,
without one, against the rest of its pictures). ``transformers``: a CLIP image encoder's cosine
similarity (openai/clip-vit-base-patch32); ``hash`` (the draft): how many bits of the pictures'
difference hashes agree, a measure of the picture's layout and light, not of a face.

The same CLIP, where it is on disk, also scores how well each picture matches its words
(``clip_match``: the film check's picture-against-narration score)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.errors import EngineError
from inference.filmcheck import difference_hash
from inference.models import Runtime
from inference.sentences import Sentence
from inference.types import Progress, no_progress

MATCH_BATCH = 16  # pictures and texts through CLIP at once


@dataclass
class Likeness:
    score: float  # the mean of ``similarities``: 1.0 alike in every picture
    similarities: list[float]  # one per picture, in the order given
    against: str  # "reference": its reference picture; "others": the rest of its pictures
    backend: str
    model: str = ""


def _compare(vectors: Any, reference: Any | None) -> tuple[list[float], str]:
    """Cosine similarities of unit ``vectors`` to the reference's, or each to the mean of the rest."""
    import numpy as np

    if reference is not None:
        return [float(v @ reference) for v in vectors], "reference"
    total = vectors.sum(axis=0)
    similarities = []
    for vector in vectors:
        rest = total - vector
        similarities.append(float(vector @ rest / max(float(np.linalg.norm(rest)), 1e-9)))
    return similarities, "others"


def _checked(pictures: list[Path], reference: Path | None) -> None:
    if len(pictures) < (1 if reference else 2):
        raise EngineError(
            "A likeness needs the character in two pictures, or in one and its reference picture.", permanent=True
        )


def _rgb(paths: list[Path]) -> list[Any]:
    from PIL import Image

    images = []
    for path in paths:
        with Image.open(path) as image:
            images.append(image.convert("RGB"))
    return images


def load_clip_vision(source: str, *, device: str, dtype: Any) -> tuple[Any, Any]:
    from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

    model = CLIPVisionModelWithProjection.from_pretrained(source, dtype=dtype).to(device).eval()
    return model, CLIPImageProcessor.from_pretrained(source)


def clip_likeness(
    pictures: list[Path], reference: Path | None, *, model: str, runtime: Runtime, progress: Progress = no_progress
) -> Likeness:
    """Each picture's CLIP image embedding against the reference's (or the rest's)."""
    from inference.models import load_model

    _checked(pictures, reference)
    encoder, processor = load_model(
        "transformers-clip-vision",
        model,
        runtime,
        lambda source, device, dtype: load_clip_vision(source, device=device, dtype=dtype),
    ).model
    import torch  # after the load: missing weights are found before torch is imported

    images = _rgb([*pictures, *([reference] if reference else [])])
    with torch.inference_mode():
        inputs = processor(images=images, return_tensors="pt").to(encoder.device)
        embedded = encoder(pixel_values=inputs["pixel_values"].to(encoder.dtype)).image_embeds.float()
    vectors = torch.nn.functional.normalize(embedded, dim=-1).cpu().numpy()
    similarities, against = _compare(vectors[: len(pictures)], vectors[-1] if reference else None)
    progress(1.0, Sentence("compared", "%(count)s pictures compared", count=len(pictures)))
    return Likeness(sum(similarities) / len(similarities), similarities, against, "transformers", model)


def hash_likeness(pictures: list[Path], reference: Path | None, *, progress: Progress = no_progress) -> Likeness:
    """The share of difference-hash bits each picture has in common with the reference (or, on
    average, with the rest of the pictures)."""
    _checked(pictures, reference)
    hashes = [difference_hash(path) for path in pictures]
    bits = 256
    if reference is not None:
        wanted = difference_hash(reference)
        similarities = [1 - (h ^ wanted).bit_count() / bits for h in hashes]
        against = "reference"
    else:
        similarities = [
            sum(1 - (h ^ other).bit_count() / bits for j, other in enumerate(hashes) if j != i) / (len(hashes) - 1)
            for i, h in enumerate(hashes)
        ]
        against = "others"
    progress(1.0, Sentence("compared", "%(count)s pictures compared", count=len(pictures)))
    return Likeness(sum(similarities) / len(similarities), similarities, against, "hash")


# ---------------------------------------------------------------- a picture against its words


def load_clip(source: str, *, device: str, dtype: Any) -> tuple[Any, Any]:
    """A whole CLIP (its image and text towers) and its processor, from the likeness model's
    folder or id: openai/clip-vit-base-patch32 holds both."""
    from transformers import AutoModel, AutoProcessor

    model = AutoModel.from_pretrained(source, dtype=dtype).to(device).eval()
    return model, AutoProcessor.from_pretrained(source)


def clip_match(
    pictures: list[Path], texts: list[str], *, model: str, runtime: Runtime, progress: Progress = no_progress
) -> list[float]:
    """How well each picture matches its text: the cosine similarity of CLIP's embeddings of the
    two (the text cut at the model's 77 tokens), in batches of MATCH_BATCH."""
    from inference.models import load_model

    clip, processor = load_model(
        "transformers-clip",
        model,
        runtime,
        lambda source, device, dtype: load_clip(source, device=device, dtype=dtype),
    ).model
    import torch  # after the load: missing weights are found before torch is imported

    scores: list[float] = []
    for first in range(0, len(pictures), MATCH_BATCH):
        images = _rgb(pictures[first : first + MATCH_BATCH])
        words = texts[first : first + MATCH_BATCH]
        with torch.inference_mode():
            inputs = processor(text=words, images=images, return_tensors="pt", padding=True, truncation=True)
            inputs = inputs.to(clip.device)
            inputs["pixel_values"] = inputs["pixel_values"].to(clip.dtype)
            out = clip(**inputs)
            pairs = torch.nn.functional.normalize(out.image_embeds.float(), dim=-1) * torch.nn.functional.normalize(
                out.text_embeds.float(), dim=-1
            )
        scores += [float(score) for score in pairs.sum(dim=-1).cpu()]
        progress(len(scores) / len(pictures), Sentence("matched", "%(count)s pictures matched", count=len(scores)))
    return scores
