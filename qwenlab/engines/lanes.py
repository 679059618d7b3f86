"""A classroom on a CPU: int4 answers batched by ONNX Runtime GenAI's `Engine`.

One learner at a time, `OnnxEngine` (a generator per request) is as fast as int4 gets. Sixteen
learners at once each took a generator of their own, two at a time, and waited half a minute.
`og.Engine` runs many requests of any prompt length through one batched forward pass (one int4
step for four rows costs about 1.5 times a step for one), but for CPU models, whose attention is
not paged, its scheduler is the static one: a batch of at most four, new requests admitted only
when the batch is done (onnxruntime-genai 0.18, `src/engine/scheduler.cpp`). So `LanesEngine`
runs several engines over the one loaded model, each driven by a thread of its own: a *lane*
takes up to LANE_WIDTH waiting answers, runs them to the end together, and takes the next ones.

Every call on an `og.Engine` happens on its lane's thread (the API is not thread-safe); a
request's stream only reads its queue. Stop, a closed tab and the token limit end one answer
without disturbing the others in its batch. Nothing here knows about Gradio.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

from qwenlab import config
from qwenlab.engines import Prompt
from qwenlab.engines.onnx import ENGINE, OnnxEngine
from qwenlab.registry import Sampling

log = logging.getLogger(__name__)
LANE_WIDTH = 4      # the static scheduler's batch (a constant in onnxruntime-genai)
GATHER_S = 0.02     # how long a lane waits for classmates who asked at the same moment
_TOKEN, _FINISHED, _FAILED = 1, 2, 8  # og.EngineEventFlags bits
_END = object()


@dataclass
class _Answer:
    ids: list[int]
    sampling: Sampling
    max_new_tokens: int
    cancel: threading.Event
    out: queue.Queue = field(default_factory=queue.Queue)
    gone: bool = False  # the stream was closed (a learner left mid-answer)

    @property
    def stopped(self) -> bool:
        return self.gone or self.cancel.is_set()


def available() -> bool:
    """Whether the installed onnxruntime-genai has the Engine / Request API (0.18 and later)."""
    import onnxruntime_genai as og

    return hasattr(og, "Engine") and hasattr(og, "RequestOptions")


def lanes_for(answers: int) -> int:
    return max(1, math.ceil(answers / LANE_WIDTH))


class Lanes:
    """`count` lanes over one og.Model, fed from one line of waiting answers.

    A dispatcher forms the batches (the lanes never compete for answers, which would split
    sixteen classmates unevenly and leave some waiting a whole batch): it gathers up to
    LANE_WIDTH answers that arrive together, waits for an idle lane, tops the batch up with
    whoever arrived meanwhile, and hands it over."""

    def __init__(self, model, count: int):
        self.model, self.waiting, self.idle = model, queue.Queue(), queue.Queue()
        self.running = True
        self.widest = 0  # the most answers one forward pass has carried (for tests and stats)
        self.inboxes = [queue.Queue() for _ in range(count)]
        self.threads = [threading.Thread(target=self._lane, args=(i,), name=f"onnx-lane-{i}",
                                         daemon=True) for i in range(count)]
        self.threads.append(threading.Thread(target=self._dispatch, name="onnx-lanes", daemon=True))
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.running = False
        for inbox in self.inboxes:
            inbox.put(None)
        for thread in self.threads:
            thread.join(timeout=30)

    def _dispatch(self) -> None:
        while self.running:
            try:
                batch = [self.waiting.get(timeout=0.2)]
            except queue.Empty:
                continue
            until = time.monotonic() + GATHER_S
            while len(batch) < LANE_WIDTH:
                try:
                    batch.append(self.waiting.get(timeout=max(0.0, until - time.monotonic())))
                except queue.Empty:
                    break
            lane = self.idle.get()
            while len(batch) < LANE_WIDTH and not self.waiting.empty():
                batch.append(self.waiting.get_nowait())
            self.widest = max(self.widest, len(batch))
            self.inboxes[lane].put(batch)

    def _lane(self, index: int) -> None:
        import onnxruntime_genai as og

        engine = og.Engine(self.model)
        events = engine.create_event_buffer(64)
        while self.running:
            self.idle.put(index)
            batch = self.inboxes[index].get()
            if batch is None:
                return
            try:
                _run_batch(og, engine, events, batch)
            except Exception:  # its answers have their error; the lane goes on with a new engine
                log.exception("an int4 lane failed; starting a fresh engine")
                engine = og.Engine(self.model)
                events = engine.create_event_buffer(64)


def _run_batch(og, engine, events, batch: list[_Answer]) -> None:
    """Begin each answer's turn, then step the engine until every one has ended."""
    live: dict[int, tuple] = {}
    for answer in batch:
        if answer.stopped:
            answer.out.put(_END)
            continue
        try:
            request, turn = _begin(og, engine, answer)
        except Exception as exc:  # a request the engine refuses fails alone
            answer.out.put(exc)
            continue
        live[id(request)] = (request, turn, answer)
    try:
        _step_until_done(engine, events, live)
    except Exception as exc:
        for key in list(live):
            _end(live, key, RuntimeError(f"ONNX Runtime GenAI failed: {exc}"))
        raise
    finally:
        for key in list(live):
            _end(live, key, _END)


