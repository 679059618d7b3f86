"""No English sentence of the string tables reaches a learner who chose another language.

Every lesson's Run cells are run as the page runs them (webui/shell/page.py: the cell's
binding plus the page's language), and every demo's main action as its tab calls it (the
event's function, with the tab's own inputs and a request from a page in that language), on
the tiny checkpoints; what they show is searched for each English sentence the table
translates differently. Code, numbers, model names and the
models' own words are not in the table, so they never count as a leak.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from qwenlab.languages import LANGUAGES
from qwenlab.lessons import load_lessons
from qwenlab.web.i18n import table
from qwenlab.web.shell.keys import all_keys
from qwenlab.web.shell.page import outputs, runner_for

pytestmark = pytest.mark.model

OTHERS = [code for code in LANGUAGES if code != "en"]
# Runs that need no model answer (tables, tokenizers, checks): every language. The rest load a
# tiny model and generate, so they run in one language (the same code path for each).
QUICK = {"family.pick", "multilingual.count", "edge.calculator", "edge.cache", "edge.pool",
         "serve.status", "serve.tokens", "serve.escape", "serve.request", "tools.parse",
         "tools.prompt", "thinking.templates", "finetune.targets", "math.check", "vision.tokens",
         "tools.agent"}
SLOW_LANG = "sw"


def run_cells(kind: str) -> list[tuple[str, dict]]:
    """The lessons' Run bindings of one kind; of the ones that answer, the first of each
    runner (the others differ in their prompt, not in what the runner writes around it)."""
    cells, seen = [], set()
    for lesson in load_lessons("en"):
        for cell in lesson.cells:
            if not cell.run or (cell.run["runner"] in QUICK) != (kind == "quick"):
                continue
            if kind == "model" and cell.run["runner"] in seen:
                continue
            seen.add(cell.run["runner"])
            cells.append((f"{lesson.id}:{cell.run['runner']}:{len(cells)}", cell.run))
    return cells


def sentences(lang: str) -> list[str]:
    """The English keys worth searching for: whole sentences (four words or more) whose
    translation differs, with any {placeholder} part cut out (the values vary)."""
    translated = table(lang)
    found = set()
    for key in all_keys():
        if translated.get(key, key) == key:
            continue
        for piece in re.split(r"\{[a-z_]+\}|\n", key):
            piece = piece.strip(" *#`:;,.()").strip()
            if len(piece.split()) >= 4 and not piece.startswith(("http", "python", "pip ")):
                found.add(piece)
    return sorted(found, key=len, reverse=True)


@pytest.fixture(autouse=True)
def short_answers(monkeypatch):
    """The words around an answer are what is checked, not its length: a random tiny model never
    stops early, so every answer here is capped at 48 tokens, as a host would cap a classroom."""
    monkeypatch.setenv("QWENLAB_MAX_NEW_TOKENS", "48")


def shown(pool, run: dict, lang: str) -> str:
    runner = runner_for(run)
    arguments = {k: v for k, v in run.items() if k != "runner"}

    async def drain():
        out = ""
        async for piece in outputs(runner(pool, **arguments, lang=lang)):
            out = piece if isinstance(piece, str) else str(piece)
        return out

    return asyncio.run(drain())


def leaks(text: str, lang: str) -> list[str]:
    return [sentence for sentence in sentences(lang) if sentence in text]


@pytest.mark.parametrize("lang", OTHERS)
@pytest.mark.parametrize("name, run", run_cells("quick"), ids=lambda v: v if isinstance(v, str) else "")
def test_a_quick_run_cell_speaks_the_learners_language(pool, name, run, lang):
    text = shown(pool, run, lang)
    assert text.strip(), name
    assert not leaks(text, lang), (name, leaks(text, lang))


@pytest.mark.parametrize("name, run", run_cells("model"), ids=lambda v: v if isinstance(v, str) else "")
def test_a_run_cell_that_answers_speaks_the_learners_language(pool, name, run):
    text = shown(pool, run, SLOW_LANG)
    assert text.strip(), name
    assert not leaks(text, SLOW_LANG), (name, leaks(text, SLOW_LANG))


def test_the_leak_search_finds_an_english_sentence():
    """The search itself works: an English sentence the table translates is found."""
    key = next(s for s in sentences(SLOW_LANG) if len(s.split()) >= 6)
    assert leaks(f"prefix {key} suffix", SLOW_LANG) == [key]


# -- every demo's main action, as its tab calls it ---------------------------------------------
MAIN_ACTIONS = ["family_pick", "math", "math_check", "multilingual", "multilingual_tokens",
                "vision", "vision_plan", "code", "edge_calculator", "edge_compare", "thinking",
                "thinking_compare", "finetune", "serve_request", "serve_inspect", "serve_escape",
                "tools_run", "retrieval_search", "retrieval_answer"]
SAMPLE = "What is 2 + 2?"  # for a text box the tab leaves empty


@pytest.fixture(scope="module")
def app_functions(tiny_dir, tmp_path_factory):
    from qwenlab.pool import ModelPool
    from qwenlab.web.shell.app import build_app

    with pytest.MonkeyPatch.context() as env:  # undone after the module: later tests start clean
        env.setenv("QWENLAB_MODEL_DIR", str(tiny_dir))
        env.setenv("QWENLAB_CACHE_DIR", str(tmp_path_factory.mktemp("leak-cache")))
        app = build_app(ModelPool(budget_bytes=int(3e9), device="cpu"))
        yield ({f.api_name: f for f in app.fns.values() if f.api_name in MAIN_ACTIONS},
               shown_values(app, SLOW_LANG))


def shown_values(app, lang: str) -> dict:
    """{id(component): the value the page shows in `lang`}, for the components whose value
    the page sets for the language (prefilled examples, tables under translated headers, what a
    demo's on_load sets): what each lesson's hidden localize-<id> trigger writes when the
    lesson first opens, called as the page calls it."""
    import gradio as gr

    values = {}
    request = gr.Request(query_params={"lang": lang}, session_hash=f"leak-{lang}")
    for function in app.fns.values():
        trigger = app.blocks.get(function.targets[0][0]) if function.targets else None
        if not (getattr(trigger, "elem_id", None) or "").startswith("localize-"):
            continue
        for component, update in zip(function.outputs, function.fn(None, request)):
            if isinstance(update, dict) and "value" in update:
                values[id(component)] = update["value"]
    assert values, "no lesson trigger set a value"
    return values


def texts(value) -> list[str]:
    """Every piece of text in what a handler returned, as the page would show it."""
    import gradio as gr
    import pandas as pd

    if value is None or isinstance(value, (int, float, bool)):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, pd.DataFrame):
        return [str(c) for c in value.columns] + [str(v) for v in value.to_numpy().ravel()]
    if isinstance(value, gr.ChatMessage):
        return texts(value.content) + texts(value.metadata)
    if isinstance(value, dict):
        return [t for item in value.values() for t in texts(item)]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in texts(item)]
    if hasattr(value, "get_axes"):  # a matplotlib figure: titles and axis labels
        return [s for ax in value.get_axes() for s in (ax.get_title(), ax.get_xlabel(),
                                                       ax.get_ylabel())]
    if isinstance(value, gr.components.Component):
        return texts([getattr(value, name, None) for name in ("value", "label", "info")])
    return []


def call(function, lang: str, page: dict | None = None) -> str:
    """What a learner on a `lang` page sees from `function`, called with what its inputs show
    on that page (`page`: shown_values), as Gradio hands them over."""
    import inspect

    import gradio as gr
    import pandas as pd

    def given(component):
        value = (page or {}).get(id(component), component.value)
        if isinstance(component, gr.Dataframe) and isinstance(value, dict):
            return pd.DataFrame(value["data"], columns=value["headers"])
        return SAMPLE if isinstance(component, gr.Textbox) and not value else value

    values = [given(c) for c in function.inputs]
    extra = ({"request": gr.Request(query_params={"lang": lang}, session_hash=f"leak-{lang}")}
             if "request" in inspect.signature(function.fn).parameters else {})

    hidden = [isinstance(c, (gr.State, gr.BrowserState)) for c in function.outputs]

    def shown(item) -> list[str]:  # what the page shows: not what a State keeps
        if len(hidden) > 1 and isinstance(item, (list, tuple)) and len(item) == len(hidden):
            return texts([value for value, kept in zip(item, hidden) if not kept])
        return [] if hidden == [True] else texts(item)

    async def drain():
        seen = []
        try:
            result = function.fn(*values, **extra)
            if hasattr(result, "__aiter__"):
                async for item in result:
                    seen = shown(item)
            elif inspect.isawaitable(result):
                seen = shown(await result)
            elif inspect.isgenerator(result):
                for item in result:
                    seen = shown(item)
            else:
                seen = shown(result)
        except gr.Error as exc:  # a refusal is shown too: title and message
            seen = [exc.title, str(exc.message)]
        return "\n".join(seen)

    return asyncio.run(drain())


@pytest.mark.parametrize("api", MAIN_ACTIONS)
def test_a_demos_main_action_speaks_the_learners_language(app_functions, api):
    functions, page = app_functions
    assert api in functions, f"no event with api_name {api}"
    text = call(functions[api], SLOW_LANG, page)
    assert text.strip(), api
    assert not leaks(text, SLOW_LANG), (api, leaks(text, SLOW_LANG))
