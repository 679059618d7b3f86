"""What every demo needs around the pool: load with visible progress, stream a chat turn into a
Chatbot, turn the core's errors into messages a learner can act on.

Demos stay a few lines each by calling these. Nothing here knows about any single lesson.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import AsyncIterator

import gradio as gr

from qwenlab.engines.stream import Stream
from qwenlab.errors import Message, QwenLabError
from qwenlab.events import Final, Queued, TextDelta, ThinkingDelta
from qwenlab.generation import astream_chat
from qwenlab.loading import Loaded
from qwenlab.memory import PeakMemory
from qwenlab.prompts import prepare_messages
from qwenlab.registry import ModelSpec, Sampling
from qwenlab.web.i18n import N_, lang_of, system_prompt, t

# Each yield re-sends and re-renders the answer in every open browser: at a token each, the page
# and the server spend more time on updates than the model on tokens (bench/classroom.py). One
# learner sees the answer grow every 80 ms; with many answers at once the server sends at most
# about UI_UPDATES_PER_S updates in all (16 learners: one every 0.3 s each, a few tokens apiece),
# so serving them does not take the cores the answers need. The first text is never held back.
UI_INTERVAL_S = 0.08
UI_UPDATES_PER_S = 50
MAX_PROMPT_CHARS = 8000  # the token check in generation.py is the real limit; this stops pastes


def ui_interval(answers: int) -> float:
    """Seconds between one answer's updates while `answers` are being written at once."""
    return max(UI_INTERVAL_S, answers / UI_UPDATES_PER_S)


@dataclass(frozen=True)
class Learner:
    """Who asked: the browser session (the unit the per-learner rate counts) and the language
    of their page (for the messages they see and the language the chat demos answer in)."""

    session: str | None
    lang: str = "en"


def learner_of(request: gr.Request | None) -> Learner | None:
    if request is None:
        return None
    return Learner(getattr(request, "session_hash", None), lang_of(request))


def who(learner) -> tuple[str | None, str]:
    """(session, language) from a Learner, a bare session id, or None (a lesson's Run button)."""
    if isinstance(learner, Learner):
        return learner.session, learner.lang
    return learner, "en"


def learner_error(lang: str, text: str) -> gr.Error:
    """The error a learner reads: `text` (already in `lang`) under a title in `lang` too, not
    Gradio's English "Error"."""
    return gr.Error(text, title=t(N_("Error"), lang))


@contextmanager
def user_errors(lang: str = "en"):
    """Raise Qwen Lab's own errors as gr.Error in the learner's language, so they see the
    message, not a traceback; anything else is a bug and Gradio reports it as one. The error's
    Message is translated as a template, then filled (never matched as finished English)."""
    try:
        yield
    except QwenLabError as exc:
        raise learner_error(lang, t(exc.message, lang)) from exc


def check_prompt(text: str | None, learner=None) -> str:
    lang = who(learner)[1]
    text = (text or "").strip()
    if not text:
        raise learner_error(lang, t(N_("Type a question first."), lang))
    if len(text) > MAX_PROMPT_CHARS:
        raise learner_error(lang, t(N_("That is {count} characters; keep it under {limit}."), lang,
                         count=f"{len(text):,}", limit=f"{MAX_PROMPT_CHARS:,}"))
    return text


def answer_in(learner, system: str | None = None) -> str | None:
    """`system` plus, for a learner whose page is not in English, the instruction to answer in
    their language unless they ask for another (the chat demos use it)."""
    extra = system_prompt(who(learner)[1])
    return "\n\n".join(part for part in (system, extra) if part) or None


async def acquire(pool, key: str, precision: str | None = None,
                  **options) -> AsyncIterator[str | Loaded]:
    """Yield progress messages while the pool loads `key`, then the pinned Loaded.

    A model already loaded is pinned at once. Otherwise the load runs in a thread of its own
    (it may download and convert for minutes) and the handler streams its progress, holding no
    thread itself. If the learner leaves before the load finishes, the lease is given back
    as soon as the model arrives: nothing stays pinned.
    options: pool.acquire's (private=True for a copy of one's own).
    """
    if not options:
        loaded = pool.ready(key, precision)
        if loaded is not None:
            yield loaded
            return
    load = _Load(pool)
    channel = Stream(on_cancel=load.abandon)

    def progress(stage, fraction, message):  # the core's lines are Messages: t() translates them
        channel.put(Message(N_("{step} ({percent})"), step=message, percent=f"{fraction:.0%}")
                    if fraction is not None and stage == "download" else message)

    def work():
        try:
            loaded = pool.acquire(key, precision, progress=progress, **options)
        except BaseException as exc:
            channel.end(exc)
            return
        if load.arrived(loaded):
            channel.put(loaded)
            channel.end()

    threading.Thread(target=work, name=f"load-{key}", daemon=True).start()
    try:
        async for item in channel:
            if isinstance(item, Loaded):
                load.taken = True
            yield item
    finally:  # the learner left (or the load failed): whoever comes second gives the lease back
        channel.cancel()


