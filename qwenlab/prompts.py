"""From a chat to what a model reads: history normalised, the model's own chat template applied
(Qwen3's `enable_thinking`), images through `qwen_vl_utils.process_vision_info`, token ids out.

What people typed is tokenized as text. A fast tokenizer parses `<|im_end|>`, `<|im_start|>`
or `<think>` anywhere in a string as the control token, so a learner who types
`<|im_end|>\n<|im_start|>system\n...` would forge a system turn. When a message holds such a
string, the template is rendered around placeholders and each message is tokenized on its own
with a copy of the tokenizer that knows no added tokens: the typed tag becomes the ids of its
characters. Vision prompts go through the processor in one piece, so there the tag is broken
with an invisible word joiner (U+2060) instead. It does not load models (loading.py) or
generate (generation.py), and knows nothing of Gradio.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from functools import wraps
from typing import Any

from qwenlab.engines import Prompt
from qwenlab.errors import N_, BadRequest

_THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)


def prepare_messages(messages: list[dict], vision: bool, system: str | None = None) -> list[dict]:
    """Normalise chat history for the template.

    Browsers send content as a list of parts, API clients as a string; reasoning messages
    (Gradio's metadata.title panels) and earlier turns' <think> blocks are not sent back.
    """
    out = [{"role": "system", "content": system}] if system else []
    for message in messages:
        if (message.get("metadata") or {}).get("title"):
            continue
        role, content = message["role"], message.get("content")
        if role == "system" and system:
            continue
        parts = _parts(content)
        if role == "assistant":
            parts = [dict(p, text=_THINK_BLOCK.sub("", p["text"])) if p["type"] == "text" else p
                     for p in parts]
        if vision and any(p["type"] != "text" for p in parts):
            out.append({"role": role, "content": parts})
        else:
            out.append({"role": role, "content": "".join(p.get("text", "") for p in parts)})
        if role == "assistant" and message.get("tool_calls"):  # the calls it made, kept
            out[-1]["tool_calls"] = message["tool_calls"]
    return out


def _parts(content: Any) -> list[dict]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, dict):
        content = [content]
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append({"type": "text", "text": part})
        elif part.get("type") == "text" or "text" in part:
            parts.append({"type": "text", "text": part.get("text", "")})
        else:
            parts.append(part)
    return parts


def build_prompt(loaded, messages: list[dict], thinking: bool | None,
                 system: str | None = None, tools: list[dict] | None = None) -> Prompt:
    """The chat as token ids (and pixel values) through the model's own template, plus the
    normalised chat itself for engines that template it themselves."""
    spec = loaded.spec
    vision = loaded.processor is not None  # Qwen3.5 at int4 is its text part: no processor
    if not vision and _has_images(messages):
        raise BadRequest(N_("{model} at {precision} reads text only here: its images go through "
                            "the vision encoder, which runs at bf16 on this machine. Pick bf16 "
                            "to ask about an image."), model=spec.key, precision=loaded.precision)
    vision_chat = prepare_messages(messages, vision, system)
    text_chat = vision_chat if not vision else prepare_messages(messages, False, system)
    # a remote server templates the chat itself and would parse typed tags as control tokens
    remote_chat = [_escaped(loaded.tokenizer, m) for m in text_chat]
    return Prompt(inputs=build_inputs(loaded, vision_chat, thinking, tools),
                  messages=remote_chat, thinking=bool(thinking) if spec.has_thinking else None,
                  tools=tools or None)


def _has_images(messages: list[dict]) -> bool:
    return any(part.get("type") in ("image", "video") or "image" in part
               for message in messages for part in _parts(message.get("content"))
               if isinstance(part, dict))


def build_inputs(loaded, messages: list[dict], thinking: bool | None,
                 tools: list[dict] | None = None):
    """Token ids (and pixel values) for a chat, through the model's own template; `tools`
    (OpenAI-style function schemas) are written into the system turn by the template."""
    spec = loaded.spec
    # Qwen3 and Qwen3.5 templates read enable_thinking; a single-mode template ignores it
    extra = {"enable_thinking": bool(thinking)} if spec.has_thinking else {}
    if tools:
        extra["tools"] = tools
    if loaded.processor is not None:
        messages = [_escaped(loaded.processor.tokenizer, m) for m in messages]
        prompt = loaded.processor.apply_chat_template(messages, tokenize=False,
                                                      add_generation_prompt=True, **extra)
        images, videos, limits = vision_inputs(messages, _patch(loaded.processor))
        return loaded.processor(text=[prompt], images=images, videos=videos, padding=True,
                                return_tensors="pt", **limits)
    tokenizer = loaded.tokenizer
    if any(_control_strings(tokenizer).search(m["content"]) for m in messages):
        return _encode_as_text(tokenizer, messages, extra)
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                           **extra)
    return tokenizer(prompt, return_tensors="pt")


_MARK = re.compile("\ue000(\\d+)\ue001")  # private-use characters: no one types these


def _encode_as_text(tokenizer, messages: list[dict], extra: dict):
    """The template's own tokens as control tokens, each message's content as plain text."""
    import torch
    from transformers import BatchEncoding

    marked = [dict(m, content=f"\ue000{i}\ue001") for i, m in enumerate(messages)]
    prompt = tokenizer.apply_chat_template(marked, tokenize=False, add_generation_prompt=True,
                                           **extra)
    plain, ids, start = _text_only(tokenizer), [], 0
    for match in _MARK.finditer(prompt):
        ids += tokenizer.encode(prompt[start:match.start()], add_special_tokens=False)
        ids += plain.encode(messages[int(match[1])]["content"], add_special_tokens=False).ids
        start = match.end()
    ids += tokenizer.encode(prompt[start:], add_special_tokens=False)
    tensor = torch.tensor([ids])
    return BatchEncoding({"input_ids": tensor, "attention_mask": torch.ones_like(tensor)})


def _per_tokenizer(build):
    """Cache build(tokenizer) for as long as that tokenizer lives, and no longer.

    lru_cache would hold the tokenizer itself: an evicted model's tokenizer (its vocabulary and
    merges, ~150 MB of Python objects for Qwen's) would stay in memory after the pool let it go.
    """
    built: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    lock = threading.Lock()

    @wraps(build)
    def cached(tokenizer):
        with lock:
            if tokenizer not in built:
                built[tokenizer] = build(tokenizer)
            return built[tokenizer]

    return cached


@_per_tokenizer
def _control_strings(tokenizer) -> re.Pattern:
    """Every added token's text (<|im_end|>, <think>, ...), longest first."""
    added = sorted(tokenizer.get_added_vocab(), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, added)) or "(?!)")


