"""A batch for work that cannot be stepped: each answer runs in a worker thread of its own and
the driver forwards what the workers write.

`model.generate()` runs an answer from start to end, and an HTTP stream blocks between chunks;
neither can be advanced one token at a time from outside. `Threaded` gives each admitted job
a worker that runs `work(job, put, stopped)` and puts pieces into one shared queue; `step()`
forwards the next pieces to their streams and finishes the jobs whose workers ended, so the
driver still goes round its loop (and shows it is alive) at every token, and still decides
who is admitted. A worker that raises fails only its own answer (a QwenLabError reaches the
learner as it is; anything else as "failed while answering"). The worker checks `stopped()`
(the job was cancelled or the batch closed) between tokens.
Nothing here knows about models or Gradio.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable

from qwenlab.engines.driver import Job
from qwenlab.engines.stream import failed
from qwenlab.errors import N_, QwenLabError

Work = Callable[[Job, Callable[[Any], None], Callable[[], bool]], None]
POLL_S = 0.05
_DONE = object()


class Threaded:
    """Up to `width` jobs at once, each in a worker thread running `work`."""

    def __init__(self, name: str, work: Work, width: int):
        self.name, self.work, self.width = name, work, width
        self.jobs: list[Job] = []
        self.out: queue.Queue = queue.Queue()  # (job, piece, _DONE or an exception)
        self.closed = threading.Event()
        self.workers: dict[Job, threading.Thread] = {}  # the jobs' workers while they are jobs
        self.threads: list[threading.Thread] = []       # every worker started, until it ends

    def insert(self, offered: list[Job]) -> list[Job]:
        taken = offered[:max(0, self.width - len(self.jobs))]
        for job in taken:
            self.jobs.append(job)
            worker = threading.Thread(target=self._run, args=(job,), daemon=True,
                                      name=f"{self.name}-worker")
            self.workers[job] = worker
            self.threads = [t for t in self.threads if t.is_alive()] + [worker]
            worker.start()
        return taken

    def _run(self, job: Job) -> None:
        def stopped() -> bool:
            return job.cancelled or self.closed.is_set()

        try:
            self.work(job, lambda piece: self.out.put((job, piece)), stopped)
            self.out.put((job, _DONE))
        except BaseException as exc:  # this answer fails; the others go on
            self.out.put((job, exc))

    def step(self) -> None:
        """Forward what the workers wrote (waiting briefly for the next piece)."""
        try:
            item = self.out.get(timeout=POLL_S)
        except queue.Empty:
            return
        while True:
            self._forward(*item)
            try:
                item = self.out.get_nowait()
            except queue.Empty:
                return

    def _forward(self, job: Job, piece: Any) -> None:
        if job not in self.workers:
            return  # removed (cancelled) already
        if piece is _DONE or isinstance(piece, BaseException):
            self._drop(job)
            job.finish(None if piece is _DONE else piece if isinstance(piece, QwenLabError) else
                       failed(N_("{model} failed while answering ({error})"), piece,
                              model=self.name, error=str(piece)))
            return
        if isinstance(piece, int):
            job.written.append(piece)
        job.emit(piece)

    def remove(self, job: Job) -> None:
        self._drop(job)  # its worker sees stopped() and ends; whatever it still writes is dropped

    def _drop(self, job: Job) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
        self.workers.pop(job, None)

    def close(self) -> None:
        """Stop every worker, those of cancelled jobs still finishing a token included: until
        they end they hold the model, which the pool is about to free."""
        self.closed.set()
        threads, self.workers, self.jobs = self.threads, {}, []
        for worker in threads:
            worker.join(timeout=30)