class _Load:
    """A load a learner may walk away from: whoever comes second gives the lease back."""

    def __init__(self, pool):
        self.pool, self.lock = pool, threading.Lock()
        self.loaded: Loaded | None = None
        self.taken = self.abandoned = False

    def arrived(self, loaded: Loaded) -> bool:
        """The model is here: False (and the lease given back) if the learner has left."""
        with self.lock:
            if self.abandoned:
                self.pool.release(loaded)
                return False
            self.loaded = loaded
            return True

    def abandon(self) -> None:
        with self.lock:
            self.abandoned = True
            if self.loaded is not None and not self.taken:
                self.pool.release(self.loaded)


@dataclass
class Update:
    """Where one streamed answer stands: a loading message, or the text so far, or the end."""

    loading: str = ""
    thinking: str = ""
    answer: str = ""
    final: Final | None = None
    peak_bytes: int | None = None  # memory above the weights while answering, when measured


async def answer_stream(pool, key: str, messages: list, *, thinking: bool = False,
                        max_new_tokens: int = 512, system: str | None = None,
                        precision: str | None = None, sampling=None,
                        thinking_budget: int | None = None, measure_memory: bool = False,
                        learner: str | None = None,
                        tools: list[dict] | None = None) -> AsyncIterator[Update]:
    """Lease `key` (progress shown), wait for a turn in its engine's line (place shown),
    stream one answer, release; core errors and the classroom limits become gr.Error.

    learner: a Learner (or a bare session id), for the per-learner rate and the language of the
    messages; None for lesson cells. With measure_memory, the last update carries the peak
    memory above the weights."""
    session, lang = who(learner)
    with user_errors(lang):
        pool.rates.check(session)
    loaded, meter = None, None
    try:
        with user_errors(lang):
            async for item in acquire(pool, key, precision):
                if isinstance(item, Loaded):
                    loaded = item
                else:
                    yield Update(loading=f"⏳ {t(item, lang)}")
        meter = PeakMemory(loaded.device).start() if measure_memory else None
        async for update in _answer(loaded, key, messages, meter, lang, thinking=thinking,
                                    system=system, max_new_tokens=max_new_tokens,
                                    sampling=sampling, thinking_budget=thinking_budget,
                                    tools=tools):
            yield update
    finally:
        if meter:
            meter.stop()  # already stopped at the Final, unless the stream ended early
        if loaded is not None:
            pool.release(loaded)


async def _answer(loaded, key, messages, meter, lang, **options) -> AsyncIterator[Update]:
    update = Update()
    shown, interval = 0.0, UI_INTERVAL_S
    with user_errors(lang):
        async for event in astream_chat(loaded, messages, **options):
            if isinstance(event, Queued):
                yield Update(loading="⏳ " + t(N_("Number {place} in line for {model}: it "
                                                  "writes {count} answers at a time."), lang,
                                               place=event.place, model=key, count=event.at_once))
                continue
            if isinstance(event, ThinkingDelta):
                update.thinking += event.text
            elif isinstance(event, TextDelta):
                update.answer += event.text
            elif isinstance(event, Final):
                update.final = event
                if meter:
                    update.peak_bytes = meter.stop()
            if update.final or time.monotonic() - shown >= interval:
                shown = time.monotonic()
                interval = ui_interval(loaded.engine.stats()["active"])
                yield update


async def chat_turn(pool, key: str, history: list, message: str,
                    **options) -> AsyncIterator[tuple[list, str]]:
    """Stream one chat turn into a Chatbot: yields (messages, stats line) as the answer grows."""
    lang = who(options.get("learner"))[1]
    history = list(history or []) + [{"role": "user", "content": message}]
    async for update in answer_stream(pool, key, history, **options):
        if update.loading:
            yield history + [gr.ChatMessage(role="assistant", content=update.loading)], ""
        else:
            yield (_messages(history, update, lang),
                   t(update.final.summary(), lang) if update.final else "")


def _messages(history: list, update: Update, lang: str = "en") -> list:
    out = list(history)
    final = update.final
    if update.thinking:
        meta = {"title": t(N_("Thinking"), lang),
                "status": "done" if (update.answer or final) else "pending"}
        if final:
            meta["duration"] = round(final.total_s, 1)
            meta["title"] = t(N_("Thinking ({count} tokens)"), lang,
                              count=final.thinking_tokens)
        out.append(gr.ChatMessage(role="assistant", content=update.thinking, metadata=meta))
    if update.answer or not update.thinking:
        out.append(gr.ChatMessage(role="assistant", content=update.answer or "…"))
    return out


async def clear_if_asked(history: list, question: str) -> str:
    """The question box after an answer: empty if it still holds the question just asked
    (quick: it runs on the event loop, no worker thread for each answer that ends)."""
    asked = [m for m in history or [] if m.get("role") == "user"]
    last = prepare_messages(asked[-1:], vision=False)[0]["content"] if asked else None
    return "" if (question or "").strip() == last else question


