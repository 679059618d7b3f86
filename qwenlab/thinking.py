"""Qwen's thinking, as it streams: where reasoning ends and the answer begins, and a thinking
budget done the way Qwen documents it (two passes; not a generate() argument).

The split follows vLLM's Qwen3 reasoning parser (tests/reasoning/test_qwen3_reasoning_parser.py):
with thinking on, everything up to `</think>` is reasoning, whether or not the output opened
with `<think>` (Qwen3-*-Thinking-2507 and QwQ put `<think>` in the prompt); output cut off
before `</think>` is all reasoning; with thinking off, everything is answer.
Nothing here loads a model or knows of Gradio.
"""

from __future__ import annotations

import threading
from typing import AsyncIterator

from qwenlab.engines import Engine, Request
from qwenlab.events import Event, TextDelta, ThinkingDelta

THINK_START, THINK_END = "<think>", "</think>"
# Qwen3 docs (getting_started/quickstart.md, "Thinking Budget"): appended when the budget is
# spent before </think>, so the model answers from what it has thought so far.
EARLY_STOP = ("\n\nConsidering the limited time by the user, I have to give the solution based on "
              "the thinking directly now.\n</think>\n\n")


class ThinkSplitter:
    """Splits streamed text into reasoning and answer at `</think>`, as chunks arrive.
    A tag split across two chunks is held back until it is whole."""

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
        """The rest, at the end of the stream: reasoning if thinking never closed."""
        if self.state == "start":
            self.state = "thinking"
        rest, self.buffer = self.buffer, ""
        cls = ThinkingDelta if self.state == "thinking" else TextDelta
        return [cls(rest)] if rest else []

    def _step(self) -> list[Event]:
        if self.fresh:  # the newlines Qwen writes after a tag belong to neither part
            self.buffer = self.buffer.lstrip("\n")
            self.fresh = not self.buffer
        if self.state == "answer":
            out, self.buffer = self.buffer, ""
            return [TextDelta(out)]
        if self.state == "start":
            stripped = self.buffer.lstrip()
            if stripped.startswith(THINK_START):
                self.state, self.buffer, self.fresh = "thinking", stripped[len(THINK_START):], True
            elif not THINK_START.startswith(stripped):  # no opening tag: reasoning all the same
                self.state = "thinking"
            return []
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


def token_id(tokenizer, text: str) -> int | None:
    """The id of one special token in this tokenizer's vocabulary, or None: `</think>` is
    151668 in Qwen3's vocabulary and 248069 in Qwen3.5's, so it is read, never assumed."""
    found = tokenizer.convert_tokens_to_ids(text)
    return found if isinstance(found, int) and found != tokenizer.unk_token_id else None


def plan_second_pass(first: list[int], budget: int, max_new_tokens: int, eos: set[int],
                     early_stop: list[int], think_end: int | None) -> tuple[list[int], int] | None:
    """After a first pass of at most `budget` tokens: None if the turn is over; otherwise the
    ids to append before answering (the early-stop text when thinking never closed) and how
    many tokens the answer may still use. As in Qwen's documented code, the appended text
    counts against max_new_tokens."""
    if len(first) < budget or any(token in eos for token in first):
        return None  # it finished (or was stopped) inside the budget
    extra = [] if think_end in first else list(early_stop)
    left = max_new_tokens - len(first) - len(extra)
    if left < 1:
        return None
    return extra, left


class Passes:
    """The pieces of one turn from its engine: one request, or with a thinking budget two, as
    Qwen documents (the second goes on from the first's ids plus, if thinking never closed,
    the early-stop text). `injected` counts the ids added between them; `cancel` (Stop)
    ends the turn at the next piece."""

    def __init__(self, engine: Engine, request: Request, cancel: threading.Event,
                 budget: int | None = None, eos: frozenset[int] = frozenset(),
                 early_stop: list[int] | None = None, think_end: int | None = None):
        self.engine, self.request, self.cancel, self.budget = engine, request, cancel, budget
        self.eos, self.early_stop, self.think_end = eos, early_stop or [], think_end
        self.injected = 0

    async def __aiter__(self) -> AsyncIterator:
        request = self.request
        if self.budget is None:
            async for piece in self._one(request):
                yield piece
            return
        first: list[int] = []
        async for piece in self._one(Request(request.prompt, request.sampling, self.budget)):
            if isinstance(piece, int):
                first.append(piece)
            yield piece
        plan = None if self.cancel.is_set() else plan_second_pass(
            first, self.budget, request.max_new_tokens, self.eos, self.early_stop, self.think_end)
        if plan is None:
            return
        extra, left = plan
        for token in extra:  # counted as they go, so that the turn knows which ids it wrote
            self.injected += 1
            yield token
        async for piece in self._one(Request(request.prompt.extended(first + extra),
                                             request.sampling, left)):
            yield piece

    async def _one(self, request: Request) -> AsyncIterator:
        stream = self.engine.submit(request)
        try:
            async for piece in stream:
                yield piece
                if self.cancel.is_set():
                    return
        finally:  # Stop, a closed tab, or any way out: the engine drops the request
            stream.cancel()
