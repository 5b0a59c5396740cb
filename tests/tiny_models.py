"""Tiny random-weight models built from configs and saved to folders, as diffusers and
transformers test themselves: the engines load them through the same ``from_pretrained`` code
as the real weights. Nothing here downloads anything."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# The sample stories (as tests/conftest.py finds them): the chat tokenizer is trained on them.
STORIES = Path(os.environ.get("STORIES_DIR", Path(__file__).resolve().parents[2] / "shared" / "stories"))
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def clip_tokenizer(folder: Path) -> None:
    """A CLIPTokenizer with a written byte-level vocabulary and a few merges."""
    from transformers import CLIPTokenizer

    # GPT-2's byte-to-printable-character table, which CLIP's byte-level BPE uses
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    symbols = [chr(b) for b in printable] + [chr(256 + n) for n in range(256 - len(printable))]
    vocab = symbols + [s + "</w>" for s in symbols]
    merges = ["t h", "th e</w>", "a n", "i n", "o n</w>", "e r"]
    vocab += ["th", "the</w>", "an", "in", "on</w>", "er", "<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77).save_pretrained(folder)


def clip_text_encoder(**overrides: Any) -> Any:
    """A CLIPTextModel with transformers' own test sizes and the written vocabulary's size."""
    from transformers import CLIPTextConfig, CLIPTextModel

    config = {
        "bos_token_id": 0,
        "eos_token_id": 2,
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "pad_token_id": 1,
        "vocab_size": 600,
        "max_position_embeddings": 77,
    }
    return CLIPTextModel(CLIPTextConfig(**(config | overrides)))


def build_text2image(folder: Path) -> Path:
    """The sd-turbo layout (StableDiffusionPipeline, Euler 'trailing', no safety checker), tiny."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=4,
        attention_head_dim=4,
    )
    vae = AutoencoderKL(
        block_out_channels=[8, 16],
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        norm_num_groups=4,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
    )
    text_encoder = clip_text_encoder()
    clip_tokenizer(folder / "_tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(folder / "_tokenizer")
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="trailing", steps_offset=1
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder / "sd")
    return folder / "sd"


def svd_scheduler() -> Any:
    """Stable Video Diffusion's scheduler (its scheduler_config.json)."""
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        interpolation_type="linear",
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        sigma_max=700.0,
        sigma_min=0.002,
        steps_offset=1,
        timestep_spacing="leading",
        timestep_type="continuous",
        use_karras_sigmas=True,
    )


def build_image2video(folder: Path) -> Path:
    """A StableVideoDiffusionPipeline with diffusers' own test-sized components."""
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=8,
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=32,
        num_attention_heads=8,
        projection_class_embeddings_input_dim=96,
        addition_time_embed_dim=32,
    )
    scheduler = svd_scheduler()
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
    )
    image_encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            projection_dim=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=224,
            intermediate_size=37,
            patch_size=14,
        )
    )
    pipe = StableVideoDiffusionPipeline(
        vae=vae,
        image_encoder=image_encoder,
        unet=unet,
        scheduler=scheduler,
        feature_extractor=CLIPImageProcessor(crop_size=224, size=224),
    )
    pipe.save_pretrained(folder / "svd")
    return folder / "svd"


def build_chat_model(folder: Path) -> Path:
    """A Qwen2ForCausalLM with a byte-level BPE tokenizer trained here and a ChatML template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    corpus = [p.read_text(encoding="utf-8") for p in sorted(STORIES.glob("*.txt"))]
    corpus += [
        '{"title": "", "characters": [{"name": "", "description": ""}], "shots": [{"prompt": "", '
        '"narration": "", "camera": "zoom_in", "transition": "dissolve", "characters": []}]}'
    ]
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHATML
    )
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=bpe.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    target = folder / "qwen"
    Qwen2ForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def build_tts(folder: Path) -> Path:
    """A VitsModel (transformers' own test sizes) and a character VitsTokenizer."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    symbols = ["k", "_", " ", *"abcdefghijklmnopqrstuvwxyz'.,!?-"]
    target = folder / "vits"
    target.mkdir(parents=True, exist_ok=True)
    (target / "vocab.json").write_text(json.dumps({s: i for i, s in enumerate(symbols)}))
    tokenizer = VitsTokenizer(
        str(target / "vocab.json"),
        pad_token="k",
        unk_token="_",
        add_blank=True,
        normalize=True,
        phonemize=False,
        is_uroman=False,
    )
    torch.manual_seed(0)
    config = VitsConfig(
        vocab_size=len(symbols),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        ffn_dim=64,
        flow_size=16,
        spectrogram_bins=8,
        duration_predictor_num_flows=2,
        duration_predictor_filter_channels=16,
        prior_encoder_num_flows=2,
        upsample_initial_channel=16,
        upsample_rates=[8, 2],
        upsample_kernel_sizes=[16, 4],
        resblock_kernel_sizes=[3, 7],
        resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]],
        sampling_rate=16000,
    )
    VitsModel(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def build_tiny_autoencoder(folder: Path) -> Path:
    """taesd's AutoencoderTiny, tiny: two blocks, so it scales by 2 like the tiny pipeline's VAE."""
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    target = folder / "taesd"
    AutoencoderTiny(
        encoder_block_out_channels=(8, 8),
        decoder_block_out_channels=(8, 8),
        num_encoder_blocks=(1, 1),
        num_decoder_blocks=(1, 1),
        latent_channels=4,
    ).save_pretrained(target)
    return target


def t5_tokenizer(folder: Path) -> Any:
    """A T5 tokenizer (a unigram vocabulary written here: no sentencepiece model to download)."""
    from transformers import T5Tokenizer

    pieces = ["▁the", "▁a", "▁and", "▁of", "▁in", "▁at", "▁man", "▁night", "▁light", "▁sea", "▁camera"]
    pieces += [f"▁{c}" for c in "abcdefghijklmnopqrstuvwxyz"] + list("abcdefghijklmnopqrstuvwxyz.,;:'")
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(p, -float(i + 1)) for i, p in enumerate(pieces)]
    T5Tokenizer(vocab=vocab, extra_ids=0).save_pretrained(folder)
    return T5Tokenizer.from_pretrained(folder)


