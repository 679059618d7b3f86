"""Streaming chat over a leased model, as typed events (events.py).

generation.py owns one turn: the prompt-length check, the request to the model's engine,
turning token ids (or a remote engine's text) into text deltas, the live split of reasoning
from answer (thinking.py), the thinking budget's two passes, Stop, and the final stats
record. `astream_chat` is the turn for async callers (the app's handlers, which hold no
thread while they wait); `stream_chat` is the same turn for plain loops (the CLI, tests, lesson
cells), read on a private event loop. It does not load or cache models (pool.py), does not
choose the engine (loading.py chose it when the model loaded), and knows nothing of Gradio.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import AsyncIterator, Iterator

from qwenlab import config
from qwenlab.engines import Request, Text, ToolCall, Usage, Waiting
from qwenlab.engines.stream import iterate
from qwenlab.errors import N_, BadRequest, PromptTooLong
from qwenlab.events import Event, Final, Queued, TextDelta, ThinkingDelta, ToolCallDelta, timing
from qwenlab.loading import Loaded
from qwenlab.prompts import build_prompt
from qwenlab.registry import Sampling
from qwenlab.thinking import EARLY_STOP, THINK_END, Passes, ThinkSplitter, token_id

log = logging.getLogger(__name__)

DEFAULT_MAX_NEW_TOKENS = 512


def stream_chat(loaded: Loaded, messages: list[dict], **options) -> Iterator[Event]:
    """`astream_chat` for a plain loop: the same events, read on a private event loop."""
    return iterate(astream_chat(loaded, messages, **options))


async def astream_chat(loaded: Loaded, messages: list[dict], *, thinking: bool | None = None,
                       max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                       sampling: Sampling | None = None, system: str | None = None,
                       cancel: threading.Event | None = None, engine=None,
                       thinking_budget: int | None = None,
                       tools: list[dict] | None = None) -> AsyncIterator[Event]:
    """Stream one chat turn: Queued while it waits in line, ThinkingDelta / TextDelta events,
    then exactly one Final.

    thinking_budget: with thinking on, at most this many tokens of reasoning before the model
    is told to answer (two passes, as Qwen documents; not a generate() argument).
    cancel: set it (Stop) and the turn ends at the next piece, its Final "cancelled"; closing
    the iteration does the same without a Final.
    engine: run on this engine instead of the model's own (tests compare engines this way).
    tools: OpenAI-style function schemas; the template writes them into the prompt and the
    model may answer with a call (qwenlab.tools reads it back).
    """
    started = time.perf_counter()
    spec = loaded.spec
    thinking = bool(thinking) and spec.has_thinking
    sampling = sampling or spec.preset(thinking)
    _check(spec, thinking, sampling, max_new_tokens)
    if loaded.processor is None:  # a template and a tokenizer: a millisecond or two
        prompt = build_prompt(loaded, messages, thinking, system, tools)
    else:  # an image's processing takes seconds for a big one: not on the event loop
        prompt = await asyncio.to_thread(build_prompt, loaded, messages, thinking, system, tools)
    max_new_tokens = min(max_new_tokens, config.max_new_tokens_cap() or max_new_tokens,
                         _room(loaded, prompt.length))
    cancel = cancel or threading.Event()
    engine = (engine or loaded.engine).serving(prompt.length + max_new_tokens)
    think_end = token_id(loaded.tokenizer, THINK_END)
    budgeted = (thinking and thinking_budget and 0 < thinking_budget < max_new_tokens
                and engine.continues)
    passes = Passes(engine, Request(prompt, sampling, max_new_tokens), cancel,
                    int(thinking_budget) if budgeted else None, loaded.eos,
                    loaded.tokenizer.encode(EARLY_STOP, add_special_tokens=False)
                    if budgeted else None, think_end)
    tally = _Tally(loaded.tokenizer, thinking, think_end)
    async for piece in passes:
        if isinstance(piece, Waiting):
            yield Queued(piece.place, piece.at_once)
            continue
        for event in tally.add(piece, passes.injected):
            yield event
    for event in tally.flush():
        yield event
    yield tally.final(prompt.length, passes.injected, max_new_tokens, loaded.eos, cancel, started,
                      model=spec.key, precision=loaded.precision,
                      device=engine.where(loaded.device), engine=engine.name)


def _check(spec, thinking: bool, sampling: Sampling, max_new_tokens: int) -> None:
    if "chat" not in spec.capabilities:
        raise BadRequest(N_("{model} scores text for retrieval (qwenlab.scoring); it does not "
                            "chat. Pick a chat model."), model=spec.key)
    if thinking and not sampling.do_sample:
        raise BadRequest(N_("Greedy decoding with thinking on makes Qwen3 loop; sample instead"))
    if max_new_tokens < 1:
        raise BadRequest(N_("max_new_tokens must be at least 1"))


def _room(loaded: Loaded, prompt_tokens: int) -> int:
    """New tokens the context leaves after a prompt of `prompt_tokens`; PromptTooLong if none."""
    room = loaded.spec.context - prompt_tokens
    if room < 1:
        raise PromptTooLong(
            N_("The prompt is {count} tokens; {model} reads at most {context} tokens in all. "
               "Shorten it or start a new conversation."),
            count=f"{prompt_tokens:,}", model=loaded.spec.key, context=f"{loaded.spec.context:,}")
    return room


class _Tally:
    """Turns an engine's pieces into events and counts what the Final reports: token ids are
    decoded and counted as they come; text (a remote engine) is counted with the checkpoint's
    own tokenizer at the end."""

    def __init__(self, tokenizer, thinking: bool, think_end: int | None):
        self.tokenizer, self.thinking, self.think_end = tokenizer, thinking, think_end
        self.splitter = ThinkSplitter(thinking)
        self.decoder = IncrementalDecoder(tokenizer)
        self.first = self.last = self.last_id = None
        self.count = self.thinking_tokens = 0
        self.texts = {TextDelta: "", ThinkingDelta: ""}  # only for text pieces
        self.text_pieces = False
        self.usage = Usage()  # what a text engine's server reported of its count, if anything
        # A server that splits reasoning off itself (vLLM's reasoning parser) sends the answer
        # without tags: once it has, its content is answer, not text for our splitter.
        self.server_split = False

    def add(self, piece, injected: int = 0) -> list[Event]:
        """Events for one piece; `injected`: ids the thinking budget has added so far."""
        if isinstance(piece, Usage):
            self.usage = piece
            return []
        if isinstance(piece, ToolCall):
            self.text_pieces = True  # the server counts the call's tokens in its usage
            return [ToolCallDelta(piece.index, piece.id, piece.name, piece.arguments)]
        self.last = time.perf_counter()
        self.first = self.first or self.last
        if isinstance(piece, Text):
            self.text_pieces = True
            self.server_split |= piece.reasoning
            events = ([ThinkingDelta(piece.text)] if piece.reasoning else
                      [TextDelta(piece.text)] if self.server_split else self.splitter.feed(piece.text))
            for event in events:
                self.texts[type(event)] += event.text
            return events
        self.count += 1
        self.last_id = piece
        if piece == self.think_end and self.thinking and not self.thinking_tokens:
            self.thinking_tokens = self.count - injected
        return self.splitter.feed(self.decoder.add(piece))

    def flush(self) -> list[Event]:
        events = self.splitter.flush()
        for event in events:
            self.texts[type(event)] += event.text
        if self.splitter.state == "thinking" and not self.text_pieces:  # cut off mid-thought
            self.thinking_tokens = self.count
        return events

    def final(self, prompt_tokens: int, injected: int, max_new_tokens: int, eos: set[int],
              cancel: threading.Event, started: float, **about) -> Final:
        if self.text_pieces:
            thinking_tokens, answer_tokens = (
                len(self.tokenizer.encode(self.texts[kind], add_special_tokens=False))
                if self.texts[kind] else 0 for kind in (ThinkingDelta, TextDelta))
            # the server's own count where it sends one (stream_options.include_usage); else
            # the text re-tokenized, an estimate (a random or cut-off piece may split into more
            # tokens than were sampled), and the server never writes more than it was asked for
            generated = (self.usage.new_tokens if self.usage.new_tokens is not None
                         else min(thinking_tokens + answer_tokens, max_new_tokens))
            self.thinking_tokens = min(thinking_tokens, generated)
            reported = self.usage.finish_reason
            reason = ("cancelled" if cancel.is_set() else
                      reported if reported in ("stop", "length", "tool_calls") else
                      "length" if generated >= max_new_tokens else "stop")
        else:
            generated = self.count - injected
            reason = ("stop" if self.last_id in eos else  # the early-stop text counts, as Qwen's
                      "length" if generated + injected >= max_new_tokens else "cancelled")
        return Final(prompt_tokens=prompt_tokens, new_tokens=generated,
                     thinking_tokens=self.thinking_tokens,
                     **timing(started, self.first, self.last, generated), finish_reason=reason,
                     injected_tokens=injected, **about)


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
