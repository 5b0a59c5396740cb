"""The engines' published architectures with random weights, built from their configs and saved
to folders that the engines load through ``from_pretrained``, as the real weights are loaded.
A model's compute does not depend on its weights, so these cost what the real models cost.

``small=True`` gives the same layouts reduced (narrower, fewer layers, a quarter of the pixels)
for checking the benchmarks on a CPU; their timings say nothing about the real models."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

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
# madebyollin/taesd config.json: AutoencoderTiny's defaults (64 channels, 1/3/3/3 blocks)
TAESD: dict[str, Any] = {"latent_channels": 4}
SVD_UNET: dict[str, Any] = {  # stabilityai/stable-video-diffusion-img2vid unet/config.json
    "sample_size": 96,
    "in_channels": 8,
    "out_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280, 1280),
    "num_attention_heads": (5, 10, 20, 20),
    "cross_attention_dim": 1024,
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 768,
    "num_frames": 14,
}
SVD_VAE: dict[str, Any] = {  # its vae/config.json (AutoencoderKLTemporalDecoder)
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "sample_size": 768,
}
SVD_IMAGE_ENCODER: dict[str, Any] = {  # its image_encoder/config.json (OpenCLIP ViT-H/14 vision tower)
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 16,
    "image_size": 224,
    "patch_size": 14,
    "projection_dim": 1024,
    "hidden_act": "gelu",
}
QWEN25_05B: dict[str, Any] = {  # Qwen/Qwen2.5-0.5B-Instruct config.json
    "vocab_size": 151936,
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "rope_theta": 1000000.0,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
}

SMALL_SD_UNET = SD_TURBO_UNET | {
    "sample_size": 32,
    "layers_per_block": 1,
    "block_out_channels": (32, 64, 128, 128),
    "attention_head_dim": (2, 4, 8, 8),
    "cross_attention_dim": 64,
}
SMALL_SD_VAE = SD_TURBO_VAE | {"layers_per_block": 1, "block_out_channels": (32, 32, 64, 64)}
SMALL_SD_TEXT = SD_TURBO_TEXT | {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
}
SMALL_TAESD = TAESD | {"encoder_block_out_channels": (16,) * 4, "decoder_block_out_channels": (16,) * 4}
SMALL_SVD_UNET = SVD_UNET | {
    "sample_size": 16,
    "layers_per_block": 1,
    "block_out_channels": (32, 64, 64, 64),
    "num_attention_heads": (2, 4, 4, 4),
    "cross_attention_dim": 64,
    "addition_time_embed_dim": 16,
    "projection_class_embeddings_input_dim": 48,
}
SMALL_SVD_VAE = SVD_VAE | {"layers_per_block": 1, "block_out_channels": (32, 32, 64, 64)}
SMALL_SVD_IMAGE_ENCODER = SVD_IMAGE_ENCODER | {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "projection_dim": 64,
}
SMALL_QWEN = QWEN25_05B | {
    "hidden_size": 128,
    "intermediate_size": 512,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
}


def _saved(folder: Path) -> bool:
    return (folder / "model_index.json").is_file() or (folder / "config.json").is_file()


def build_sd_turbo(folder: Path, *, small: bool = False) -> Path:
    """sd-turbo's pipeline (SD 2.1 UNet, its VAE, the OpenCLIP ViT-H text encoder, Euler
    'trailing'), saved once (about 5 GB in float32)."""
    target = folder / ("sd-turbo-small" if small else "sd-turbo-random")
    if _saved(target):
        return target
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from tests.tiny_models import clip_tokenizer

    torch.manual_seed(0)
    clip_tokenizer(folder / "clip-tokenizer")  # the vocabulary's content does not change the compute
    pipe: Any = StableDiffusionPipeline(
        vae=AutoencoderKL(**(SMALL_SD_VAE if small else SD_TURBO_VAE)),
        text_encoder=CLIPTextModel(CLIPTextConfig(**(SMALL_SD_TEXT if small else SD_TURBO_TEXT))),
        tokenizer=CLIPTokenizer.from_pretrained(folder / "clip-tokenizer"),
        unet=UNet2DConditionModel(**(SMALL_SD_UNET if small else SD_TURBO_UNET)),
        scheduler=EulerDiscreteScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            timestep_spacing="trailing",
            steps_offset=1,
        ),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(target)
    return target


def build_taesd(folder: Path, *, small: bool = False) -> Path:
    """taesd's tiny autoencoder (what IMAGE_VAE names)."""
    target = folder / ("taesd-small" if small else "taesd-random")
    if not _saved(target):
        import torch
        from diffusers import AutoencoderTiny

        torch.manual_seed(0)
        AutoencoderTiny(**(SMALL_TAESD if small else TAESD)).save_pretrained(target)
    return target


