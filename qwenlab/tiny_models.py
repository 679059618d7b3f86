"""The real architecture classes at toy width, for `qwenlab tiny` (tiny.py writes them out).

One builder per config model_type: Qwen2 / Qwen2.5 and Qwen3 text models, Qwen2-VL / Qwen2.5-VL,
Qwen3-VL, and Qwen3.5 with its hybrid layout kept (a Gated DeltaNet layer and a gated attention
layer) and its vision tower. Widths are toys; what makes a checkpoint of the family is kept:
the class, the vocabulary rows, the special token ids, the layer kinds, the rope layout, the
patch and merge sizes of the vision tower. Every linear input is a multiple of 64, the block of
bitsandbytes' nf4 on a CPU, so each builds at every precision.
"""

from __future__ import annotations

from qwenlab.registry import ModelSpec

QWEN_ROWS = 151936     # Qwen2 / 2.5 / 3 pad their 151,665-token vocabulary to this many rows
QWEN3_5_ROWS = 248320  # Qwen3.5's 248,077 tokens, padded
# (image, video, vision start, vision end) ids in each vocabulary
QWEN_VISION_IDS = dict(image_token_id=151655, video_token_id=151656,
                       vision_start_token_id=151652, vision_end_token_id=151653)
QWEN3_5_VISION_IDS = dict(image_token_id=248056, video_token_id=248057,
                          vision_start_token_id=248053, vision_end_token_id=248054)

_TEXT = dict(vocab_size=QWEN_ROWS, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
             bos_token_id=151643, eos_token_id=151645, rope_theta=1_000_000.0)


def make_model(spec: ModelSpec):
    """A random-weight model of `spec`'s architecture at toy width (bf16, as checkpoints ship)."""
    import torch

    config, cls = BUILDERS[spec.arch](spec)
    torch.manual_seed(0)
    return cls(config).to(torch.bfloat16).eval()


def _qwen2(spec: ModelSpec):
    import transformers as tf

    return tf.Qwen2Config(**_TEXT, max_position_embeddings=spec.context), tf.Qwen2ForCausalLM


def _qwen3(spec: ModelSpec):
    """Qwen3 text models: the hybrid, the 2507 pair, and the embedding and reranker models
    (which are Qwen3ForCausalLM checkpoints: the embedder is read through AutoModel)."""
    import transformers as tf

    return (tf.Qwen3Config(**_TEXT, head_dim=16, max_position_embeddings=spec.context),
            tf.Qwen3ForCausalLM)


def _vl_text(spec: ModelSpec) -> dict:
    # mrope_section must sum to head_dim / 2 (here 64 / 4 heads = 16 -> 8).
    text = dict(_TEXT, max_position_embeddings=spec.context,
                rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0,
                                 "mrope_section": [2, 3, 3]})
    text.pop("rope_theta")
    return text


def _qwen2_vl(spec: ModelSpec):
    import transformers as tf

    vision = dict(depth=1, embed_dim=64, hidden_size=64, num_heads=2, mlp_ratio=2)
    return (tf.Qwen2VLConfig(text_config=_vl_text(spec), vision_config=vision,
                             tie_word_embeddings=True, **QWEN_VISION_IDS),
            tf.Qwen2VLForConditionalGeneration)


def _qwen2_5_vl(spec: ModelSpec):
    import transformers as tf

    # Qwen2.5-VL's vision out_hidden_size must equal the text hidden size.
    vision = dict(depth=1, hidden_size=64, intermediate_size=128, num_heads=2, out_hidden_size=64,
                  fullatt_block_indexes=[0])
    return (tf.Qwen2_5_VLConfig(text_config=_vl_text(spec), vision_config=vision,
                                tie_word_embeddings=True, **QWEN_VISION_IDS),
            tf.Qwen2_5_VLForConditionalGeneration)


