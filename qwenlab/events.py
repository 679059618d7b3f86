"""The records a streamed chat turn yields: text, reasoning, and one final record with stats.

Every engine's output ends up as these (generation.py turns token ids or remote text into
them), so demos, the CLI and tests read one shape whatever answered. Plain data, no model.
The stats line is a Message: one whole sentence for a translator, numbers, names and units
filled in as values (the UI translates it with qwenlab.web.i18n.t).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, Union

from qwenlab.errors import N_, Message


@dataclass(frozen=True)
class Queued:
    """The request waits in its model's line: `place` 1 is next; the engine writes `at_once`
    answers together."""

    place: int
    at_once: int


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a tool call, as a remote server parsed it (OpenAI's delta.tool_calls): the
    first of a call has its id and name; the arguments' JSON comes in fragments per index."""

    index: int
    id: str | None
    name: str | None
    arguments: str


# Final.summary(): the stats line under an answer
SUMMARY = N_("{tokens} tokens · first token {ttft} · {rate} tokens/s · prompt {prompt} · "
             "{finish} · {model} {precision} on {device} ({engine})")


@dataclass(frozen=True)
class Final:
    """The last event of every stream."""

    prompt_tokens: int
    new_tokens: int
    thinking_tokens: int
    ttft_s: float | None          # request start to first new token (a wait in line included)
    tokens_per_s: float           # decode rate after the first token
    total_s: float
    finish_reason: str            # stop | length | cancelled | tool_calls (a remote server's)
    injected_tokens: int = 0      # the thinking budget's early-stop text, not generated
    model: str = ""
    precision: str = ""
    device: str = ""
    engine: str = "transformers"

    def summary(self) -> Message:
        """'12 tokens · first token 0.31 s · 20.5 tokens/s · prompt 25 · stop · qwen3-0.6b
        int4 on cpu (onnxruntime-genai)'; the finish reason stays the API's word."""
        ttft = f"{self.ttft_s:.2f} s" if self.ttft_s is not None else Message(N_("n/a"))
        return Message(SUMMARY, tokens=self.new_tokens, ttft=ttft,
                       rate=f"{self.tokens_per_s:.1f}", prompt=self.prompt_tokens,
                       finish=self.finish_reason, model=self.model, precision=self.precision,
                       device=self.device, engine=self.engine)


Event = Union[Queued, TextDelta, ThinkingDelta, ToolCallDelta, Final]


def timing(started: float, first: float | None, last: float | None, generated: int) -> dict:
    """Final's clock fields: first token after the request began, decode rate after it."""
    decode_s = (last - first) if first and last else 0.0
    return {"ttft_s": (first - started) if first else None,
            "tokens_per_s": (generated - 1) / decode_s if generated > 1 and decode_s > 0 else 0.0,
            "total_s": time.perf_counter() - started}


def collect(events: Iterator[Event]) -> tuple[str, str, Final]:
    """(thinking, answer, final) from a whole stream: for the CLI, tests and batch uses."""
    thinking, answer, final = [], [], None
    for event in events:
        if isinstance(event, ThinkingDelta):
            thinking.append(event.text)
        elif isinstance(event, TextDelta):
            answer.append(event.text)
        elif isinstance(event, Final):
            final = event
    return "".join(thinking), "".join(answer), final
