"""Many learners, one model: concurrent requests share forward passes through transformers'
continuous batching (`ContinuousBatchingManager`), each still streaming its own token ids.

`BatchingEngine.stream()` has TransformersEngine's contract, so generation.py and the demos
do not change. One `Batcher` per loaded model owns the manager and a router thread that hands
each result to its request's queue; Stop cancels just that request; the pool stops the batcher
when it evicts the model. Used for transformers text models where QWENLAB_BATCHING says so
(on a GPU by default: on a CPU the paged-attention path is slower than plain generate).
Nothing here knows about Gradio or the pool's memory.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from typing import Iterator

from qwenlab.registry import Sampling

log = logging.getLogger(__name__)

ENGINE = "transformers-cb"
_ids = itertools.count()


class Batcher:
    """A started manager for one model, and the per-request queues its results go to."""

    def __init__(self, model, eos: list[int]):
        from transformers import ContinuousBatchingConfig, GenerationConfig

        # Per-request processors exist only for values that differ from the defaults at
        # creation: then each request carries its own temperature / top-p / top-k (top_k=1 is
        # greedy).
        config = GenerationConfig(do_sample=True, temperature=0.7, top_p=0.8, top_k=20,
                                  max_new_tokens=512, eos_token_id=eos, pad_token_id=eos[0])
        self.manager = model.init_continuous_batching(
            generation_config=config,
            continuous_batching_config=ContinuousBatchingConfig(per_request_processors=True))
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


def batcher_for(loaded, eos: set[int]) -> Batcher:
    """The model's batcher, started on first use; the pool stops it on eviction."""
    with _create_lock:
        batcher = loaded.extra.get("batcher")
        if batcher is None:
            batcher = loaded.extra["batcher"] = Batcher(loaded.model, sorted(eos))
            loaded.extra.setdefault("on_free", []).append(batcher.stop)
        return batcher


_create_lock = threading.Lock()


class BatchingEngine:
    name = ENGINE

    def __init__(self, eos: set[int]):
        self.eos = eos

    def stream(self, loaded, inputs: dict, sampling: Sampling, max_new_tokens: int,
               cancel: threading.Event) -> Iterator[int]:
        batcher = batcher_for(loaded, self.eos)
        request_id, out = batcher.submit(inputs["input_ids"][0].tolist(), sampling, max_new_tokens)
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
