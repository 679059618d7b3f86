"""Random-weight checkpoints of real Qwen shapes, for benchmarks (not tests: ~1 GB each).

The configs are the published ones, set on the classes `qwenlab tiny` builds (tiny_models.py);
the tokenizer, chat template, processor and generation config are those `qwenlab tiny` writes,
so the checkpoint loads through the app's normal path.
"""

from __future__ import annotations

import time
from pathlib import Path

# Each model's config.json: the text model's widths and, for vision models, the vision tower's.
REAL_SHAPES = {
    "qwen2.5-0.5b": dict(text=dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                                   num_attention_heads=14, num_key_value_heads=2)),
    "qwen2.5-1.5b": dict(text=dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                                   num_attention_heads=12, num_key_value_heads=2)),
    "qwen3-0.6b": dict(text=dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                                 num_attention_heads=16, num_key_value_heads=8, head_dim=128)),
    # Qwen3-Embedding-0.6B and Qwen3-Reranker-0.6B are Qwen3-0.6B's shape (their config.json)
    "qwen3-embedding-0.6b": dict(text=dict(hidden_size=1024, intermediate_size=3072,
                                           num_hidden_layers=28, num_attention_heads=16,
                                           num_key_value_heads=8, head_dim=128)),
    "qwen3-reranker-0.6b": dict(text=dict(hidden_size=1024, intermediate_size=3072,
                                          num_hidden_layers=28, num_attention_heads=16,
                                          num_key_value_heads=8, head_dim=128)),
    # 24 layers, three Gated DeltaNet to each gated attention layer; heads 8 (2 KV) of 256,
    # linear heads 16 of 128 (16 key heads), a quarter of each head rotary; 768-wide vision
    # tower of 12 blocks (Qwen/Qwen3.5-0.8B config.json)
    "qwen3.5-0.8b": dict(
        text=dict(hidden_size=1024, intermediate_size=3584, num_hidden_layers=24,
                  layer_types=["linear_attention"] * 3 + ["full_attention"],
                  num_attention_heads=8, num_key_value_heads=2, head_dim=256,
                  linear_num_key_heads=16, linear_num_value_heads=16, linear_key_head_dim=128,
                  linear_value_head_dim=128, linear_conv_kernel_dim=4,
                  rope_parameters={"rope_type": "default", "rope_theta": 10_000_000.0,
                                   "mrope_section": [11, 11, 10], "mrope_interleaved": True,
                                   "partial_rotary_factor": 0.25}),
        vision=dict(depth=12, hidden_size=768, intermediate_size=3072, num_heads=12,
                    out_hidden_size=1024, num_position_embeddings=2304)),
    # Qwen2.5-VL-3B-Instruct, for the GPU check's vision run at nf4 (about 7.5 GB of bf16)
    "qwen2.5-vl-3b": dict(
        text=dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                  num_attention_heads=16, num_key_value_heads=2,
                  rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0,
                                   "mrope_section": [16, 24, 24]}),
        vision=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16,
                    out_hidden_size=2048, fullatt_block_indexes=[7, 15, 23, 31], window_size=112)),
}


def real_config(key: str):
    """(config, model class) of `key` at its published shape."""
    from qwenlab.registry import get_model
    from qwenlab.tiny_models import BUILDERS

    spec, shape = get_model(key), REAL_SHAPES[key]
    config, cls = BUILDERS[spec.arch](spec)
    text = getattr(config, "text_config", config)
    for name, value in shape["text"].items():
        setattr(text, name, value)
    pattern = shape["text"].get("layer_types") or getattr(text, "layer_types", None)
    if pattern:  # the layer kinds, repeated down the stack
        text.layer_types = (list(pattern) * text.num_hidden_layers)[:text.num_hidden_layers]
    for name, value in shape.get("vision", {}).items():
        setattr(config.vision_config, name, value)
    return config, cls


def build_real_shape(key: str, root: Path) -> Path:
    """Write ROOT/<key>/ with random weights of the real shape (bf16); reuse it if present."""
    import torch

    from qwenlab import tiny
    from qwenlab.registry import get_model
    from qwenlab.tiny_models import make_processor

    target = Path(root) / key
    if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
        return target
    spec = get_model(key)
    config, cls = real_config(key)
    started = time.perf_counter()
    with torch.device("cpu"):
        model = cls(config).to(torch.bfloat16).eval()
    generation = tiny.generation_config(spec)
    if generation is not None:
        model.generation_config = generation
    model.save_pretrained(target)
    if generation is None:
        (target / "generation_config.json").unlink(missing_ok=True)
    tokenizer = tiny.make_tokenizer(spec)
    if spec.is_vision:
        make_processor(spec, tokenizer, tiny.chat_template(spec)).save_pretrained(target)
    else:
        tokenizer.save_pretrained(target)
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
