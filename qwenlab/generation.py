"""Streaming chat over a leased model, as typed events.

generation.py owns the chat template (Qwen3's `enable_thinking`), vision inputs
(`qwen_vl_utils.process_vision_info`), the prompt-length check, incremental decoding, the live
split of reasoning from answer at `</think>`, cancellation, and the final stats record. It does
not load or cache models (pool.py) and knows nothing of Gradio.

The model call itself sits behind an engine: `engine.stream(loaded, inputs, ...)` yields new
token ids. `TransformersEngine` runs `generate()` in a thread per request; an engine that
batches concurrent requests (transformers' continuous batching) only has to yield ids the same
way, and everything above it stays as it is.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator, Union

from qwenlab.loading import Loaded
from qwenlab.registry import Sampling

log = logging.getLogger(__name__)

THINK_START, THINK_END = "<think>", "</think>"
THINK_END_ID = 151668
DEFAULT_MAX_NEW_TOKENS = 512
# Qwen's documented way to end thinking early (thinking_budget.md): append this, then let the
# model answer from what it has thought so far.
EARLY_STOP = ("\n\nConsidering the limited time by the user, I have to give the solution based on "
              "the thinking directly now.\n</think>.\n\n")


# -- events ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True)
class Final:
    """The last event of every stream."""

    prompt_tokens: int
    new_tokens: int
    thinking_tokens: int
    ttft_s: float | None          # request start to first new token
    tokens_per_s: float           # decode rate after the first token
    total_s: float
    finish_reason: str            # stop | length | cancelled
    injected_tokens: int = 0      # the thinking budget's early-stop text, not generated
    model: str = ""
    precision: str = ""
    device: str = ""
    engine: str = "transformers"

    def summary(self) -> str:
        ttft = f"{self.ttft_s:.2f} s" if self.ttft_s is not None else "n/a"
        return (f"{self.new_tokens} tokens · first token {ttft} · {self.tokens_per_s:.1f} tokens/s"
                f" · prompt {self.prompt_tokens} · {self.finish_reason}"
                f" · {self.model} {self.precision} on {self.device} ({self.engine})")


Event = Union[TextDelta, ThinkingDelta, Final]


class PromptTooLong(ValueError):
    """The prompt does not leave room to answer within the model's context."""


# -- thinking split ----------------------------------------------------------------------------
class ThinkSplitter:
    """Splits streamed text into reasoning and answer at `</think>`, as chunks arrive.

    With thinking on, Qwen3 opens its output with `<think>`; everything until `</think>` is
    reasoning. Output that does not open with `<think>` is all answer. A tag split across two
    chunks is held back until it is whole.
    """

    def __init__(self, thinking: bool):
        self.state = "start" if thinking else "answer"
        self.buffer = ""
        self.fresh = False  # just past a tag: leading newlines still to drop

    def feed(self, text: str) -> list[Event]:
        self.buffer += text
        events: list[Event] = []
        while True:
            before = (self.state, self.buffer)
            events += self._step()
            if (self.state, self.buffer) == before:
                return [e for e in events if e.text]

    def flush(self) -> list[Event]:
        if self.state == "start":
            self.state = "answer"
        rest, self.buffer = self.buffer, ""
        cls = ThinkingDelta if self.state == "thinking" else TextDelta
        return [cls(rest)] if rest else []

    def _step(self) -> list[Event]:
        if self.state in ("answer", "thinking") and self.fresh:
            # the newlines Qwen writes after a tag belong to neither part; they may come late.
            # Qwen's early-stop text closes with "</think>.\n\n": that dot is not the answer.
            self.buffer = self.buffer.lstrip("\n")
            if self.state == "answer":
                if self.buffer.startswith(".\n"):
                    self.buffer = self.buffer[1:].lstrip("\n")
                if self.buffer in ("", "."):
                    return []  # wait to see what follows
            self.fresh = not self.buffer
        if self.state == "answer":
            out, self.buffer = self.buffer, ""
            return [TextDelta(out)]
        if self.state == "start":
            stripped = self.buffer.lstrip()
            if stripped.startswith(THINK_START):
                self.state, self.buffer, self.fresh = "thinking", stripped[len(THINK_START):], True
            elif not THINK_START.startswith(stripped):
                self.state = "answer"
            return []
        # thinking: emit up to the closing tag, or all but a possible partial tag
        index = self.buffer.find(THINK_END)
        if index >= 0:
            thought = self.buffer[:index]
            self.state, self.buffer, self.fresh = "answer", self.buffer[index + len(THINK_END):], True
            return [ThinkingDelta(thought)]
        keep = _partial_suffix(self.buffer, THINK_END)
        out, self.buffer = self.buffer[: len(self.buffer) - keep], self.buffer[len(self.buffer) - keep:]
        return [ThinkingDelta(out)]


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that could be the start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


