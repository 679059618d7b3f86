"""What every demo needs around the pool: load with visible progress, stream a chat turn into a
Chatbot, turn the core's errors into messages a learner can act on.

Demos stay a few lines each by calling these. Nothing here knows about any single lesson.
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from typing import Iterator

import gradio as gr

from qwenlab.generation import Final, PromptTooLong, TextDelta, ThinkingDelta, stream_chat
from qwenlab.loading import Loaded, LoadError
from qwenlab.registry import UnknownModel

MAX_PROMPT_CHARS = 8000  # the token check in generation.py is the real limit; this stops pastes


@contextmanager
def user_errors():
    """Raise the core's errors as gr.Error, so the learner sees the message, not a traceback."""
    try:
        yield
    except (LoadError, PromptTooLong, UnknownModel, ValueError) as exc:
        raise gr.Error(str(exc)) from exc


def check_prompt(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise gr.Error("Type a question first.")
    if len(text) > MAX_PROMPT_CHARS:
        raise gr.Error(f"That is {len(text):,} characters; keep it under {MAX_PROMPT_CHARS:,}.")
    return text


def acquire(pool, key: str, precision: str | None = None) -> Iterator[str | Loaded]:
    """Yield progress messages while the pool loads `key`, then the pinned Loaded.

    The load runs in a worker thread so the handler can stream progress. If the learner leaves
    before it finishes, the worker releases the lease itself: nothing stays pinned.
    """
    messages: queue.Queue = queue.Queue()
    state = {"abandoned": False}
    lock = threading.Lock()

    def progress(stage, fraction, message):
        messages.put(f"{message} ({fraction:.0%})" if fraction is not None and stage == "download" else message)

    def work():
        try:
            loaded = pool.acquire(key, precision, progress=progress)
            with lock:
                if state["abandoned"]:
                    pool.release(loaded)
                    return
            messages.put(loaded)
        except BaseException as exc:
            messages.put(exc)

    threading.Thread(target=work, name=f"load-{key}", daemon=True).start()
    try:
        while True:
            item = messages.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, Loaded):
                return
    finally:
        with lock:
            state["abandoned"] = True


def chat_turn(pool, key: str, history: list, message: str, *, thinking: bool = False,
              max_new_tokens: int = 512, system: str | None = None, precision: str | None = None,
              sampling=None) -> Iterator[tuple[list, str]]:
    """Stream one turn: yields (chatbot messages, stats line) as the answer grows."""
    history = list(history or []) + [{"role": "user", "content": message}]
    loaded = None
    with user_errors():
        for item in acquire(pool, key, precision):
            if isinstance(item, Loaded):
                loaded = item
            else:
                yield history + [gr.ChatMessage(role="assistant", content=f"⏳ {item}")], ""
    try:
        yield from _stream_into(loaded, history, thinking, max_new_tokens, system, sampling)
    finally:
        pool.release(loaded)


def _stream_into(loaded, history, thinking, max_new_tokens, system, sampling):
    thought, answer = "", ""
    show = list(history)
    with user_errors():
        for event in stream_chat(loaded, history, thinking=thinking, max_new_tokens=max_new_tokens,
                                 system=system, sampling=sampling):
            if isinstance(event, ThinkingDelta):
                thought += event.text
            elif isinstance(event, TextDelta):
                answer += event.text
            elif isinstance(event, Final):
                yield _messages(show, thought, answer, event), event.summary()
                return
            yield _messages(show, thought, answer, None), ""


def _messages(history, thought, answer, final: Final | None) -> list:
    out = list(history)
    if thought:
        meta = {"title": "Thinking", "status": "done" if (answer or final) else "pending"}
        if final:
            meta["duration"] = round(final.total_s, 1)
            meta["title"] = f"Thinking ({final.thinking_tokens} tokens)"
        out.append(gr.ChatMessage(role="assistant", content=thought, metadata=meta))
    if answer or not thought:
        out.append(gr.ChatMessage(role="assistant", content=answer or "…"))
    return out


def pool_markdown(stats: dict) -> str:
    """The header line: device, budget, loaded models and their measured memory."""
    used, budget = stats["used_bytes"] / 1e9, stats["budget_bytes"] / 1e9
    models = ", ".join(
        f"{m['model']} {m['precision']} {(m['bytes'] or m['charge']) / 1e9:.2f} GB"
        + (" (loading)" if m["state"] == "loading" else f" ×{m['leases']}" if m["leases"] else "")
        for m in stats["models"]) or "none yet: models load on first use"
    return (f"**Model pool** · {stats['device']} · {used:.2f} / {budget:.1f} GB · {models} · "
            f"{stats['loads']} loads, {stats['hits']} hits, {stats['evictions']} evictions")
