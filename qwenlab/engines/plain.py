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
        sampling = request.sampling
        extra = ({"logits_processor": _presence(sampling.presence_penalty)}
                 if sampling.do_sample and sampling.presence_penalty else {})
        with torch.inference_mode():  # cheaper than generate()'s own no_grad
            self.model.generate(**inputs, streamer=_streamer(put),
                                max_new_tokens=request.max_new_tokens,
                                stopping_criteria=_stop_when(stopped),
                                **sampling.generate_kwargs(), **extra)

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


def _presence(penalty: float):
    """OpenAI's presence penalty, which Qwen3.5's cards recommend and generate() lacks: every
    token already written this answer loses `penalty` from its logit, once, however often it
    appeared (repetition_penalty, which generate() has, divides instead, and counts the prompt)."""
    import torch
    from transformers import LogitsProcessor, LogitsProcessorList

    class Presence(LogitsProcessor):
        def __init__(self):
            self.prompt = None

        def __call__(self, input_ids, scores):
            if self.prompt is None:
                self.prompt = input_ids.shape[1]
            written = input_ids[:, self.prompt:]
            if written.shape[1]:
                seen = torch.zeros_like(scores, dtype=torch.bool)
                seen.scatter_(1, written, True)
                scores = scores - penalty * seen.to(scores.dtype)
            return scores

    return LogitsProcessorList([Presence()])


def _stop_when(stopped: Callable[[], bool]):
    """Stopping criteria that end generation as soon as `stopped()` says so."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Cancel(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), stopped(), dtype=torch.bool)

    return StoppingCriteriaList([Cancel()])