def _step_until_done(engine, events, live: dict) -> None:
    """Step the engine, handing each event to its answer, until every answer has ended."""
    while live:
        for key, (request, turn, answer) in list(live.items()):
            if answer.stopped:
                request.cancel_turn(turn)
                _end(live, key, _END)
        if not live or not engine.has_pending_requests():
            break
        for event in engine.run(events):
            key = id(event.request)
            if key not in live:
                continue
            flags, answer = int(event.flags.value), live[key][2]
            if flags & _TOKEN:
                answer.out.put(int(event.token))
            if flags & _FAILED:
                _end(live, key, RuntimeError(f"ONNX Runtime GenAI failed: {event.error_code}"))
            elif flags & _FINISHED:
                _end(live, key, _END)


def _begin(og, engine, answer: _Answer):
    import numpy as np

    options = og.RequestOptions()
    options.set_max_session_tokens(len(answer.ids) + answer.max_new_tokens + 1)
    request = engine.create_request(options=options)
    turn = og.TurnOptions(request)
    s = answer.sampling
    turn.set_do_sample(bool(s.do_sample))
    if s.do_sample:
        turn.set_temperature(float(s.temperature))
        turn.set_top_p(float(s.top_p))
        turn.set_top_k(int(s.top_k))
    turn.set_repetition_penalty(float(s.repetition_penalty or 1.0))
    turn.set_max_generated_tokens(int(answer.max_new_tokens))
    return request, request.begin_turn(np.asarray(answer.ids, dtype=np.int32), turn)


def _end(live: dict, key: int, last) -> None:
    request, _, answer = live.pop(key)
    answer.out.put(last)
    try:
        request.close()
    except Exception:  # the answer has ended either way; a failed close is only logged
        log.exception("closing an int4 request failed")


class LanesEngine(OnnxEngine):
    """int4 on a CPU for a classroom: up to `answers` at once, LANE_WIDTH to a forward pass."""

    name = ENGINE

    def __init__(self, answers: int):
        self.answers_at_once = answers
        self.lanes: Lanes | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            lanes, self.lanes = self.lanes, None
        if lanes is not None:
            lanes.stop()

    def _lanes(self, loaded) -> Lanes:
        with self._lock:
            if self.lanes is None:
                self.lanes = Lanes(loaded.model, lanes_for(self.answers_at_once))
            return self.lanes

    def stream(self, loaded, prompt: Prompt, sampling: Sampling, max_new_tokens: int,
               cancel: threading.Event) -> Iterator[int]:
        answer = _Answer(prompt.ids, sampling, max_new_tokens, cancel)
        self._lanes(loaded).waiting.put(answer)
        try:
            while True:
                try:
                    item = answer.out.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is _END:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            answer.gone = True


def answers_at_once() -> int:
    """How many int4 answers a CPU model writes at once: the operator's
    QWENLAB_MAX_ACTIVE_PER_MODEL where set, else eight lanes' worth (32)."""
    return config.max_active_per_model("cpu", batched=True)
