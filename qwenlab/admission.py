"""Who may ask now, when a classroom shares one machine: each learner's rate, and the line for
long jobs that take a whole machine (fine-tuning).

How many answers a model writes at once, and the line for the rest, belong to its engine
(engines/driver.py): they are counted per loaded model and precision, where the work happens.
What stays here is what belongs to a learner or to the machine as a whole:
- `Rate`: how many requests one learner (a browser session) may make per minute, from
  QWENLAB_REQUESTS_PER_MINUTE; a learner who has not asked for a minute is forgotten.
- `JobLine`: jobs that run one (or `limit`) at a time in a worker of their own, each a
  function that reports progress, with the same places in line, Stop and failure handling as
  an engine's answers.
A request past a limit is refused at once with a message saying which limit and what to do.
Nothing here knows about models, Gradio or the pool's memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

from qwenlab import config
from qwenlab.engines.driver import Driver, Job
from qwenlab.engines.stream import Stream
from qwenlab.engines.threaded import Threaded
from qwenlab.errors import N_, Refused

WINDOW_S = 60.0


class Rate:
    """At most `per_minute` requests per learner in any minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.per_minute, self.clock = per_minute, clock
        self._recent: dict[str, deque] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls) -> Rate:
        return cls(config.requests_per_minute())

    def check(self, learner: str | None) -> None:
        """Count one request of `learner`, or raise Refused past the rate. None (a lesson's
        Run button, the command line) is not counted."""
        if learner is None:
            return
        with self._lock:
            now = self.clock()
            self._forget(now)
            recent = self._recent.setdefault(learner, deque())
            if len(recent) >= self.per_minute:
                wait = WINDOW_S - (now - recent[0])
                raise Refused(N_("You have asked {count} times in the last minute, the most this "
                                 "classroom allows. Try again in {seconds} s."),
                              count=len(recent), seconds=f"{wait:.0f}")
            recent.append(now)

    def _forget(self, now: float) -> None:
        """Under the lock: drop requests older than the window, and learners with none left."""
        for learner in list(self._recent):
            recent = self._recent[learner]
            while recent and now - recent[0] >= WINDOW_S:
                recent.popleft()
            if not recent:
                del self._recent[learner]

    def learners(self) -> int:
        """Learners who asked within the last minute."""
        with self._lock:
            self._forget(self.clock())
            return len(self._recent)


Work = Callable[[Callable[[Any], None], Callable[[], bool]], None]


class JobLine:
    """Long jobs, `limit` at a time: `submit(work)` returns a Stream of what `work(put, stopped)`
    puts, after `Waiting` places while it is in line; `stopped()` turns true on Stop."""

    def __init__(self, name: str, limit: int, max_waiting: int):
        self.driver = Driver(name, lambda: Threaded(name, _run, limit), limit, max_waiting)

    @classmethod
    def from_config(cls, name: str) -> JobLine:
        return cls(name, 1, config.max_waiting())

    def submit(self, work: Work) -> Stream:
        return self.driver.submit(work)

    def stats(self) -> dict:
        return self.driver.stats()

    def close(self) -> None:
        self.driver.close()


def _run(job: Job, put: Callable[[Any], None], stopped: Callable[[], bool]) -> None:
    job.request(put, stopped)
