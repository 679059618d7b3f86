"""Plain transformers: `model.generate()` per answer, streaming token ids. Serves every
checkpoint the pool loads with transformers (quantized and vision ones included) and every
request continuous batching cannot hold.

generate() cannot be stepped from outside, so each admitted answer runs in a worker of the
driver's `Threaded` batch (engines/threaded.py); the driver admits at most `limit` at once
(QWENLAB_MAX_ACTIVE_PER_MODEL: on two cores, more generate() calls at once only share the same
cores), forwards the tokens, and ends an answer that is cancelled at its next token.
"""

from __future__ import annotations

from typing import Any, Callable

from qwenlab.engines import Engine, Request
from qwenlab.engines.driver import Driver, Job
from qwenlab.engines.threaded import Threaded


class TransformersEngine(Engine):
    name = "transformers"

    def __init__(self, model, label: str, limit: int, max_waiting: int):
        self.model = model
        self.driver = Driver(label, lambda: Threaded(label, self._generate, limit), limit,
                             max_waiting)

    def _generate(self, job: Job, put: Callable[[Any], None], stopped: Callable[[], bool]) -> None:
        import torch

        request: Request = job.request
        inputs = request.prompt.inputs
        if hasattr(inputs, "to"):
            inputs = inputs.to(self.model.device)
        with torch.inference_mode():  # cheaper than generate()'s own no_grad
            self.model.generate(**inputs, streamer=_streamer(put),
                                max_new_tokens=request.max_new_tokens,
                                stopping_criteria=_stop_when(stopped),
                                **request.sampling.generate_kwargs())

    def close(self) -> None:
        super().close()
        self.model = None  # the pool frees the weights once nothing else holds them


def _streamer(put: Callable[[Any], None]):
    """A generate() streamer that hands each new token id to `put`."""
    from transformers.generation.streamers import BaseStreamer

    class Streamer(BaseStreamer):
        prompt_seen = False

        def put(self, value):
            if not self.prompt_seen:  # generate() first hands over the prompt
                self.prompt_seen = True
                return
            for token in value.reshape(-1).tolist():
                put(token)

        def end(self):
            pass

    return Streamer()


def _stop_when(stopped: Callable[[], bool]):
    """Stopping criteria that end generation as soon as `stopped()` says so."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Cancel(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), stopped(), dtype=torch.bool)

    return StoppingCriteriaList([Cancel()])
