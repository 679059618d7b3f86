"""What a request gets back from an engine: a stream of pieces that a driver thread writes and an
asyncio task (a Gradio handler) or a plain loop reads.

A `Stream` is the consumer's end of one request. The engine's driver puts pieces into it from
its own thread (token ids, `Text`, `Usage`, `Waiting` while the request is in line), then ends
it, or fails it with an error; the consumer iterates it with `async for`, holding no thread
while it waits. Closing the iteration early (Stop, a closed tab) cancels the request, which
the driver sees at its next step. A consumer that hears nothing, not even that the driver is
alive, for `stall_s` seconds gets `EngineStalled` instead of waiting forever.
Nothing here knows about models or Gradio.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

from qwenlab.errors import N_, EngineFailed, EngineStalled

STALL_S = 120.0  # no token and no sign of life from the driver for this long: give up


@dataclass(frozen=True)
class Waiting:
    """The request is in its engine's line: `place` 1 is next; `at_once` answers are written
    together by this engine."""

    place: int
    at_once: int


_END = object()


class Stream:
    """One request's pieces, put by a driver thread, read once by one consumer."""

    def __init__(self, alive: Callable[[], float] | None = None, stall_s: float = STALL_S,
                 on_cancel: Callable[[], None] | None = None):
        self._items: deque = deque()
        self._lock = threading.Lock()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future] | None = None
        self._alive = alive or time.monotonic  # when the driver last showed it was running
        self.stall_s = stall_s
        self._on_cancel = on_cancel
        self.cancelled = threading.Event()
        self.ended = False  # the driver has put its last piece

    # -- the driver's side (any thread) ----------------------------------------------------
    def put(self, piece: Any) -> None:
        with self._lock:
            if self.ended:
                return
            self._items.append(piece)
            waiter, self._waiter = self._waiter, None
        _wake(waiter)

    def end(self, error: BaseException | None = None) -> None:
        """The last piece: the answer is complete, or `error` ended it."""
        with self._lock:
            if self.ended:
                return
            self.ended = True
            self._items.append(error if error is not None else _END)
            waiter, self._waiter = self._waiter, None
        _wake(waiter)

    # -- the consumer's side -----------------------------------------------------------------
    def cancel(self) -> None:
        """The consumer walked away (Stop, a closed tab): the driver drops the request. Safe
        to call more than once, and after the end."""
        if not self.cancelled.is_set():
            self.cancelled.set()
            if self._on_cancel is not None:
                self._on_cancel()

    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            while True:
                piece = await self._next()
                if piece is _END:
                    return
                if isinstance(piece, BaseException):
                    raise piece
                yield piece
        finally:
            if not self.ended:
                self.cancel()

    async def _next(self) -> Any:
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
                future = loop.create_future()
                self._waiter = (loop, future)
            quiet = time.monotonic() - self._alive()
            if quiet >= self.stall_s:
                self.cancel()
                raise EngineStalled(N_("The model has not answered for {seconds} s: its "
                                       "engine seems stuck. Try again; the server restarts it."),
                                    seconds=f"{quiet:.0f}")
            try:
                await asyncio.wait_for(future, timeout=min(1.0, self.stall_s - quiet))
            except asyncio.TimeoutError:
                pass


def _wake(waiter) -> None:
    if waiter is None:
        return
    loop, future = waiter
    try:
        loop.call_soon_threadsafe(_resolve, future)
    except RuntimeError:  # the consumer's loop is closed: nobody is reading any more
        pass


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def failed(template: str, cause: BaseException | None = None, **values) -> EngineFailed:
    """The error a request gets when its engine failed under it; the engine goes on. `template`
    is an N_() message and `values` fill it (an exception as its text: the message is what a
    learner reads, translated; `cause` keeps the exception itself for the log)."""
    error = EngineFailed(template, **values)
    error.__cause__ = cause
    return error


def iterate(agen: AsyncIterator[Any]):
    """A sync iterator over an async one, on a private event loop: for the CLI, tests and the
    lesson cells' runners, which read one stream at a time in a thread of their own. Closing
    it (or dropping it) closes the async one, which cancels its request. The loop's executor
    (asyncio.to_thread) is shut down without waiting: a generator dropped while the garbage
    collector holds a threading lock must not start, or wait for, a thread."""
    loop = asyncio.new_event_loop()
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qwenlab-iterate")
    loop.set_default_executor(executor)
    iterator = agen.__aiter__()
    try:
        while True:
            try:
                yield loop.run_until_complete(iterator.__anext__())
            except StopAsyncIteration:
                return
    finally:
        try:
            if hasattr(iterator, "aclose"):
                loop.run_until_complete(iterator.aclose())
            # the async generators it was reading (an engine's stream among them) close too,
            # so that their requests are cancelled: as asyncio.run does
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            executor.shutdown(wait=False)
            loop.close()
