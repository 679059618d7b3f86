"""A classroom on a CPU: int4 answers batched through one generator per batch.

One learner alone is a batch of one: a generator of their own, as fast as int4 gets. Sixteen learners at
once each took a generator of their own, two at a time, and waited half a minute. A generator
takes a batch of prompts of any lengths (padded on the right, which is how its attention reads
a batch: greedy answers come out exactly as they do alone) and writes every row with one
forward pass per token; on a 2-core AMD EPYC one step for sixteen rows costs about five times
a step for one (raw: 255 tokens/s in all against 86 for one row). og.Engine (0.18) batches
too, but for CPU models its static scheduler stops at four rows (src/engine/scheduler.cpp),
and four-row batches side by side gave 150 tokens/s at 16 learners against 190 for one
batch of sixteen.

So `LanesEngine` runs a few *lanes* over the one loaded model, each a thread with a generator
of its own: a lane takes up to LANE_WIDTH waiting answers that sample alike, runs them to the
end together, and takes the next ones. A dispatcher forms the batches:
- classmates who ask within GATHER_S share a batch; while a lane is busy a new batch waits
  BUSY_GATHER_S for more, since a wider batch costs little more than a narrow one;
- a batch that has written at most FOLD_STEPS tokens is *folded* into the next one: its
  answers go on, in the wider batch, from their prompts plus what they have written, so a
  learner who asked a moment early does not run beside the class in a lane of one;
- every batch fits the memory the lanes may fill (`reserve`, charged to the pool): the
  generator holds each row's cache at the batch's full length from the start, and the prefill
  computes logits for every prompt position, so long prompts or long answers make narrower
  batches, never an out-of-memory kill.
Stop, a closed tab, an end-of-turn token and each answer's own token limit end one row without
disturbing the others (the row is computed until the batch ends, its tokens dropped). The
generators are driven through the C API (engines/oga.py), which lets go of the GIL during a
forward pass. Nothing here knows about Gradio.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

from qwenlab import config
from qwenlab.engines import Engine, Prompt
from qwenlab.engines.onnx import ENGINE, _search_options
from qwenlab.registry import Sampling

log = logging.getLogger(__name__)
LANE_WIDTH = 16     # the most answers one forward pass carries
ANSWERS_PER_LANE = 8  # lanes for N answers at once: N / 8, so a late arrival rarely waits
GATHER_S = 0.02     # how long an idle machine waits for classmates who asked at the same moment
BUSY_GATHER_S = 0.25  # ... and a busy one, where a new batch would only share the cores
FOLD_STEPS = 32     # a batch this young still folds into a wider one (Lanes._fold)
RESERVE_TOKENS = 1024        # cache set aside per answer at once: prompt and answer this long
PREFILL_TOKENS = 1024        # logits set aside for one prefill: rows times the longest prompt
MAX_RESERVE = 4 * 1024 ** 3  # never more than this for one model's lanes
_END = object()


@dataclass
class _Answer:
    ids: list[int]
    sampling: Sampling
    max_new_tokens: int
    cancel: threading.Event
    eos: frozenset[int]
    out: queue.Queue = field(default_factory=queue.Queue)
    gone: bool = False  # the stream was closed (a learner left mid-answer)

    @property
    def stopped(self) -> bool:
        return self.gone or self.cancel.is_set()


@dataclass(frozen=True)
class Shape:
    """What a batch's memory depends on, from the model's genai_config.json."""

    pad_id: int
    kv_bytes: int  # keys and values of one token in every layer (fp32 on a CPU)
    vocab: int

    @classmethod
    def of(cls, folder) -> Shape:
        import json
        from pathlib import Path

        model = json.loads((Path(folder) / "genai_config.json").read_text())["model"]
        decoder = model["decoder"]
        kv = 2 * decoder["num_hidden_layers"] * decoder["num_key_value_heads"] * decoder["head_size"] * 4
        return cls(int(model["pad_token_id"]), kv, int(model["vocab_size"]))

    def bytes(self, answers: list[_Answer]) -> int:
        """A batch's memory: its cache and its prefill's logits (see `logits`)."""
        return self.cache(answers) + self.logits(answers)

    def cache(self, answers: list[_Answer]) -> int:
        """The generator's cache, which holds every row at the batch's full length throughout."""
        if not answers:
            return 0
        longest = max(len(a.ids) for a in answers) + max(a.max_new_tokens for a in answers)
        return len(answers) * longest * self.kv_bytes

    def logits(self, answers: list[_Answer]) -> int:
        """The prefill's logits: a row of the vocabulary for every prompt position of every row
        (this builder computes them all); gone once the prompts are read."""
        return len(answers) * max((len(a.ids) for a in answers), default=0) * self.vocab * 4


def lanes_for(answers: int) -> int:
    return max(1, math.ceil(answers / ANSWERS_PER_LANE))


class _Batch:
    """The answers one lane writes together, and the dispatcher's way to fold them into a
    wider batch while they are young (see Lanes._fold)."""

    def __init__(self, answers: list[_Answer], cost: int = 0, logits: int = 0):
        self.answers, self.cost, self.logits = answers, cost, logits  # bytes held, and of those
        # the prefill's logits, given back once the prompts are read
        self.steps = 0                 # tokens written so far (the lane's own counter)
        self.fold = False              # set under Lanes.lock: hand the live answers back
        self.ended = False             # set under Lanes.lock: the lane is done with them
        self.answered = False          # the lane has replied to the fold
        self.handed: queue.Queue = queue.Queue()  # the lane's reply to a fold: a list


class Lanes:
    """`count` lanes over one og.Model, fed from one line of waiting answers.

    The dispatcher forms the batches (lanes never compete for answers, which would split
    sixteen classmates unevenly): it gathers answers that sample alike and arrive together,
    folds in the answers of a batch that started moments ago (so classmates a fraction of a
    second apart still share one forward pass), waits for an idle lane, tops the batch up with
    whoever arrived meanwhile, and hands it over. An answer that samples differently waits
    for the next batch."""

    def __init__(self, model, count: int, shape: Shape, budget: int):
        self.model, self.shape, self.budget = model, shape, budget
        self.waiting, self.idle = queue.Queue(), queue.Queue()
        self.lock = threading.Lock()
        self.memory = threading.Condition()
        self.in_use = 0  # bytes the running batches hold, at most `budget` (but one batch goes)
        self.running = True
        self.widest = 0  # the most answers one forward pass has carried (for tests and stats)
        self.folds = 0   # young batches folded into wider ones (likewise)
        self.held: list[_Answer] = []  # taken from the line but unlike the batch being formed
        self.current: list[_Batch | None] = [None] * count
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

    def _next(self, timeout: float) -> _Answer:
        """The longest-waiting answer: one held back from an earlier batch, else the line's."""
        if self.held:
            return self.held.pop(0)
        return self.waiting.get(timeout=timeout)

    def _gather(self, batch: list[_Answer], until: float | None) -> None:
        """Add answers that fit (sample like batch[0], within LANE_WIDTH and the memory; others
        are held for the next batch), held ones first, then waiting until `until` for more to
        arrive, or only taking those already here when it is None."""
        pending, self.held = self.held, []
        while len(batch) < LANE_WIDTH:
            try:
                left = 0.0 if until is None else max(0.0, until - time.monotonic())
                answer = pending.pop(0) if pending else (
                    self.waiting.get(timeout=left) if left else self.waiting.get_nowait())
            except queue.Empty:
                break
            (batch if self._fits(batch, [answer]) else self.held).append(answer)
        self.held += pending

    def _fits(self, batch: list[_Answer], more: list[_Answer]) -> bool:
        return (all(a.sampling == batch[0].sampling for a in more)
                and len(batch) + len(more) <= LANE_WIDTH
                and self.shape.bytes(batch + more) <= self.budget)

    def _fold(self, batch: list[_Answer]) -> list[_Answer]:
        """`batch` with the live answers of running batches that sample alike, have written
        at most FOLD_STEPS tokens and fit, put first (they asked first). Each goes on from its
        prompt plus what it has written: prefilling a few dozen tokens again costs far less
        than two batches taking turns on the cores for a whole answer."""
        folded: list[_Answer] = []
        for running in list(self.current):
            with self.lock:
                if (running is None or running.ended or running.fold
                        or running.steps > FOLD_STEPS
                        or not self._fits(batch, folded + [_going_on(a, [0] * running.steps, copy=True)
                                                           for a in running.answers])):
                    continue
                running.fold = True
            handed = running.handed.get()
            folded += handed
            self.folds += bool(handed)
        return folded + batch

    def _dispatch(self) -> None:
        while self.running:
            try:
                batch = [self._next(timeout=0.2)]
            except queue.Empty:
                continue
            busy = self.idle.qsize() < len(self.inboxes)  # a lane is writing answers
            self._gather(batch, time.monotonic() + (BUSY_GATHER_S if busy else GATHER_S))
            batch = self._fold(batch)
            lane = self.idle.get()
            self._gather(batch, None)
            cost = self.shape.bytes(batch)
            with self.memory:  # a batch waits for the memory the running ones hold
                self.memory.wait_for(lambda: not self.in_use or self.in_use + cost <= self.budget)
                self.in_use += cost
            self.widest = max(self.widest, len(batch))
            log.debug("lane %d takes a batch of %d (%.0f MB)", lane, len(batch), cost / 1e6)
            self.inboxes[lane].put(_Batch(batch, cost, self.shape.logits(batch)))

    def _release(self, nbytes: int) -> None:
        with self.memory:
            self.in_use -= nbytes
            self.memory.notify_all()

    def _lane(self, index: int) -> None:
        while self.running:
            self.idle.put(index)
            batch = self.inboxes[index].get()
            if batch is None:
                return
            self.current[index] = batch
            try:
                _run_batch(self.model, self.shape.pad_id, batch, self.lock, self._release)
            except Exception:  # its answers have their error; the lane goes on
                log.exception("an int4 lane failed")
            finally:
                self._release(batch.cost)
                with self.lock:
                    batch.ended = True
                    if batch.fold and not batch.answered:  # asked as the batch ended: none to hand
                        batch.handed.put([])
                        batch.answered = True
                self.current[index] = None


