"""Many learners, one model: concurrent requests share forward passes through transformers'
continuous batching (`ContinuousBatchingManager`), each still streaming its own token ids.

`BatchingEngine` is chosen at load for transformers text models where QWENLAB_BATCHING says
so (on a GPU by default). Its driver (engines/driver.py) runs a `_Continuous` batch: the
manager, started when the first request arrives, with requests added to it (insert), its
results handed to each request's stream (step), and Stop cancelling just that request
(remove). If the manager's own thread dies, every request in it gets the error and the next
request starts a fresh manager. The pool closes the engine (stopping the manager) when it
evicts the model.

The paged KV cache is sized here, not left to transformers: by default it takes 80-90% of
the memory that is free when the first request arrives, which is the pool's to share out, and
on a CPU (where that means RAM) it spends seconds zeroing gigabytes and then builds attention
masks as wide as the whole cache on every step. `cache_plan` gives each of the `limit` answers
room for TOKENS_PER_ANSWER tokens; the pool charges `reserve()` against its budget.
Nothing here knows about Gradio.
"""

from __future__ import annotations

import itertools
import logging
import math

from qwenlab import config
from qwenlab.engines import Engine, Request
from qwenlab.engines.driver import Driver, Job
from qwenlab.engines.plain import TransformersEngine
from qwenlab.engines.stream import failed
from qwenlab.errors import N_

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


class _Continuous:
    """The manager for one model as a driver's batch: the requests in it are its jobs."""

    def __init__(self, model, eos: list[int], limit: int):
        from transformers import ContinuousBatchingConfig, GenerationConfig

        # Per-request processors exist only for values that differ from the defaults at
        # creation: then each request carries its own temperature / top-p / top-k (top_k=1 is
        # greedy).
        config = GenerationConfig(do_sample=True, temperature=0.7, top_p=0.8, top_k=20,
                                  max_new_tokens=512, eos_token_id=eos, pad_token_id=eos[0])
        self.manager = model.init_continuous_batching(
            generation_config=config,
            continuous_batching_config=ContinuousBatchingConfig(per_request_processors=True,
                                                                **cache_plan(limit)))
        self.manager.start()
        self.jobs: list[Job] = []
        self.ids: dict[str, Job] = {}

    def insert(self, offered: list[Job]) -> list[Job]:
        for job in offered:
            request: Request = job.request
            sampling = request.sampling
            kwargs = ({"temperature": sampling.temperature, "top_p": sampling.top_p,
                       "top_k": sampling.top_k} if sampling.do_sample else {"top_k": 1})
            request_id = self.manager.add_request(
                request.prompt.ids, request_id=f"qwenlab-{next(_ids)}",
                max_new_tokens=request.max_new_tokens, streaming=True, **kwargs)
            if request_id is None:  # it refuses requests once its thread has stopped
                raise RuntimeError("the continuous batching manager no longer takes requests")
            self.ids[request_id] = job
            self.jobs.append(job)
        return offered

    def step(self) -> None:
        if not self.manager.is_running():
            raise RuntimeError("the continuous batching manager's thread stopped")
        result = self.manager.get_result(timeout=0.1)
        job = self.ids.get(result.request_id) if result is not None else None
        if job is None:
            return
        if result.error:  # this request failed; the others go on
            self._drop(result.request_id)
            job.finish(failed(N_("continuous batching failed: {error}"),
                              error=str(result.error)))
            return
        for token in result.generated_tokens[len(job.written):]:
            job.written.append(token)
            job.emit(token)
        if result.is_finished():
            self._drop(result.request_id)
            job.finish()

    def remove(self, job: Job) -> None:
        for request_id, held in list(self.ids.items()):
            if held is job:
                self.manager.cancel_request(request_id)
                self._drop(request_id)

    def _drop(self, request_id: str) -> None:
        job = self.ids.pop(request_id, None)
        if job in self.jobs:
            self.jobs.remove(job)

    def close(self) -> None:
        self.manager.stop(block=True, timeout=30)


class BatchingEngine(Engine):
    """Continuous batching for one loaded model, `limit` answers at once; longer requests than
    its cache holds go to plain generate (`serving`)."""

    name = ENGINE

    def __init__(self, model, eos: set[int], label: str, limit: int, max_waiting: int):
        self.model, self.limit = model, limit
        self.driver = Driver(label, lambda: _Continuous(model, sorted(eos), limit), limit,
                             max_waiting)
        self.plain = TransformersEngine(model, label, config.max_active_per_model("cpu"),
                                        max_waiting)

    def serving(self, tokens: int) -> Engine:
        """Itself, unless an answer of `tokens` (prompt plus new) could outgrow the whole cache:
        the manager would fail it, so plain generate serves it with a cache of its own. (A page
        of slack covers the words a thinking budget adds in its second pass.)"""
        return self if tokens <= cache_tokens(self.limit) - PAGE_SIZE else self.plain

    def reserve(self) -> int:
        return cache_bytes(self.model, self.limit)

    def stats(self) -> dict:
        mine, plain = self.driver.stats(), self.plain.stats()
        return mine | {"active": mine["active"] + plain["active"],
                       "waiting": mine["waiting"] + plain["waiting"]}

    def close(self) -> None:
        super().close()
        self.plain.close()
        self.model = None