# -- messages ----------------------------------------------------------------------------------
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


def build_inputs(loaded: Loaded, messages: list[dict], thinking: bool | None):
    """Token ids (and pixel values) for a chat, through the model's own template."""
    spec = loaded.spec
    if spec.is_vision:
        from qwen_vl_utils import process_vision_info

        prompt = loaded.processor.apply_chat_template(messages, tokenize=False,
                                                      add_generation_prompt=True)
        images, videos = process_vision_info(messages)
        return loaded.processor(text=[prompt], images=images, videos=videos, padding=True,
                                return_tensors="pt", **_pixel_limits(messages))
    extra = {"enable_thinking": bool(thinking)} if spec.has_thinking else {}
    prompt = loaded.tokenizer.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=True, **extra)
    return loaded.tokenizer(prompt, return_tensors="pt")


def _pixel_limits(messages: list[dict]) -> dict:
    """The images' min/max_pixels, for the processor as well: qwen_vl_utils resizes each image
    within its own limits, then the image processor would resize again within its defaults."""
    limits = [part for message in messages if isinstance(message["content"], list)
              for part in message["content"] if "min_pixels" in part or "max_pixels" in part]
    if not limits:
        return {}
    size = {"shortest_edge": min(p.get("min_pixels", 4 * 28 * 28) for p in limits),
            "longest_edge": max(p.get("max_pixels", 16384 * 28 * 28) for p in limits)}
    return {"images_kwargs": {"size": size}}


