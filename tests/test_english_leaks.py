"""No English sentence of the string tables reaches a learner who chose another language.

Every lesson's Run cells are run as the page runs them (webui/shell/page.py: the cell's
binding plus the page's language) on the tiny checkpoints, and what they show is searched for
each English sentence the table translates differently. Code, numbers, model names and the
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