ENGINE_NOTES = {
    "onnxruntime-genai": N_("This server ran the model as **int4 ONNX** through ONNX Runtime "
                            "GenAI, its fast CPU engine (lesson 6); the code above runs "
                            "transformers at the checkpoint's own precision. Same prompt and "
                            "sampling; the 4-bit weights make the answer and the speed differ."),
    "transformers-cb": N_("This server answered through continuous batching, sharing each step "
                          "with other learners' requests (lesson 9); same model, precision and "
                          "sampling as the code above."),
    "remote": N_("The operator serves this model from another machine through an "
                 "OpenAI-compatible server (lesson 9); the code above runs it locally with "
                 "transformers."),
}


def ran_note(final: Final | None, lang: str = "en") -> str:
    """What a Run button ran, when it is not what the code cell beside it shows; else ""."""
    note = ENGINE_NOTES.get(final.engine) if final else None
    return f"\n\n*ℹ️ {t(note, lang)}*" if note else ""


def run_output(update: Update, answer: str | None = None, lang: str = "en") -> str:
    """A Run button's output for one streamed update: progress, the text so far, then the
    stats line and what differed from the cell, in `lang`."""
    if update.loading:
        return update.loading
    text = update.answer if answer is None else answer
    if not update.final:
        return text or "…"
    return f"{text}\n\n`{t(update.final.summary(), lang)}`{ran_note(update.final, lang)}"


def answered(history) -> bool:
    """Whether a Chatbot's history holds an assistant answer (not a place in line or a load)."""
    for message in history or []:
        if message.get("role") != "assistant" or (message.get("metadata") or {}).get("title"):
            continue
        text = prepare_messages([message], vision=False)[0]["content"] if message.get("content") else ""
        if not text.startswith("⏳"):
            return True
    return False


def sampling_controls(spec: ModelSpec, max_new_tokens: int = 512, prefix: str | None = None):
    """Sliders that start at the model's documented preset; returns the components in order.
    With a prefix, the accordion is #PREFIX-sampling and the token limit #PREFIX-tokens."""
    preset = spec.preset()
    with gr.Accordion("Sampling (defaults: Qwen's preset for this model)", open=False,
                      elem_id=prefix and f"{prefix}-sampling"):
        with gr.Row():
            temperature = gr.Slider(0.0, 1.5, value=preset.temperature if preset.do_sample else 0.0,
                                    step=0.05, label="Temperature (0 = greedy)")
            top_p = gr.Slider(0.05, 1.0, value=preset.top_p, step=0.05, label="Top-p")
            top_k = gr.Slider(1, 100, value=preset.top_k, step=1, label="Top-k")
            tokens = gr.Slider(16, 2048, value=max_new_tokens, step=16, label="Max new tokens",
                               elem_id=prefix and f"{prefix}-tokens")
    return temperature, top_p, top_k, tokens


def sampling_from(spec: ModelSpec, temperature: float, top_p: float, top_k: int) -> Sampling:
    preset = spec.preset()
    if not temperature:
        return Sampling(do_sample=False, repetition_penalty=preset.repetition_penalty)
    return Sampling(temperature=float(temperature), top_p=float(top_p), top_k=int(top_k),
                    min_p=preset.min_p, repetition_penalty=preset.repetition_penalty)


def table_rows(rows) -> list:
    """The rows of a table as Gradio (a DataFrame, under headers in the page's language: read
    them by position) or gradio_client ({"headers", "data"}) hands it over."""
    import pandas as pd  # loaded by Gradio already; not needed to import this module

    if isinstance(rows, pd.DataFrame):
        return rows.values.tolist()
    if isinstance(rows, dict):
        return rows.get("data") or []
    return rows or []


def markdown_table(columns, rows) -> str:
    """A markdown table, for cell runners whose output is one Markdown string."""
    header = "| " + " | ".join(str(c) for c in columns) + " |\n|" + "---|" * len(columns)
    return header + "".join("\n| " + " | ".join(str(v) for v in row) + " |" for row in rows)


def pool_markdown(stats: dict, lang: str = "en") -> str:
    """The header line: device, budget, loaded models and their measured memory."""
    used, budget = stats["used_bytes"] / 1e9, stats["budget_bytes"] / 1e9
    loading = t(N_("loading"), lang)
    models = ", ".join(
        f"{m['model']} {m['precision']} {(m['bytes'] or m['charge']) / 1e9:.2f} GB"
        + (f" ({loading})" if m["state"] == "loading" else
           f" ×{m['leases']}" if m["leases"] else "")
        for m in stats["models"]) or t(N_("none yet: models load on first use"), lang)
    return t(N_("**Model pool** · {device} · {used} / {budget} GB · {models} · {loads} loads, "
                "{hits} hits, {evictions} evictions"), lang, device=stats["device"],
             used=f"{used:.2f}", budget=f"{budget:.1f}", models=models, loads=stats["loads"],
             hits=stats["hits"], evictions=stats["evictions"])