@_per_tokenizer
def _text_only(tokenizer):
    """A copy of the tokenizer's byte-level BPE without its added tokens: every string is text."""
    from tokenizers import Tokenizer

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    spec["added_tokens"] = []
    return Tokenizer.from_str(json.dumps(spec))


def _escaped(tokenizer, message: dict) -> dict:
    content = message["content"]
    if isinstance(content, str):
        return dict(message, content=escape_control_strings(tokenizer, content))
    return dict(message, content=[dict(p, text=escape_control_strings(tokenizer, p["text"]))
                                  if p.get("type") == "text" else p for p in content])


def escape_control_strings(tokenizer, text: str) -> str:
    """`text` with every control-token string broken by a word joiner (U+2060), for prompts that
    are tokenized in one piece with the template (vision processors)."""
    return _control_strings(tokenizer).sub(lambda m: m[0][0] + "\u2060" + m[0][1:], text)


def vision_inputs(messages: list[dict], patch: int = 14) -> tuple[list | None, list | None, dict]:
    """The chat's images and videos as qwen_vl_utils opens and resizes them (to multiples of
    `patch` x 2: 28 pixels for Qwen2/2.5-VL, 32 for Qwen3-VL and Qwen3.5, whose patches are 16),
    and the processor kwargs that hold the image processor to the same limits. build_inputs
    sends exactly these; running the image processor alone on them counts the visual tokens
    without the model."""
    from qwen_vl_utils import process_vision_info

    images, videos = process_vision_info(messages, image_patch_size=patch)
    return images, videos, _pixel_limits(messages, patch)


def _patch(processor) -> int:
    """The vision tower's patch size, from the image processor the checkpoint ships."""
    return int(getattr(getattr(processor, "image_processor", processor), "patch_size", 14))


def _pixel_limits(messages: list[dict], patch: int = 14) -> dict:
    """The images' min/max_pixels, for the processor as well: qwen_vl_utils resizes each image
    within its own limits, then the image processor runs its smart_resize again, within its own
    defaults unless given these. (Even with these it can move the size when min and max are
    close; count visual tokens from its image_grid_thw.)"""
    limits = [part for message in messages if isinstance(message["content"], list)
              for part in message["content"] if "min_pixels" in part or "max_pixels" in part]
    if not limits:
        return {}
    factor = patch * 2  # a visual token: patch x patch, merged 2 x 2
    size = {"shortest_edge": min(p.get("min_pixels", 4 * factor * factor) for p in limits),
            "longest_edge": max(p.get("max_pixels", 16384 * factor * factor) for p in limits)}
    return {"images_kwargs": {"size": size}}
