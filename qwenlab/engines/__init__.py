"""Engines: what runs a loaded model, chosen once when the model loads and held on `Loaded`.

An engine turns a prompt into new tokens. These exist:

| engine               | module        | serves                                                  |
|----------------------|---------------|---------------------------------------------------------|
| transformers         | plain         | any checkpoint, one `generate()` thread per request      |
| transformers-cb      | batching      | text models where QWENLAB_BATCHING is on: shared passes  |
| onnxruntime-genai    | lanes         | int4 text models on a CPU (the fast CPU path), batched for a classroom; onnx.py converts and loads them |
| remote               | remote        | a key the operator sent to vLLM / transformers serve      |

Every engine's `stream()` yields token ids, or, for an engine that only sees text (remote),
`Text` pieces; generation.py turns either into the same events, so adding an engine means
adding a module here and a line in `loading.load`, nothing in the stream. Modelled on
mlx-lm's ModelProvider (the model and how it runs, picked at load) and its stream records.
Nothing here knows of Gradio.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any, Iterator, Union

from qwenlab.registry import Sampling


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


Piece = Union[int, Text, Usage]


@dataclass(frozen=True)
class Prompt:
    """One request's prompt, in the two forms engines take."""

    inputs: Any                   # the tokenizer's or processor's output: input_ids (+ pixels)
    messages: list[dict]          # the chat, for engines that apply the template themselves
    thinking: bool | None = None  # enable_thinking, likewise (None: not a thinking model)

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


class Engine:
    """The interface; subclasses override `stream` and what applies to them."""

    name = "engine"
    answers_at_once: int | None = None  # answers it writes together; None: the operator's limit
    continues = True  # can a second pass go on from the first one's ids (a thinking budget)?

    def stream(self, loaded, prompt: Prompt, sampling: Sampling, max_new_tokens: int,
               cancel: threading.Event) -> Iterator[Piece]:
        raise NotImplementedError

    def serving(self, loaded, tokens: int) -> Engine:
        """The engine that answers a request of `tokens` (prompt plus new tokens): this one,
        unless it cannot hold that many (continuous batching hands those to plain generate)."""
        return self

    def where(self, loaded) -> str:
        """Where the answer is computed, for the stats line: the device, or a server's URL."""
        return loaded.device

    def reserve(self, loaded, answers: int) -> int:
        """Bytes this engine will hold beside the weights to serve `answers` at once."""
        return 0

    def close(self) -> None:
        """Stop whatever the engine runs in the background (the pool calls this on eviction)."""
