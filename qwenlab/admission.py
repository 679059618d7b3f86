"""Who may generate now, when a classroom shares one machine.

Three limits, set by the operator in config.py: how many answers one model writes at once,
how many requests may wait in line in all, and how many requests one learner may make per
minute. A request past a limit is refused at once with a message saying which limit and what
to do; one within the limits waits in line for its model and learns its place as it moves.
Nothing here knows about models, Gradio or the pool's memory: only counts and order.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Callable, Iterator

from qwenlab import config
from qwenlab.errors import Refused

WINDOW_S = 60.0


class Admission:
    def __init__(self, per_model: int, max_waiting: int, per_minute: int,
                 clock: Callable[[], float] = time.monotonic):
        self.per_model, self.max_waiting, self.per_minute = per_model, max_waiting, per_minute
        self.clock = clock
        self._cond = threading.Condition()
        self._active: dict[str, int] = defaultdict(int)
        self._lines: dict[str, deque] = defaultdict(deque)
        self._recent: dict[str, deque] = defaultdict(deque)
        self._limits: dict[str, int] = {}  # a loaded model's engine may write more at once

    def limit(self, model: str) -> int:
        return self._limits.get(model, self.per_model)

    def set_limit(self, model: str, answers: int | None) -> None:
        """`model` writes `answers` at once from now on (its engine batches them); None puts
        it back to the operator's limit."""
        with self._cond:
            if answers is None:
                self._limits.pop(model, None)
            else:
                self._limits[model] = answers
            self._cond.notify_all()

    @classmethod
    def from_config(cls, device: str) -> Admission:
        return cls(config.max_active_per_model(device), config.max_waiting(),
                   config.requests_per_minute())

    def enter(self, model: str, learner: str | None = None) -> Ticket:
        """A place in `model`'s line, or Refused. Learner None (lesson cells) skips the rate."""
        with self._cond:
            now = self.clock()
            if learner is not None:
                recent = self._recent[learner]
                while recent and now - recent[0] >= WINDOW_S:
                    recent.popleft()
                if len(recent) >= self.per_minute:
                    wait = WINDOW_S - (now - recent[0])
                    raise Refused(f"You have asked {len(recent)} times in the last minute, the "
                                  f"most this classroom allows. Try again in {wait:.0f} s.")
                recent.append(now)
            waiting = sum(len(line) for line in self._lines.values())
            if waiting >= self.max_waiting:
                raise Refused(f"{waiting} requests are already waiting, the most this machine "
                              "queues. Try again in a minute.")
            ticket = Ticket(self, model)
            self._lines[model].append(ticket)
            return ticket

    def active(self, model: str) -> int:
        """Answers `model` is writing now."""
        with self._cond:
            return self._active.get(model, 0)

    def stats(self) -> dict:
        with self._cond:
            return {"per_model": self.per_model, "max_waiting": self.max_waiting,
                    "limits": dict(self._limits),
                    "per_minute": self.per_minute,
                    "active": {m: n for m, n in self._active.items() if n},
                    "waiting": {m: len(line) for m, line in self._lines.items() if line}}


class Ticket:
    """One request's place: iterate `places()` until admitted, then `close()` when done."""

    def __init__(self, admission: Admission, model: str):
        self.admission, self.model = admission, model
        self.admitted = self.closed = False

    def places(self, poll_s: float = 0.5) -> Iterator[int]:
        """Yields the place in line (1 = next) each time it changes; returns once admitted."""
        a, shown = self.admission, None
        with a._cond:
            while True:
                line = a._lines[self.model]
                if line and line[0] is self and a._active[self.model] < a.limit(self.model):
                    line.popleft()
                    a._active[self.model] += 1
                    self.admitted = True
                    a._cond.notify_all()
                    return
                place = line.index(self) + 1
                if place != shown:
                    shown = place
                    a._cond.release()
                    try:
                        yield place
                    finally:
                        a._cond.acquire()
                else:
                    a._cond.wait(poll_s)

    def close(self) -> None:
        """Leave the line, or free the slot: runs when the answer ends, fails or is abandoned."""
        a = self.admission
        with a._cond:
            if self.closed:
                return
            self.closed = True
            if self.admitted:
                a._active[self.model] -= 1
            elif self in a._lines[self.model]:
                a._lines[self.model].remove(self)
            a._cond.notify_all()
