"""One thread per engine that runs its answers: the line, the limit, the batch, and what happens
when something fails.

An engine that computes answers itself (transformers, continuous batching, int4 ONNX) hands
its work to a `Driver`: requests wait in the driver's line (`Waiting` pieces tell them their
place), at most `limit` of them are in the engine's `Batch` at once, and one thread admits,
steps and cancels, as mlx-lm's server drives its `BatchGenerator`. The batch is synchronous and
engine-specific (insert / step / remove); the driver is the same for all of them. When a
batch fails, each of its requests gets the error in its own stream, the batch is thrown away
and the next request gets a fresh one; when the driver thread itself stops answering, its
consumers give up after `stall_s` (engines/stream.py) and the next request starts a new thread.
Nothing here knows about models, the pool or Gradio: tests drive it with a scripted batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from qwenlab.engines.stream import STALL_S, Stream, Waiting, failed
from qwenlab.errors import N_, Refused

log = logging.getLogger(__name__)
IDLE_WAKE_S = 1.0      # an idle driver still shows it is alive this often
GATHER_POLL_S = 0.005  # a batch that takes no one yet (gathering classmates) is asked again after


@dataclass(eq=False)
class Job:
    """One request inside an engine: what was asked, the stream it answers into, and the
    engine's own notes on it (a batch row, the tokens written so far)."""

    request: Any
    stream: Stream
    arrived: float = field(default_factory=time.monotonic)
    written: list[int] = field(default_factory=list)
    place: int = 0  # last place in line told to the consumer

    @property
    def cancelled(self) -> bool:
        return self.stream.cancelled.is_set()

    def emit(self, piece: Any) -> None:
        self.stream.put(piece)

    def finish(self, error: BaseException | None = None) -> None:
        self.stream.end(error)


class Batch(Protocol):
    """What a driver runs: the requests an engine is writing together, stepped by one thread."""

    jobs: list[Job]  # being written now; a job leaves this list when its answer ends

    def insert(self, offered: list[Job]) -> list[Job]:
        """Take some of `offered` (oldest first) into the batch and return those taken. An
        empty batch takes at least one; a busy one may take none yet (it gathers, or waits for
        memory)."""

    def step(self) -> None:
        """Write one more piece for every job (emitting it), and finish the jobs that ended."""

    def remove(self, job: Job) -> None:
        """Drop a cancelled job (the driver finishes its stream)."""

    def close(self) -> None:
        """Free what the batch holds (caches, generators)."""