def _qwen3_vl(spec: ModelSpec):
    """Qwen3-VL: 16-pixel patches merged 2x2 (one visual token per 32x32 pixels), interleaved
    multimodal rope, deepstack features from a vision layer into the language model."""
    import transformers as tf

    text = _vl_text(spec)
    text["head_dim"] = 16
    text["rope_parameters"] = dict(text["rope_parameters"], mrope_interleaved=True)
    vision = dict(depth=1, hidden_size=64, intermediate_size=128, num_heads=2, out_hidden_size=64,
                  patch_size=16, spatial_merge_size=2, temporal_patch_size=2,
                  deepstack_visual_indexes=[0], num_position_embeddings=256)
    return (tf.Qwen3VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True,
                             **QWEN_VISION_IDS),
            tf.Qwen3VLForConditionalGeneration)


def _qwen3_5(spec: ModelSpec):
    """Qwen3.5 small: the hybrid kept (one Gated DeltaNet layer, one gated attention layer),
    partial rotary (a quarter of each 256-wide head in the real models, here of 16), the
    248K vocabulary, a vision tower of 16-pixel patches merged 2x2."""
    import transformers as tf

    text = dict(vocab_size=QWEN3_5_ROWS, hidden_size=64, intermediate_size=128,
                num_hidden_layers=2, layer_types=["linear_attention", "full_attention"],
                num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=16,
                linear_value_head_dim=16, linear_conv_kernel_dim=4, tie_word_embeddings=True,
                max_position_embeddings=spec.context, eos_token_id=248044,
                # the rotary part is 16 / 4 = 4 wide: its mrope sections sum to 2
                rope_parameters={"rope_type": "default", "rope_theta": 10_000_000.0,
                                 "mrope_section": [1, 1, 0], "mrope_interleaved": True,
                                 "partial_rotary_factor": 0.25})
    vision = dict(depth=1, hidden_size=64, intermediate_size=128, num_heads=2, out_hidden_size=64,
                  patch_size=16, spatial_merge_size=2, temporal_patch_size=2,
                  num_position_embeddings=256)
    return (tf.Qwen3_5Config(text_config=text, vision_config=vision, tie_word_embeddings=True,
                             **QWEN3_5_VISION_IDS),
            tf.Qwen3_5ForConditionalGeneration)


BUILDERS = {"qwen2": _qwen2, "qwen3": _qwen3, "qwen2_vl": _qwen2_vl, "qwen2_5_vl": _qwen2_5_vl,
            "qwen3_vl": _qwen3_vl, "qwen3_5": _qwen3_5}


def make_processor(spec: ModelSpec, tokenizer, template: str):
    """The vision processor a checkpoint of `spec`'s family ships, at the CPU-friendly budget
    of 256 to 1280 visual tokens (28 px a token for Qwen2/2.5-VL, 32 px for Qwen3-VL and
    Qwen3.5)."""
    import transformers as tf

    if spec.arch in ("qwen2_vl", "qwen2_5_vl"):
        image = tf.Qwen2VLImageProcessor(min_pixels=256 * 28 * 28, max_pixels=1280 * 28 * 28)
        cls = tf.Qwen2VLProcessor if spec.arch == "qwen2_vl" else tf.Qwen2_5_VLProcessor
        return cls(image_processor=image, tokenizer=tokenizer,
                   video_processor=tf.Qwen2VLVideoProcessor(), chat_template=template)
    # Qwen3-VL and Qwen3.5 ship Qwen3VLProcessor with the Qwen2-VL image processor at 16 px
    image = tf.Qwen2VLImageProcessor(patch_size=16, merge_size=2, image_mean=[0.5] * 3,
                                     image_std=[0.5] * 3,
                                     size={"shortest_edge": 256 * 32 * 32,
                                           "longest_edge": 1280 * 32 * 32})
    return tf.Qwen3VLProcessor(image_processor=image, tokenizer=tokenizer,
                               video_processor=tf.Qwen3VLVideoProcessor(), chat_template=template)
