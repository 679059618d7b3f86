"""Many learners, one model: concurrent requests share forward passes through transformers'
continuous batching (`ContinuousBatchingManager`), each still streaming its own token ids.

`BatchingEngine` is chosen at load for transformers text models where QWENLAB_BATCHING says
so (on a GPU by default). It owns one `Batcher`: the manager, started on the first request, and
a router thread that hands each result to its request's queue. Stop cancels just that request;
the pool closes the engine (stopping the batcher) when it evicts the model.

The paged KV cache is sized here, not left to transformers: by default it takes 80-90% of
the memory that is free when the first request arrives, which is the pool's to share out, and
on a CPU (where that means RAM) it spends seconds zeroing gigabytes and then builds attention
masks as wide as the whole cache on every step. `cache_plan` gives each of the operator's
QWENLAB_MAX_ACTIVE_PER_MODEL answers room for TOKENS_PER_ANSWER tokens; the pool charges
`cache_bytes` against its budget when it loads a model that will batch. Nothing here knows
about Gradio.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import threading
from typing import Iterator

from qwenlab import config
from qwenlab.engines import Engine, Prompt
from qwenlab.engines.plain import TransformersEngine
from qwenlab.registry import Sampling

log = logging.getLogger(__name__)

ENGINE = "transformers-cb"
_ids = itertools.count()

# Cache room per concurrent answer: a lesson turn's prompt and reply. A longer conversation
# borrows free blocks; when none are free the scheduler holds new prompts back until some are.
TOKENS_PER_ANSWER = 2048
PAGE_SIZE = 256
# Prompt tokens one forward pass may take in (long prompts are prefilled in chunks).
MAX_BATCH_TOKENS = 512


def applies(spec, device: str) -> bool:
    """Whether a transformers model of `spec` on `device` is served by continuous batching."""
    return not spec.is_vision and config.batching(device)


def answers_at_once(loaded) -> int:
    """The answers its cache is sized for: the pool's admission limit, set when it loads."""
    return loaded.extra.get("batch_answers") or config.max_active_per_model(loaded.device)


def capacity(loaded) -> int:
    """Tokens the model's batching cache holds, all answers together."""
    return cache_tokens(answers_at_once(loaded))


def cache_tokens(max_active: int) -> int:
    """Tokens cache_plan(max_active) holds: whole pages, all answers together."""
    return cache_plan(max_active)["num_blocks"] * PAGE_SIZE


def cache_plan(max_active: int) -> dict:
    """ContinuousBatchingConfig sizing for `max_active` answers at once."""
    return {"page_size": PAGE_SIZE, "num_blocks": math.ceil(max_active * TOKENS_PER_ANSWER / PAGE_SIZE),
            "max_batch_tokens": MAX_BATCH_TOKENS, "max_requests_per_batch": max_active}


def cache_bytes(model, max_active: int) -> int:
    """Bytes of KV cache that cache_plan(max_active) reserves for this model."""
    text = model.config.get_text_config()
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    kv_heads = getattr(text, "num_key_value_heads", None) or text.num_attention_heads
    per_token = text.num_hidden_layers * 2 * kv_heads * head_dim * model.dtype.itemsize
    return cache_tokens(max_active) * per_token


class Batcher:
    """A started manager for one model, and the per-request queues its results go to."""

    def __init__(self, model, eos: list[int], max_active: int):
        from transformers import ContinuousBatchingConfig, GenerationConfig

        # Per-request processors exist only for values that differ from the defaults at
        # creation: then each request carries its own temperature / top-p / top-k (top_k=1 is
        # greedy).
        config = GenerationConfig(do_sample=True, temperature=0.7, top_p=0.8, top_k=20,
                                  max_new_tokens=512, eos_token_id=eos, pad_token_id=eos[0])
        self.manager = model.init_continuous_batching(
            generation_config=config,
            continuous_batching_config=ContinuousBatchingConfig(per_request_processors=True,
                                                                **cache_plan(max_active)))
        self.manager.start()
        self.queues: dict[str, queue.Queue] = {}
        self.lock = threading.Lock()
        self.running = True
        self.router = threading.Thread(target=self._route, name="cb-router", daemon=True)
        self.router.start()

    def _route(self) -> None:
        while self.running:
            result = self.manager.get_result(timeout=0.1)
            if result is None:
                continue
            with self.lock:
                target = self.queues.get(result.request_id)
            if target is not None:
                target.put(result)

    def submit(self, ids: list[int], sampling: Sampling, max_new_tokens: int) -> tuple[str, queue.Queue]:
        request_id = f"qwenlab-{next(_ids)}"
        out: queue.Queue = queue.Queue()
        with self.lock:
            self.queues[request_id] = out
        kwargs = ({"temperature": sampling.temperature, "top_p": sampling.top_p,
                   "top_k": sampling.top_k} if sampling.do_sample else {"top_k": 1})
        self.manager.add_request(ids, request_id=request_id, max_new_tokens=max_new_tokens,
                                 streaming=True, **kwargs)
        return request_id, out

    def finish(self, request_id: str, done: bool) -> None:
        with self.lock:
            self.queues.pop(request_id, None)
        if not done:
            self.manager.cancel_request(request_id)

    def stop(self) -> None:
        self.running = False
        self.router.join(timeout=5)
        self.manager.stop(block=True, timeout=30)


class BatchingEngine(Engine):
    """Continuous batching for one loaded model; its Batcher starts on the first request."""

    name = ENGINE

    def __init__(self, eos: set[int]):
        self.eos = eos
        self.batcher: Batcher | None = None
        self._lock = threading.Lock()

    def serving(self, loaded, tokens: int) -> Engine:
        """Itself, unless an answer of `tokens` (prompt plus new) could outgrow the whole cache:
        the manager would fail it, so plain generate serves it with a cache of its own. (A page
        of slack covers the words a thinking budget adds in its second pass.)"""
        return self if tokens <= capacity(loaded) - PAGE_SIZE else _PLAIN

    def reserve(self, loaded, answers: int) -> int:
        loaded.extra["batch_answers"] = answers
        return cache_bytes(loaded.model, answers)

    def close(self) -> None:
        with self._lock:
            batcher, self.batcher = self.batcher, None
        if batcher is not None:
            batcher.stop()

    def _batcher(self, loaded) -> Batcher:
        with self._lock:
            if self.batcher is None:
                self.batcher = Batcher(loaded.model, sorted(self.eos), answers_at_once(loaded))
            return self.batcher

    def stream(self, loaded, prompt: Prompt, sampling: Sampling, max_new_tokens: int,
               cancel: threading.Event) -> Iterator[int]:
        batcher = self._batcher(loaded)
        request_id, out = batcher.submit(prompt.ids, sampling, max_new_tokens)
        sent, done = 0, False
        try:
            while not cancel.is_set():
                try:
                    result = out.get(timeout=0.1)
                except queue.Empty:
                    continue
                if result.error:
                    raise RuntimeError(f"continuous batching failed: {result.error}")
                tokens = result.generated_tokens
                yield from tokens[sent:]
                sent = len(tokens)
                if result.is_finished():
                    done = True
                    return
        finally:
            batcher.finish(request_id, done)


_PLAIN = TransformersEngine()
