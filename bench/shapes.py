"""Random-weight checkpoints of real Qwen shapes, for benchmarks (not tests: ~1 GB each).

The configs are the published ones; the tokenizer, chat template and generation config are
those `qwenlab tiny` writes, so the checkpoint loads through the app's normal path.
"""

from __future__ import annotations

import time
from pathlib import Path

REAL_SHAPES = {
    "qwen2.5-0.5b": dict(arch="qwen2", hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2),
    "qwen2.5-1.5b": dict(arch="qwen2", hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2),
    "qwen3-0.6b": dict(arch="qwen3", hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                       num_attention_heads=16, num_key_value_heads=8, head_dim=128),
}


def build_real_shape(key: str, root: Path) -> Path:
    """Write ROOT/<key>/ with random weights of the real shape (bf16); reuse it if present."""
    import torch
    import transformers as tf

    from qwenlab import tiny
    from qwenlab.registry import get_model

    target = Path(root) / key
    if (target / "model.safetensors").is_file():
        return target
    spec, shape = get_model(key), dict(REAL_SHAPES[key])
    arch = shape.pop("arch")
    common = dict(vocab_size=tiny.VOCAB_ROWS, tie_word_embeddings=True, bos_token_id=151643,
                  eos_token_id=151645, rope_theta=1_000_000.0, max_position_embeddings=spec.context)
    config = (tf.Qwen3Config if arch == "qwen3" else tf.Qwen2Config)(**common, **shape)
    started = time.perf_counter()
    with torch.device("cpu"):
        model = tf.AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.generation_config = tiny.generation_config(spec)
    model.save_pretrained(target)
    tiny.make_tokenizer(spec, tiny.build_tokenizer_backend(arch == "qwen3")).save_pretrained(target)
    print(f"built {key} random weights in {time.perf_counter() - started:.0f} s -> {target}")
    return target


# Qwen2.5-VL-3B-Instruct's published config (text and vision towers), for the GPU check's
# vision run at nf4. Built on the GPU machine: about 7.5 GB of bf16 random weights.
VL_SHAPES = {
    "qwen2.5-vl-3b": dict(
        text=dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                  num_attention_heads=16, num_key_value_heads=2),
        vision=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16,
                    out_hidden_size=2048, fullatt_block_indexes=[7, 15, 23, 31], window_size=112,
                    patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
                    tokens_per_second=2),
        mrope_section=[16, 24, 24]),
}


def build_real_vl_shape(key: str, root: Path) -> Path:
    """Write ROOT/<key>/ with random weights of a Qwen2.5-VL shape and the app's processor."""
    import torch
    import transformers as tf

    from qwenlab import tiny
    from qwenlab.registry import get_model

    target = Path(root) / key
    if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
        return target
    spec, shape = get_model(key), VL_SHAPES[key]
    text = dict(shape["text"], vocab_size=tiny.VOCAB_ROWS, tie_word_embeddings=True,
                bos_token_id=151643, eos_token_id=151645, max_position_embeddings=spec.context,
                rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0,
                                 "mrope_section": shape["mrope_section"]})
    config = tf.Qwen2_5_VLConfig(text_config=text, vision_config=shape["vision"],
                                 image_token_id=151655, video_token_id=151656,
                                 vision_start_token_id=151652, vision_end_token_id=151653,
                                 tie_word_embeddings=True)
    started = time.perf_counter()
    model = tf.Qwen2_5_VLForConditionalGeneration(config).to(torch.bfloat16)
    model.generation_config = tiny.generation_config(spec)
    model.save_pretrained(target)
    tokenizer = tiny.make_tokenizer(spec, tiny.build_tokenizer_backend(False))
    tiny.make_processor(spec, tokenizer).save_pretrained(target)
    print(f"built {key} random weights in {time.perf_counter() - started:.0f} s -> {target}")
    return target


def model_dir(keys: list[str], root: str | Path, tiny: str | None = None) -> str:
    """The QWENLAB_MODEL_DIR a benchmark runs on: with `tiny` (a `qwenlab tiny` folder) a smoke
    run on toy checkpoints, as CI does; else the real shapes of `keys`, built under `root`."""
    if tiny:
        return str(tiny)
    for key in keys:
        build_real_shape(key, Path(root))
    return str(root)