def t5_encoder(vocab_size: int) -> Any:
    from transformers import T5Config, T5EncoderModel

    config = T5Config(
        vocab_size=vocab_size,
        d_model=32,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    return T5EncoderModel(config)


def build_ltx(folder: Path) -> Path:
    """An LTXConditionPipeline with diffusers' own test sizes (a 4x spatial, 4x temporal video VAE)."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )

    tokenizer = t5_tokenizer(folder / "_t5")
    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=32,
    )
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    pipe = LTXConditionPipeline(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=t5_encoder(len(tokenizer)),
        tokenizer=tokenizer,
    )
    pipe.save_pretrained(folder / "ltx")
    return folder / "ltx"


def build_flux(folder: Path) -> Path:
    """A FluxPipeline (FLUX.1-schnell's layout: CLIP and T5 encoders, no guidance embedding) with
    diffusers' own test sizes."""
    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTokenizer

    clip_tokenizer(folder / "_clip")
    t5 = t5_tokenizer(folder / "_t5")
    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        axes_dims_rope=[4, 4, 8],
    )
    clip = clip_text_encoder(projection_dim=32)
    vae = AutoencoderKL(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=1,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=clip,
        tokenizer=CLIPTokenizer.from_pretrained(folder / "_clip"),
        text_encoder_2=t5_encoder(len(t5)),
        tokenizer_2=t5,
        transformer=transformer,
        vae=vae,
    )
    pipe.save_pretrained(folder / "flux")
    return folder / "flux"


def build_clip_vision(folder: Path) -> Path:
    """A CLIPVisionModelWithProjection (transformers' own test sizes) and its image processor:
    what the likeness check loads for openai/clip-vit-base-patch32."""
    import torch
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    config = CLIPVisionConfig(
        hidden_size=32,
        projection_dim=16,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        image_size=32,
        patch_size=8,
    )
    target = folder / "clip-vision"
    CLIPVisionModelWithProjection(config).save_pretrained(target)
    CLIPImageProcessor(crop_size=32, size=32).save_pretrained(target)
    return target


def build_ip_adapter(folder: Path, unet: Path, *, cross_attention_dim: int | None = None) -> Path:
    """An IP-Adapter in h94/IP-Adapter's layout (``models/ip-adapter_sd15.safetensors``, its CLIP
    image encoder in ``models/image_encoder``) for the UNet in ``unet``: the image projection (4
    tokens) and a key and value projection for each cross-attention, numbered as the original
    checkpoints are (1, 3, 5, …), random. ``cross_attention_dim`` other than the UNet's makes one
    that does not fit it."""
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file

    torch.manual_seed(1)
    config = UNet2DConditionModel.load_config(unet)
    channels = list(config["block_out_channels"])
    width = cross_attention_dim or config["cross_attention_dim"]
    encoder = build_clip_vision(folder / "_encoder")
    embeds = json.loads((encoder / "config.json").read_text())["projection_dim"]
    weights = {
        "image_proj.proj.weight": torch.randn(4 * width, embeds) * 0.2,
        "image_proj.proj.bias": torch.zeros(4 * width),
        "image_proj.norm.weight": torch.ones(width),
        "image_proj.norm.bias": torch.zeros(width),
    }
    # the cross-attentions in the UNet's order: down blocks, up blocks, then the middle block
    down = [channels[i] for i, kind in enumerate(config["down_block_types"]) if kind.startswith("CrossAttn")]
    up = [
        list(reversed(channels))[i] for i, kind in enumerate(config["up_block_types"]) if kind.startswith("CrossAttn")
    ]
    layers = config["layers_per_block"]
    hidden = [c for c in down for _ in range(layers)] + [c for c in up for _ in range(layers + 1)] + [channels[-1]]
    for n, size in enumerate(hidden):
        weights[f"ip_adapter.{2 * n + 1}.to_k_ip.weight"] = torch.randn(size, width) * 0.2
        weights[f"ip_adapter.{2 * n + 1}.to_v_ip.weight"] = torch.randn(size, width) * 0.2
    target = folder / "ip-adapter"
    (target / "models").mkdir(parents=True)
    save_file(weights, str(target / "models" / "ip-adapter_sd15.safetensors"))
    encoder.rename(target / "models" / "image_encoder")
    return target


def build_clip(folder: Path) -> Path:
    """A whole CLIPModel (both towers, transformers' own test sizes) with its processor (the
    written tokenizer and an image processor), in openai/clip-vit-base-patch32's layout: what the
    film check's picture-against-words score loads, and the likeness check too."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    target = folder / "clip"
    clip_tokenizer(folder / "_clip-tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(folder / "_clip-tokenizer")
    sizes = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}
    marks = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id}
    config = CLIPConfig(
        text_config={
            **sizes,
            **marks,
            "vocab_size": len(tokenizer),
            "max_position_embeddings": 77,
            "projection_dim": 16,
        },
        vision_config={**sizes, "image_size": 32, "patch_size": 8, "projection_dim": 16},
        projection_dim=16,
    )
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(target)
    CLIPProcessor(image_processor=CLIPImageProcessor(crop_size=32, size=32), tokenizer=tokenizer).save_pretrained(
        target
    )
    return target
