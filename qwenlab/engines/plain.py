"""Plain transformers: one `model.generate()` thread per request, streaming token ids through a
queue. Serves every checkpoint the pool loads with transformers, quantized ones included, and
every request continuous batching cannot hold."""

from __future__ import annotations

import queue
import threading
from typing import Iterator

from qwenlab.engines import Engine, Prompt
from qwenlab.registry import Sampling


class TransformersEngine(Engine):
    name = "transformers"

    def stream(self, loaded, prompt: Prompt, sampling: Sampling, max_new_tokens: int,
               cancel: threading.Event) -> Iterator[int]:
        ids: queue.Queue = queue.Queue()
        done = object()
        finished = threading.Event()  # set when the consumer walks away; `cancel` is the caller's
        inputs = prompt.inputs
        if hasattr(inputs, "to"):
            inputs = inputs.to(loaded.model.device)

        def run():
            import torch

            try:
                with torch.inference_mode():  # cheaper than generate()'s own no_grad
                    loaded.model.generate(
                        **inputs, streamer=_streamer(ids, done), max_new_tokens=max_new_tokens,
                        stopping_criteria=_stop_when(cancel, finished),
                        **sampling.generate_kwargs())
            except BaseException as exc:  # handed to the consumer, which re-raises it
                ids.put(exc)
                ids.put(done)

        thread = threading.Thread(target=run, name=f"generate-{loaded.spec.key}", daemon=True)
        thread.start()
        try:
            while (item := ids.get()) is not done:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            finished.set()  # a consumer that stops early (Stop, closed tab) ends the thread
            thread.join(timeout=30)


def _streamer(ids: queue.Queue, done: object):
    """A generate() streamer that puts each new token id on `ids`, then `done`."""
    from transformers.generation.streamers import BaseStreamer

    class Streamer(BaseStreamer):
        prompt_seen = False

        def put(self, value):
            if not self.prompt_seen:  # generate() first hands over the prompt
                self.prompt_seen = True
                return
            for token in value.reshape(-1).tolist():
                ids.put(token)

        def end(self):
            ids.put(done)

    return Streamer()


def _stop_when(*events: threading.Event):
    """Stopping criteria that end generation as soon as any of `events` is set."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Cancel(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            stop = any(event.is_set() for event in events)
            return torch.full((input_ids.shape[0],), stop, dtype=torch.bool)

    return StoppingCriteriaList([Cancel()])