class Driver:
    """The line and the thread for one engine. `make_batch()` builds a fresh Batch, at start
    and after a failure."""

    def __init__(self, name: str, make_batch: Callable[[], Batch], limit: int,
                 max_waiting: int, stall_s: float = STALL_S):
        self.name, self.make_batch, self.limit = name, make_batch, limit
        self.max_waiting, self.stall_s = max_waiting, stall_s
        self.beat = time.monotonic()  # when the thread last went round its loop
        self.active = 0               # jobs in the batch, for stats and the UI's pace
        self.failures = 0             # batches that failed (tests and stats)
        self.batch: Batch | None = None  # the batch the thread runs now (for tests and stats)
        self._waiting: deque[Job] = deque()
        self._cond = threading.Condition()
        self._running = True
        self._generation = 0
        self._thread: threading.Thread | None = None

    # -- any thread ----------------------------------------------------------------------------
    def submit(self, request: Any) -> Stream:
        """Queue `request`; its stream tells its place, then carries its answer."""
        stream = Stream(alive=lambda: self.beat, stall_s=self.stall_s, on_cancel=self._poke)
        job = Job(request, stream)
        with self._cond:
            if not self._running:
                raise Refused(N_("{model} has been unloaded; ask again to load it"),
                              model=self.name)
            if len(self._waiting) >= self.max_waiting:
                raise Refused(N_("{count} requests are already waiting for {model}, the most "
                                 "this machine queues. Try again in a minute."),
                              count=len(self._waiting), model=self.name)
            self._waiting.append(job)
            self._ensure_thread()
            self._cond.notify_all()
        return stream

    def stats(self) -> dict:
        with self._cond:
            return {"active": self.active, "waiting": len(self._waiting), "limit": self.limit}

    def close(self) -> None:
        """Stop the thread; every request still here gets an error. Returns at once: the thread
        ends after its current step."""
        with self._cond:
            self._running = False
            self._generation += 1
            waiting, self._waiting = list(self._waiting), deque()
            self._cond.notify_all()
        for job in waiting:
            job.finish(failed(N_("{model} was unloaded before it could answer; ask again"),
                              model=self.name))

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _poke(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _ensure_thread(self) -> None:
        """Under the lock: a thread that runs, starting a new one if the last one died or has
        been stuck longer than a consumer waits (its requests have already given up)."""
        alive = self._thread is not None and self._thread.is_alive()
        if alive and time.monotonic() - self.beat < self.stall_s:
            return
        if alive:
            log.error("%s: driver stuck for %.0f s; starting another", self.name,
                      time.monotonic() - self.beat)
        self._generation += 1
        self.beat = time.monotonic()
        self._thread = threading.Thread(target=self._run, args=(self._generation,),
                                        name=f"driver-{self.name}", daemon=True)
        self._thread.start()

    # -- the driver thread -------------------------------------------------------------------
    def _current(self, generation: int) -> bool:
        return self._running and generation == self._generation

    def _run(self, generation: int) -> None:
        batch: Batch | None = None
        while self._current(generation):
            self.beat = time.monotonic()
            try:
                batch = self._turn(batch, generation)
            except Exception as exc:  # a batch failed: its requests hear it, the next get a new one
                self.failures += 1
                log.exception("%s: a batch failed", self.name)
                batch = self._fail(batch, exc)
            if generation == self._generation:
                self.batch = batch
        self._fail(batch, None)  # unloaded, or replaced after a stall

    def _turn(self, batch: Batch | None, generation: int) -> Batch | None:
        """One round: admit from the line, drop the cancelled, step once."""
        with self._cond:
            self._drop_cancelled_waiting()
            busy = batch is not None and batch.jobs
            if not self._waiting and not busy:
                self.active = 0
                self._cond.wait(IDLE_WAKE_S)
                return batch
            room = self.limit - (len(batch.jobs) if batch is not None else 0)
            offered = list(self._waiting)[:max(0, room)]
        taken = []
        if offered:
            batch = batch if batch is not None else self.make_batch()
            taken = self._insert(batch, offered)
        with self._cond:  # whoever is still in line learns where
            self._tell_places(self.limit - len(batch.jobs) if batch is not None else self.limit)
        for job in [job for job in batch.jobs if job.cancelled]:
            batch.remove(job)
            job.finish()
        self.active = len(batch.jobs)
        if batch.jobs and self._current(generation):
            batch.step()
            self.active = len(batch.jobs)
        elif not taken:
            with self._cond:  # the batch is gathering classmates: look again shortly
                self._cond.wait(GATHER_POLL_S)
        return batch

    def _insert(self, batch: Batch, offered: list[Job]) -> list[Job]:
        """The jobs `batch` takes from the line; if taking them fails, they fail with it."""
        try:
            taken = batch.insert(offered)
        except Exception as exc:
            with self._cond:
                for job in offered:
                    if job in self._waiting:
                        self._waiting.remove(job)
            for job in offered:
                job.finish(failed(N_("{model} could not start this answer ({error})"), exc,
                                  model=self.name, error=str(exc)))
            raise
        with self._cond:
            for job in taken:
                self._waiting.remove(job)
        return taken

    def _drop_cancelled_waiting(self) -> None:
        gone = [job for job in self._waiting if job.cancelled]
        for job in gone:
            self._waiting.remove(job)
            job.finish()

    def _tell_places(self, room: int) -> None:
        """Each waiting job's place, counted after the `room` the batch has left (those first
        few are taken at the next turn, or as soon as the batch's memory allows): 1 is next."""
        for position, job in enumerate(self._waiting, 1):
            place = position - max(0, room)
            if place > 0 and job.place != place:
                job.place = place
                job.emit(Waiting(place, self.limit))

    def _fail(self, batch: Batch | None, exc: BaseException | None) -> None:
        """Every request in `batch` ends with the error; the batch is closed. Returns None: the
        next round builds a fresh batch."""
        if batch is None:
            return None
        error = failed(N_("{model} failed while answering ({error}). Ask again: the next "
                          "answer starts afresh."), exc, model=self.name, error=str(exc)) \
            if exc is not None else \
            failed(N_("{model} was unloaded while answering; ask again"), model=self.name)
        for job in list(batch.jobs):
            job.finish(error)
        try:
            batch.close()
        except Exception:
            log.exception("%s: closing a failed batch failed too", self.name)
        self.active = 0
        return None
