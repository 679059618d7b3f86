"""The retrieval lesson's demo, "ask the course": the app's own lessons, in the learner's
language, embedded once in the background (progress shown, kept on disk, rebuilt when a lesson
changes); a question shows the closest passages with their scores before and after reranking,
then a Qwen3.5 answer that cites them, each citation a link that opens its lesson.

RUNNERS serve the lesson's Run buttons with the same functions; CHECKS read this session's runs.
"""

from __future__ import annotations

import asyncio
import re
import weakref

import gradio as gr

from qwenlab.languages import language as page_language
from qwenlab.lessons import load_lessons
from qwenlab.retrieval import Builds, Passage, rerank, search
from qwenlab.web.demo import Check, Demo
from qwenlab.web.i18n import N_, t
from qwenlab.web.ui import (
    Learner,
    answer_in,
    answer_stream,
    check_prompt,
    learner_error,
    learner_of,
    who,
)

ANSWER_MODELS = ["qwen3.5-0.8b", "qwen3.5-2b", "qwen3-0.6b"]
FIRST_K = 8        # passages the embedding search returns
ANSWER_K = 3       # passages the answer reads
SYSTEM = ("Answer the question from the numbered passages of the course below. Cite each "
          "passage you use as [1], [2] and so on. If the passages do not answer the question, "
          "say that the course does not cover it.")
_BUILDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def builds(pool) -> Builds:
    """The pool's index builds (one per language), made on first use."""
    if pool not in _BUILDS:
        _BUILDS[pool] = Builds(pool, load_lessons)
    return _BUILDS[pool]


async def ready_index(pool, lang: str) -> object:
    """Yield progress lines while `lang`'s index builds, then the Index."""
    while True:
        state = builds(pool).get(lang)
        if state.index is not None:
            yield state.index
            return
        if state.error:
            raise learner_error(lang, t(getattr(state.error, 'message', str(state.error)), lang))
        yield "⏳ " + t(N_("Indexing the course in {language} (once; kept on disk): {message}, "
                          "{percent}% done. Your question runs when it is ready."), lang,
                        language=page_language(lang).native, message=state.message,
                        percent=int(state.fraction * 100))
        await asyncio.sleep(0.5)


def link(passage: Passage, lang: str) -> str:
    return f"[{passage.title} › {passage.section}](?lang={lang}&lesson={passage.lesson})"


def table(found: list[tuple[float, Passage]], lang: str, label: str) -> str:
    rows = [f"| {i} | {score:.3f} | {link(p, lang)} | {_snippet(p.text)} |"
            for i, (score, p) in enumerate(found, 1)]
    head = f"| # | {label} | {t(N_('Lesson and section'), lang)} | {t(N_('Passage'), lang)} |"
    return "\n".join([head, "|---|---|---|---|", *rows])


def _snippet(text: str, size: int = 140) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= size else flat[:size] + "…"


def prompt(question: str, passages: list[Passage]) -> str:
    blocks = [f"[{i}] ({p.title}: {p.section})\n{p.text}" for i, p in enumerate(passages, 1)]
    return "Passages:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"


def cited(answer: str, passages: list[Passage], lang: str) -> str:
    """The answer with each [n] it cites made a link to that passage's lesson."""
    def linked(match):
        n = int(match[1])
        if 1 <= n <= len(passages):
            p = passages[n - 1]
            return f"[[{n}]](?lang={lang}&lesson={p.lesson} \"{p.title}: {p.section}\")"
        return match[0]
    return re.sub(r"\[(\d+)\]", linked, answer)


async def find(pool, question: str, k: int, reranked: bool, learner=None):
    """Yield progress lines, then (first, after reranking or None)."""
    lang = who(learner)[1]
    question = check_prompt(question, learner)
    index = None
    async for item in ready_index(pool, lang):
        if isinstance(item, str):
            yield item
        else:
            index = item
    first = await asyncio.to_thread(search, pool, index, question, int(k))
    if reranked:  # the reranker reads every passage with the question: seconds each on a CPU
        yield (table(first, lang, t("cosine", lang)) + "\n\n⏳ "
               + t(N_("Reranking {count} passages with Qwen3-Reranker: it reads each one "
                      "together with the question, which takes a while on a CPU…"), lang,
                   count=len(first)))
    second = await asyncio.to_thread(rerank, pool, question, first) if reranked else None
    yield first, second


async def ask(pool, question, reranked, k, model, max_new_tokens, learner=None):
    """Yield (passages markdown, answer markdown) as the search and the answer go."""
    lang = who(learner)[1]
    found = None
    async for item in find(pool, question, k, reranked, learner):
        if isinstance(item, str):
            yield item, ""
        else:
            found = item
    first, second = found
    shown = table(first, lang, t("cosine", lang))
    if second is not None:
        shown += "\n\n**" + t("After reranking", lang) + "**\n\n" + table(second, lang,
                                                                          "P(yes)")
    best = [p for _, p in (second or first)[:ANSWER_K]]
    messages = [{"role": "user", "content": prompt(question.strip(), best)}]
    async for update in answer_stream(pool, model, messages, system=answer_in(learner, SYSTEM),
                                      max_new_tokens=int(max_new_tokens), learner=learner):
        text = update.loading or cited(update.answer, best, lang)
        if update.final:
            text += f"\n\n`{t(update.final.summary(), lang)}`"
        yield shown, text