def _run_batch(model, pad_id: int, batch: _Batch, lock: threading.Lock,
               release: Callable[[int], None]) -> None:
    """Prefill every answer's prompt in one padded batch (then `release` the prefill's memory),
    and step until each answer has ended, or until the dispatcher folds the batch into a wider
    one."""
    from qwenlab.engines import oga

    for answer in batch.answers:
        if answer.stopped:
            answer.out.put(_END)
    answers = [answer for answer in batch.answers if not answer.stopped]
    if not answers:
        return
    live = dict(enumerate(answers))
    written: list[list[int]] = [[] for _ in answers]
    longest = max(len(a.ids) for a in answers) + max(a.max_new_tokens for a in answers)
    generator = None
    try:
        generator = oga.Generator(model, _search_options(answers[0].sampling, longest),
                                  [a.ids for a in answers], pad_id)
        release(batch.logits)  # the prompts are read: their logits are freed
        batch.cost -= batch.logits
        while live and not generator.done():
            for row in [row for row, a in live.items() if a.stopped]:
                live.pop(row).out.put(_END)
            with lock:
                if batch.fold and not batch.ended:
                    batch.ended = True
                    batch.handed.put([_going_on(live[row], written[row]) for row in live])
                    batch.answered = True
                    live.clear()
            if not live:
                break
            tokens = generator.step()
            batch.steps += 1
            for row, token in enumerate(tokens):
                answer = live.get(row)
                if answer is None:
                    continue
                answer.out.put(token)
                written[row].append(token)
                if token in answer.eos or len(written[row]) >= answer.max_new_tokens:
                    live.pop(row).out.put(_END)
    except Exception as exc:
        for answer in live.values():
            answer.out.put(RuntimeError(f"ONNX Runtime GenAI failed: {exc}"))
        live.clear()
        raise
    finally:
        for answer in live.values():
            answer.out.put(_END)
        if generator is not None:
            generator.close()


