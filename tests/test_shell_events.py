"""How the page's events are wired: what each one writes to, not what it says.

Gradio's page keeps a loading status for every component an event has ever written to and
walks them all on each later event, so an event that writes to every lesson at once makes each
later event (the header's pool line, each streamed piece of an answer) slow in the learner's
browser. A lesson's text and saved answers are written when that lesson is first opened.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def shell(tiny_dir):
    from qwenlab.pool import ModelPool
    from qwenlab.web.shell.app import build_app

    with pytest.MonkeyPatch.context() as env:
        env.setenv("QWENLAB_MODEL_DIR", str(tiny_dir))
        yield build_app(ModelPool(budget_bytes=int(1e9), device="cpu"))


def test_no_event_writes_to_more_than_one_lesson(shell):
    import gradio as gr

    from qwenlab.web.shell.app import _owner  # the shell's own walk up to a lesson's tab

    lesson_tabs = {id(block): block.id for block in shell.blocks.values()
                   if isinstance(block, gr.Tab) and isinstance(getattr(block, "parent", None), gr.Tabs)
                   and block.parent.elem_id == "lesson-tabs"}
    assert len(lesson_tabs) >= 11
    for fn in shell.fns.values():
        lessons = {_owner(block, lesson_tabs) for block in fn.outputs
                   if id(block) not in lesson_tabs} - {None}  # naming every tab is the shell's
        assert len(lessons) <= 1, (fn.name, sorted(lessons))


def test_each_lesson_is_put_into_the_learners_language_when_it_opens(shell):
    """One hidden trigger per lesson writes its page and its demo's labels; the page load
    writes only the shell (the lesson list, the language picker, the header)."""
    import gradio as gr

    triggers = {block.elem_id.removeprefix("localize-"): block for block in shell.blocks.values()
                if isinstance(block, gr.Button) and (block.elem_id or "").startswith("localize-")}
    tabs = {block.id for block in shell.blocks.values()
            if isinstance(block, gr.Tab) and getattr(block.parent, "elem_id", None) == "lesson-tabs"}
    assert set(triggers) == tabs
    for key, trigger in triggers.items():
        fns = [fn for fn in shell.fns.values() if any(t[0] == trigger._id for t in fn.targets)]
        assert len(fns) == 1 and len(fns[0].outputs) > 10, key
    loads = [fn for fn in shell.fns.values() if any(t[1] == "load" for t in fn.targets)]
    assert loads and all(len(fn.outputs) < 40 for fn in loads), [len(fn.outputs) for fn in loads]


def test_plots_tables_and_prefilled_examples_follow_the_page_language(shell):
    """A plot's titles, a table's headers and a text box's prefilled example are put into the
    learner's language with the page; a box the demo marks VERBATIM keeps its text."""
    from qwenlab.web.i18n import table
    from qwenlab.web.localize import collect, updates

    slots = {slot.component.elem_id: slot for slot in collect(shell, skip=set())
             if slot.component.elem_id}
    sw = table("sw")
    shown = dict(zip(slots, updates(list(slots.values()), "sw")))
    assert shown["ft-plot"]["title"] == sw["Training loss"]
    assert shown["ft-plot"]["x_title"] == sw["Step"]
    assert shown["edge-plot-0"]["title"] == sw["tokens/s ↑"]
    assert shown["think-question"]["value"] == sw[slots["think-question"].attrs["value"]]
    assert list(shown["ft-data"]["value"].columns) == [sw["prompt"], sw["response"]]
    assert len(shown["ft-data"]["value"]) > 5  # the examples stay under the translated headers
    for kept in ("math-problem", "code-examples", "tools-question", "ft-compare-on",
                 "edge-prompt", "serve-forged", "serve-escape-text"):
        assert "value" not in getattr(slots.get(kept), "attrs", {}), kept


def test_an_example_click_fills_values_and_keeps_the_labels():
    """gr.Examples sent each input's build-time props (its English label) with the value;
    examples() sends the value of the learner's language only."""
    import gradio as gr

    from qwenlab.web.examples import examples

    with gr.Blocks() as app:
        box = gr.Textbox(label="Question")
        table = examples(lambda lang: [[f"{lang}: one"], [f"{lang}: two"]], [box], label="Try")
    fill = next(f for f in app.fns.values() if f.targets and f.targets[0][0] == table._id)
    update = fill.fn(1, gr.Request(query_params={"lang": "sw"}, session_hash="x"))
    assert update == gr.update(value="sw: two")
    assert table.headers == ["Question"] and table.samples == [["en: one"], ["en: two"]]