async def run_search(pool, question="How do I turn thinking off on Qwen3.5?", rerank="true",
                     k=str(FIRST_K), lang="en"):
    async for item in find(pool, question, int(k), rerank == "true", Learner(None, lang)):
        if isinstance(item, str):
            yield item
        else:
            first, second = item
            out = table(first, lang, "cosine")
            yield out + (f"\n\n**{t(N_('After reranking'), lang)}**\n\n"
                         + table(second, lang, "P(yes)")
                         if second is not None else "")


async def run_answer(pool, question="How do I turn thinking off on Qwen3.5?",
                     model="qwen3.5-0.8b", max_new_tokens="256", lang="en"):
    async for shown, text in ask(pool, question, True, FIRST_K, model, max_new_tokens,
                                 Learner(None, lang)):
        yield f"{shown}\n\n{text}"


RUNNERS = {"search": run_search, "answer": run_answer}


def build(pool) -> dict:
    gr.Markdown("Ask a question about the course. The app searches its own lessons, in your "
                "language, with Qwen3-Embedding, reranks the best with Qwen3-Reranker, and a "
                "Qwen3.5 model answers from them, citing each passage it used.")
    question = gr.Textbox("How do I turn thinking off on Qwen3.5?", label="Question", lines=2,
                          elem_id="rag-question")
    with gr.Row():
        reranked = gr.Checkbox(True, label="Rerank with Qwen3-Reranker", elem_id="rag-rerank")
        k = gr.Slider(2, 16, value=FIRST_K, step=1, label="Passages to find")
        model = gr.Dropdown(ANSWER_MODELS, value=ANSWER_MODELS[0], label="Answer with")
        tokens = gr.Slider(32, 1024, value=256, step=32, label="Max new tokens")
    with gr.Row():
        go = gr.Button("Ask", variant="primary", elem_id="rag-go")
        only = gr.Button("Search only", elem_id="rag-search")
        stop = gr.Button("Stop")
    found = gr.Markdown(elem_id="rag-found")
    answer = gr.Markdown(elem_id="rag-answer")
    runs = gr.State([])

    async def respond(question, reranked, k, model, tokens, runs, request: gr.Request):
        learner = learner_of(request)
        shown = text = ""
        async for shown, text in ask(pool, question, reranked, k, model, tokens, learner):
            yield shown, text, runs
        yield shown, text, list(runs) + [{"reranked": bool(reranked), "answered": True,
                                          "cited": bool(re.search(r"\[\[\d+\]\]", text))}]

    async def search_only(question, reranked, k, runs, request: gr.Request):
        learner = learner_of(request)
        async for item in find(pool, question, k, reranked, learner):
            if isinstance(item, str):
                yield item, runs
                continue
            first, second = item
            shown = table(first, learner.lang, t("cosine", learner.lang))
            if second is not None:
                shown += ("\n\n**" + t("After reranking", learner.lang) + "**\n\n"
                          + table(second, learner.lang, "P(yes)"))
            moved = second is not None and [p for _, p in first] != [p for _, p in second]
            yield shown, list(runs) + [{"reranked": second is not None, "answered": False,
                                        "moved": moved}]

    event = go.click(respond, [question, reranked, k, model, tokens, runs],
                     [found, answer, runs], api_name="retrieval_answer")
    searched = only.click(search_only, [question, reranked, k, runs], [found, runs],
                          api_name="retrieval_search")
    stop.click(None, cancels=[event, searched])
    return {"runs": runs}


# -- try-it tasks the app checks (lessons/en/11-retrieval.md, "Try it") ------------------------
def compared_rerank(runs) -> tuple[bool, str]:
    done = [run for run in runs or [] if run.get("reranked")]
    if not done:
        return False, N_("Press *Search only* with *Rerank* ticked.")
    if any(run.get("moved") for run in done):
        return True, N_("The reranker changed the order of the passages the search found.")
    return True, N_("You compared both orders (this time the reranker kept the search's order).")


def got_a_cited_answer(runs) -> tuple[bool, str]:
    answered = [run for run in runs or [] if run.get("answered")]
    if not answered:
        return False, N_("Press *Ask* to get an answer from the passages.")
    if any(run.get("cited") for run in answered):
        return True, N_("The answer cites the passages it used; each citation opens its lesson.")
    return True, N_("You got an answer, without citations this time: small models forget them. "
                    "Read the passages table to check it yourself.")


CHECKS = {"compared_rerank": Check(("runs",), compared_rerank),
          "got_a_cited_answer": Check(("runs",), got_a_cited_answer)}

DEMO = Demo(build=build, runners=RUNNERS, checks=CHECKS)