def _going_on(answer: _Answer, written: list[int], copy: bool = False) -> _Answer:
    """The answer, to be continued in another batch from its prompt and what it has written
    (with `copy`, a stand-in of that size, to see whether it would fit)."""
    if copy:
        return replace(answer, ids=answer.ids + written,
                       max_new_tokens=answer.max_new_tokens - len(written))
    answer.ids = answer.ids + written
    answer.max_new_tokens -= len(written)
    return answer


class LanesEngine(Engine):
    """int4 on a CPU for a classroom: up to `answers` at once, LANE_WIDTH to a forward pass."""

    name = ENGINE

    def __init__(self, answers: int, eos: set[int]):
        self.answers_at_once, self.eos = answers, frozenset(eos)
        self.lanes: Lanes | None = None
        self.shape: Shape | None = None  # read from the model's folder when first needed
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            lanes, self.lanes = self.lanes, None
        if lanes is not None:
            lanes.stop()

    def _lanes(self, loaded) -> Lanes:
        with self._lock:
            if self.lanes is None:
                self.lanes = Lanes(loaded.model, lanes_for(self.answers_at_once),
                                   self._shape(loaded), self.reserve(loaded, self.answers_at_once))
            return self.lanes

    def reserve(self, loaded, answers: int) -> int:
        """The memory the lanes may fill (charged to the pool beside the weights): RESERVE_TOKENS
        for each answer at once, at most MAX_RESERVE. Batches are formed within it, so a class
        asking for long answers is written a few at a time rather than running out of memory."""
        shape = self._shape(loaded)
        return min(answers * RESERVE_TOKENS * shape.kv_bytes + PREFILL_TOKENS * shape.vocab * 4,
                   MAX_RESERVE)

    def _shape(self, loaded) -> Shape:
        if self.shape is None:
            from qwenlab.engines.onnx import folder_for

            self.shape = Shape.of(folder_for(loaded.spec, loaded.source))
        return self.shape

    def stream(self, loaded, prompt: Prompt, sampling: Sampling, max_new_tokens: int,
               cancel: threading.Event) -> Iterator[int]:
        answer = _Answer(prompt.ids, sampling, max_new_tokens, cancel, self.eos)
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
    QWENLAB_MAX_ACTIVE_PER_MODEL where set, else 32 (two full batches)."""
    return config.max_active_per_model("cpu", batched=True)