# -- engine ------------------------------------------------------------------------------------
class TransformersEngine:
    """One `model.generate()` thread per request, streaming token ids through a queue."""

    name = "transformers"

    def stream(self, loaded: Loaded, inputs: dict, sampling: Sampling, max_new_tokens: int,
               cancel: threading.Event) -> Iterator[int]:
        from transformers import StoppingCriteria, StoppingCriteriaList
        from transformers.generation.streamers import BaseStreamer

        ids: queue.Queue = queue.Queue()
        done = object()
        finished = threading.Event()  # set when the consumer walks away; `cancel` is the caller's

        class Streamer(BaseStreamer):
            prompt_seen = False

            def put(self, value):
                if not self.prompt_seen:  # generate() first hands over the prompt
                    self.prompt_seen = True
                    return
                for token in value.reshape(-1).tolist():
                    ids.put(token)

            def end(self):
                ids.put(done)

        class Cancel(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                import torch

                stop = cancel.is_set() or finished.is_set()
                return torch.full((input_ids.shape[0],), stop, dtype=torch.bool)

        def run():
            import torch

            try:
                with torch.inference_mode():  # cheaper than generate()'s own no_grad
                    loaded.model.generate(
                        **inputs, streamer=Streamer(), max_new_tokens=max_new_tokens,
                        stopping_criteria=StoppingCriteriaList([Cancel()]),
                        **sampling.generate_kwargs())
            except BaseException as exc:  # handed to the consumer, which re-raises it
                ids.put(exc)
                ids.put(done)

        thread = threading.Thread(target=run, name=f"generate-{loaded.spec.key}", daemon=True)
        thread.start()
        try:
            while (item := ids.get()) is not done:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            finished.set()  # a consumer that stops early (Stop, closed tab) ends the thread
            thread.join(timeout=30)


DEFAULT_ENGINE = TransformersEngine()


# -- thinking budget -----------------------------------------------------------------------------
def plan_second_pass(first: list[int], budget: int, max_new_tokens: int, eos: set[int],
                     early_stop: list[int]) -> tuple[list[int], int] | None:
    """After a first pass of at most `budget` tokens: None if the turn is over; otherwise the
    ids to append before answering (the early-stop text when thinking never closed) and how many
    tokens the answer may still use."""
    if len(first) < budget or (first and first[-1] in eos):
        return None  # it finished (or was stopped) inside the budget
    left = max_new_tokens - len(first)
    if left < 1:
        return None
    return ([] if THINK_END_ID in first else list(early_stop)), left


class BudgetedStream:
    """Token ids from two passes, as Qwen documents for a thinking budget."""

    def __init__(self, engine, loaded: Loaded, inputs, sampling: Sampling, max_new_tokens: int,
                 budget: int, cancel: threading.Event, eos: set[int]):
        self.args = (engine, loaded, inputs, sampling, max_new_tokens, budget, cancel, eos)
        self.injected = 0
        self._inner = None

    def __iter__(self):
        import torch

        engine, loaded, inputs, sampling, max_new_tokens, budget, cancel, eos = self.args
        first = []
        self._inner = engine.stream(loaded, inputs, sampling, budget, cancel)
        for token in self._inner:
            first.append(token)
            yield token
        stop_ids = loaded.tokenizer.encode(EARLY_STOP, add_special_tokens=False)
        plan = None if cancel.is_set() else plan_second_pass(first, budget, max_new_tokens, eos, stop_ids)
        if plan is None:
            return
        extra, left = plan
        self.injected = len(extra)
        yield from extra
        ids = torch.cat([inputs["input_ids"], torch.tensor([first + extra], device=inputs["input_ids"].device)], 1)
        second = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        self._inner = engine.stream(loaded, second, sampling, left, cancel)
        yield from self._inner

    def close(self):
        if self._inner is not None:
            self._inner.close()


# -- the stream ----------------------------------------------------------------------------------
def stream_chat(loaded: Loaded, messages: list[dict], *, thinking: bool | None = None,
                max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, sampling: Sampling | None = None,
                system: str | None = None, cancel: threading.Event | None = None,
                engine=None, thinking_budget: int | None = None) -> Iterator[Event]:
    """Stream one chat turn: ThinkingDelta / TextDelta events, then exactly one Final.

    thinking_budget: with thinking on, at most this many tokens of reasoning before the model
    is told to answer (two passes, as Qwen documents; not a generate() argument).
    """
    started = time.perf_counter()
    spec = loaded.spec
    thinking = bool(thinking) and spec.has_thinking
    sampling = sampling or spec.preset(thinking)
    if thinking and not sampling.do_sample:
        raise ValueError("Greedy decoding with thinking on makes Qwen3 loop; sample instead")
    if max_new_tokens < 1:
        raise ValueError("max_new_tokens must be at least 1")
    inputs = build_inputs(loaded, prepare_messages(messages, spec.is_vision, system), thinking)
    prompt_tokens = int(inputs["input_ids"].shape[1])
    room = spec.context - prompt_tokens
    if room < 1:
        raise PromptTooLong(
            f"The prompt is {prompt_tokens:,} tokens; {spec.key} reads at most {spec.context:,} "
            f"tokens in all. Shorten it or start a new conversation.")
    max_new_tokens = min(max_new_tokens, room)
    if loaded.extra.get("engine") == "remote":
        yield from _stream_remote(loaded, prepare_messages(messages, False, system), thinking,
                                  max_new_tokens, sampling, cancel or threading.Event(), started,
                                  prompt_tokens)
        return
    if hasattr(loaded.model, "device"):  # a torch model; ONNX Runtime takes the ids as they are
        inputs = inputs.to(loaded.model.device)
    cancel = cancel or threading.Event()
    eos = _eos_ids(loaded)
    engine = engine or engine_for(loaded, eos, prompt_tokens + max_new_tokens)

    splitter = ThinkSplitter(thinking)
    decoder = IncrementalDecoder(loaded.tokenizer)
    first = last = None
    count = thinking_tokens = 0
    last_id = None
    budgeted = thinking and thinking_budget and 0 < thinking_budget < max_new_tokens
    tokens = (BudgetedStream(engine, loaded, inputs, sampling, max_new_tokens, int(thinking_budget),
                             cancel, eos) if budgeted
              else engine.stream(loaded, inputs, sampling, max_new_tokens, cancel))
    iterator = iter(tokens)
    try:
        for token in iterator:
            last = time.perf_counter()
            first = first or last
            count += 1
            last_id = token
            if token == THINK_END_ID and thinking and not thinking_tokens:
                thinking_tokens = count - getattr(tokens, "injected", 0)
            yield from splitter.feed(decoder.add(token))
    finally:
        iterator.close()  # runs when our own consumer closes us too: the thread must end
        tokens.close()
    yield from splitter.flush()
    if splitter.state == "thinking":  # the budget ran out mid-thought
        thinking_tokens = count
    injected = getattr(tokens, "injected", 0)
    generated = count - injected
    reason = "stop" if last_id in eos else "length" if generated >= max_new_tokens else "cancelled"
    yield Final(
        prompt_tokens=prompt_tokens, new_tokens=generated, thinking_tokens=thinking_tokens,
        **_timing(started, first, last, generated), finish_reason=reason,
        injected_tokens=injected, model=spec.key, precision=loaded.precision,
        device=loaded.device, engine=engine.name)


def _timing(started: float, first: float | None, last: float | None, generated: int) -> dict:
    """Final's clock fields: first token after the request began, decode rate after it."""
    decode_s = (last - first) if first and last else 0.0
    return {"ttft_s": (first - started) if first else None,
            "tokens_per_s": (generated - 1) / decode_s if generated > 1 and decode_s > 0 else 0.0,
            "total_s": time.perf_counter() - started}


def _stream_remote(loaded: Loaded, messages: list[dict], thinking: bool, max_new_tokens: int,
                   sampling: Sampling, cancel: threading.Event, started: float,
                   prompt_tokens: int) -> Iterator[Event]:
    """The same events from a remote OpenAI-compatible engine: text arrives, not token ids, so
    the tokens are counted with the checkpoint's own tokenizer."""
    from qwenlab import remote

    splitter = ThinkSplitter(thinking)
    body = remote.request_body(loaded.model, messages, sampling, max_new_tokens,
                               thinking if loaded.spec.has_thinking else None)
    parts = {TextDelta: "", ThinkingDelta: ""}
    first = last = None
    for kind, delta in remote.stream_text(loaded.model, body, cancel):
        last = time.perf_counter()
        first = first or last
        events = [ThinkingDelta(delta)] if kind == "reasoning" else splitter.feed(delta)
        for event in events:
            parts[type(event)] += event.text
            yield event
    for event in splitter.flush():
        parts[type(event)] += event.text
        yield event
    thinking_tokens, answer_tokens = (
        len(loaded.tokenizer.encode(parts[kind], add_special_tokens=False)) if parts[kind] else 0
        for kind in (ThinkingDelta, TextDelta))
    generated = thinking_tokens + answer_tokens
    reason = ("cancelled" if cancel.is_set() else
              "length" if generated >= max_new_tokens else "stop")
    yield Final(
        prompt_tokens=prompt_tokens, new_tokens=generated, thinking_tokens=thinking_tokens,
        **_timing(started, first, last, generated), finish_reason=reason,
        model=loaded.spec.key, precision="remote", device=loaded.model.url, engine=remote.ENGINE)


def engine_for(loaded: Loaded, eos: set[int], tokens: int = 0):
    """The engine that runs this loaded model: ONNX Runtime GenAI for int4; for transformers
    text models, continuous batching where QWENLAB_BATCHING allows it and an answer of
    `tokens` (prompt and new) fits its cache; else plain generate."""
    from qwenlab import batching, ortgenai

    if loaded.extra.get("engine") == ortgenai.ENGINE:
        return ortgenai.OnnxEngine()
    if batching.applies(loaded, tokens):
        return batching.BatchingEngine(eos)
    return DEFAULT_ENGINE


def _eos_ids(loaded: Loaded) -> set[int]:
    config = getattr(loaded.model, "generation_config", None)
    eos = config.eos_token_id if config is not None else loaded.extra.get("eos_token_id")
    ids = set(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(loaded.tokenizer.eos_token_id)
    return ids


class IncrementalDecoder:
    """Decodes a growing token list into text deltas without re-decoding it all each step,
    holding back bytes of a character that is not complete yet."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.prefix = self.read = 0

    def add(self, token: int) -> str:
        self.ids.append(token)
        decode = self.tokenizer.decode
        before = decode(self.ids[self.prefix:self.read], skip_special_tokens=True)
        after = decode(self.ids[self.prefix:], skip_special_tokens=True)
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self.prefix, self.read = self.read, len(self.ids)
            return after[len(before):]
        return ""


def collect(events: Iterator[Event]) -> tuple[str, str, Final]:
    """(thinking, answer, final) from a whole stream: for the CLI, tests and batch uses."""
    thinking, answer, final = [], [], None
    for event in events:
        if isinstance(event, ThinkingDelta):
            thinking.append(event.text)
        elif isinstance(event, TextDelta):
            answer.append(event.text)
        else:
            final = event
    return "".join(thinking), "".join(answer), final