def build_svd(folder: Path, *, small: bool = False) -> Path:
    """Stable Video Diffusion (img2vid, 14 frames) with its image encoder and temporal decoder."""
    target = folder / ("svd-small" if small else "svd-random")
    if _saved(target):
        return target
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, StableVideoDiffusionPipeline, UNetSpatioTemporalConditionModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    from tests.tiny_models import svd_scheduler

    torch.manual_seed(0)
    pipe: Any = StableVideoDiffusionPipeline(
        vae=AutoencoderKLTemporalDecoder(**(SMALL_SVD_VAE if small else SVD_VAE)),
        image_encoder=CLIPVisionModelWithProjection(
            CLIPVisionConfig(**(SMALL_SVD_IMAGE_ENCODER if small else SVD_IMAGE_ENCODER))
        ),
        unet=UNetSpatioTemporalConditionModel(**(SMALL_SVD_UNET if small else SVD_UNET)),
        scheduler=svd_scheduler(),
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224),
    )
    pipe.save_pretrained(target)
    return target


def qwen(*, small: bool = False, **overrides: Any) -> Any:
    """Qwen2.5-0.5B-Instruct's architecture, random, in memory."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    return Qwen2ForCausalLM(Qwen2Config(**(SMALL_QWEN if small else QWEN25_05B) | overrides))


def build_qwen_chat(folder: Path, *, small: bool = False) -> Path:
    """Qwen2.5-0.5B's architecture (its 151,936-row vocabulary too) with the tests' byte-level
    chat tokenizer (Qwen's own cannot be downloaded here): a storyboard model for the engines,
    whose answers are random but kept to the storyboard's JSON by the constrained decoding."""
    target = folder / ("qwen-chat-small" if small else "qwen-chat-random")
    if _saved(target):
        return target
    from transformers import AutoTokenizer

    from tests.tiny_models import build_chat_model

    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = AutoTokenizer.from_pretrained(build_chat_model(Path(scratch)))
    model = qwen(small=small, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


# FLUX.1-schnell's and LTX-Video's text encoder: T5 v1.1 XXL (4.7B), and FLUX's CLIP-L.
T5_XXL = {
    "vocab_size": 32128,
    "d_model": 4096,
    "d_kv": 64,
    "d_ff": 10240,
    "num_layers": 24,
    "num_heads": 64,
    "feed_forward_proj": "gated-gelu",
    "relative_attention_num_buckets": 32,
}
CLIP_L_TEXT = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "projection_dim": 768,
    "vocab_size": 600,  # the written vocabulary (tests.tiny_models.clip_tokenizer): compute is the same
}
FLUX_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 16,
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "layers_per_block": 2,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
    "shift_factor": 0.1159,
    "scaling_factor": 0.3611,
}


def _t5_xxl(vocab_size: int) -> Any:
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(T5Config(**(T5_XXL | {"vocab_size": max(vocab_size, 32)})))


def build_flux(folder: Path, *, small: bool = False) -> Path:
    """FLUX.1-schnell's pipeline: diffusers' FluxTransformer2DModel defaults are FLUX.1's (12B,
    no guidance embedding), its VAE, CLIP-L and T5-XXL; built in bfloat16 (about 33 GB saved).
    Small: the tests' tiny pipeline."""
    target = folder / ("flux-small" if small else "flux-random")
    if _saved(target):
        return target
    from tests import tiny_models

    if small:
        return tiny_models.build_flux(folder / "flux-small-parts").rename(target)
    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    try:
        tiny_models.clip_tokenizer(folder / "clip-tokenizer")
        t5 = tiny_models.t5_tokenizer(folder / "t5-tokenizer")
        pipe: Any = FluxPipeline(
            scheduler=FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=False),
            text_encoder=CLIPTextModel(CLIPTextConfig(**CLIP_L_TEXT)),
            tokenizer=CLIPTokenizer.from_pretrained(folder / "clip-tokenizer"),
            text_encoder_2=_t5_xxl(len(t5)),
            tokenizer_2=t5,
            transformer=FluxTransformer2DModel(),
            vae=AutoencoderKL(**FLUX_VAE),
        )
        pipe.save_pretrained(target)
    finally:
        torch.set_default_dtype(torch.float32)
    return target


def build_ltx(folder: Path, *, small: bool = False) -> Path:
    """LTX-Video's condition pipeline: diffusers' LTXVideoTransformer3DModel and
    AutoencoderKLLTXVideo defaults are the 2B release's (the default 13B distilled model is
    larger: a GPU row measures the architecture it names), with T5-XXL; bfloat16. Small: the
    tests' tiny pipeline."""
    # named as a distilled release: the clip runs its 8-step schedule without guidance
    target = folder / ("ltx-distilled-small" if small else "ltx-distilled-random")
    if _saved(target):
        return target
    from tests import tiny_models

    if small:
        return tiny_models.build_ltx(folder / "ltx-small-parts").rename(target)
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )

    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    try:
        t5 = tiny_models.t5_tokenizer(folder / "t5-tokenizer")
        pipe: Any = LTXConditionPipeline(
            transformer=LTXVideoTransformer3DModel(),
            vae=AutoencoderKLLTXVideo(),
            scheduler=FlowMatchEulerDiscreteScheduler(),
            text_encoder=_t5_xxl(len(t5)),
            tokenizer=t5,
        )
        pipe.save_pretrained(target)
    finally:
        torch.set_default_dtype(torch.float32)
    return target
