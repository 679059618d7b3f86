"""Engines: what runs a loaded model. Each is chosen once, when its model loads, and built with
what it needs (the model, the ids that end a turn, its limits); it owns its concurrency.

| engine               | module   | serves                                                        |
|----------------------|----------|---------------------------------------------------------------|
| transformers         | plain    | any checkpoint: `generate()` per answer, `limit` at once       |
| transformers-cb      | batching | text models where QWENLAB_BATCHING is on: shared forward passes |
| onnxruntime-genai    | lanes    | int4 text models on a CPU (the fast CPU path), batched for a class; onnx.py converts them |
| remote               | remote   | a key the operator sent to vLLM / `transformers serve` / Ollama |

`engine.submit(request)` returns a `Stream` (engines/stream.py): the consumer reads, with
`async for`, `Waiting` while the request is in the engine's line, then token ids, or `Text`
pieces and a closing `Usage` from an engine that only sees text (remote). generation.py turns
either into the same events. Behind `submit`, one driver thread per engine (engines/driver.py)
keeps the line, the limit and the places in it, runs the engine's batch, and puts any failure
into the affected requests' own streams. Adding an engine means a module here and a line in
loading.py, nothing in the stream. Modelled on mlx-lm (the model and how it runs, picked at
load; one thread drives a BatchGenerator). Nothing here knows of Gradio or of the pool.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Union

from qwenlab.engines.driver import Driver
from qwenlab.engines.stream import Stream, Waiting
from qwenlab.registry import Sampling

__all__ = ["Engine", "Piece", "Prompt", "Request", "Stream", "Text", "ToolCall", "Usage",
           "Waiting"]


@dataclass(frozen=True)
class Text:
    """A piece of an answer that arrived as text: from an engine that does not give ids."""

    text: str
    reasoning: bool = False  # the server split it off as reasoning (vLLM's reasoning parser)


@dataclass(frozen=True)
class Usage:
    """What a server reported at the end of its stream (OpenAI's `usage` and `finish_reason`):
    the exact count of tokens it wrote, where a text-only engine's own count is an estimate."""

    new_tokens: int | None = None
    finish_reason: str | None = None


@dataclass(frozen=True)
class ToolCall:
    """A piece of a tool call a server parsed from the model's output (vLLM's
    `--tool-call-parser`): OpenAI's `delta.tool_calls[i]`. The first piece of a call carries
    its id and name; `arguments` arrives as JSON fragments to be joined per `index`."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


Piece = Union[int, Text, ToolCall, Usage, Waiting]


@dataclass(frozen=True)
class Prompt:
    """One request's prompt, in the two forms engines take."""

    inputs: Any                   # the tokenizer's or processor's output: input_ids (+ pixels)
    messages: list[dict]          # the chat, for engines that apply the template themselves
    thinking: bool | None = None  # enable_thinking, likewise (None: not a thinking model)
    tools: list[dict] | None = None  # function schemas the template was given, likewise

    @property
    def ids(self) -> list[int]:
        return self.inputs["input_ids"][0].tolist()

    @property
    def length(self) -> int:
        return int(self.inputs["input_ids"].shape[1])

    def extended(self, ids: list[int]) -> Prompt:
        """The prompt with `ids` appended (a thinking budget's second pass)."""
        import torch

        old = self.inputs["input_ids"]
        longer = torch.cat([old, torch.tensor([ids], dtype=old.dtype, device=old.device)], 1)
        return replace(self, inputs={"input_ids": longer, "attention_mask": torch.ones_like(longer)})

    @classmethod
    def of_ids(cls, ids: list[int]) -> Prompt:
        """A prompt of raw token ids (tests and benchmarks that skip the chat template)."""
        import torch

        tensor = torch.tensor([ids])
        return cls({"input_ids": tensor, "attention_mask": torch.ones_like(tensor)}, [])


@dataclass(frozen=True)
class Request:
    """What one answer needs from an engine."""

    prompt: Prompt
    sampling: Sampling
    max_new_tokens: int


class Engine:
    """The interface. Subclasses build `self.driver` (a Driver over their own batch) and set
    what applies to them; `submit`, `stats` and `close` are the driver's."""

    name = "engine"
    continues = True  # can a second pass go on from the first one's ids (a thinking budget)?
    driver: Driver

    def submit(self, request: Request) -> Stream:
        """Queue one answer; its stream tells its place in line, then carries its pieces."""
        return self.driver.submit(request)

    def serving(self, tokens: int) -> Engine:
        """The engine that answers a request of `tokens` (prompt plus new tokens): this one,
        unless it cannot hold that many (continuous batching hands those to plain generate)."""
        return self

    @property
    def at_once(self) -> int:
        """Answers it writes together; the rest wait in its line."""
        return self.driver.limit

    def where(self, device: str) -> str:
        """Where the answer is computed, for the stats line: the device, or a server's URL."""
        return device

    def reserve(self) -> int:
        """Bytes this engine holds, or may fill, beside the weights (caches for its batches)."""
        return 0

    def stats(self) -> dict:
        return self.driver.stats()

    def close(self) -> None:
        """Stop the driver (every request still here hears it) and let the model go; returns
        once the driver thread has finished its step, so the pool can free the memory."""
        self.driver.close()
        self.driver.join(timeout=30)
