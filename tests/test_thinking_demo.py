"""The thinking demo's try-it checks, its per-turn record and its Run buttons: verdicts on chats
shaped as the browser sends them back, then the same on the tiny Qwen3 (random weights never close
</think>, so a budget always injects the early-stop text and the answer follows it)."""

import ast
import re

import gradio as gr
import pytest
from conftest import drained

from qwenlab.demos.thinking import (
    CUT_SENTENCE,
    budget_cut_then_answered,
    chat,
    generation_options,
    no_think_follow_up,
    preset_text,
    qwen3_5_both_modes,
    run_chat,
    run_compare,
    run_templates,
    settings_used,
)
from qwenlab.lessons import load_lessons
from qwenlab.registry import get_model


def browser(messages: list) -> list:
    """A Chatbot value after a round trip through the page: what a Check receives."""
    chatbot = gr.Chatbot()
    return chatbot.preprocess(chatbot.postprocess(messages))


def exchange(question, reasoning="", answer=""):
    out = [{"role": "user", "content": question}]
    if reasoning:
        out.append(gr.ChatMessage(role="assistant", content=reasoning,
                                  metadata={"title": "Thinking (32 tokens)", "status": "done"}))
    if answer:
        out.append(gr.ChatMessage(role="assistant", content=answer))
    return out


def record(message, enable=True, budget=0, tokens=256, history=(), finished=True,
           model="qwen3-0.6b"):
    return dict(settings_used(browser(list(history)), message, model, enable, budget, tokens),
                finished=finished)


CUT = "Let me count the primes one by one: 2, 3, 5\n\n" + CUT_SENTENCE + "\n"


@pytest.mark.pure
def test_a_budget_that_cut_the_reasoning_then_an_answer_is_done():
    history = browser(exchange("How many primes below 50?", CUT, "There are 15."))
    done, message = budget_cut_then_answered(history, [record("How many primes below 50?", budget=32)])
    assert done and "32-token budget" in message


@pytest.mark.pure
@pytest.mark.parametrize("reasoning,answer,settings,expected", [
    (CUT, "15.", {"budget": 0}, "Set a thinking budget"),
    ("", "15.", {"budget": 32, "enable": False}, "Thinking was unticked"),
    ("Two, three, five... done.", "15.", {"budget": 32}, "by itself"),
    (CUT, "", {"budget": 32}, "Max new tokens"),
    (CUT, "", {"budget": 32, "finished": False}, "wait for the answer"),
    ("Two, three", "", {"budget": 32, "finished": False}, "still streaming"),
])
def test_what_the_budget_check_says_when_it_is_not_met(reasoning, answer, settings, expected):
    history = browser(exchange("How many primes below 50?", reasoning, answer))
    done, message = budget_cut_then_answered(history, [record("How many primes below 50?", **settings)])
    assert not done and expected in message


@pytest.mark.pure
def test_a_no_think_turn_after_the_budget_does_not_count_as_cut():
    first = exchange("Primes below 50?", CUT, "15.")
    second = exchange("And below 20? /no_think", "", "8.")
    turns = [record("Primes below 50?", budget=32),
             record("And below 20? /no_think", budget=32, history=first)]
    done, message = budget_cut_then_answered(browser(first + second), turns)
    assert not done and "/no_think was in force" in message


@pytest.mark.pure
def test_a_no_think_follow_up_after_a_thinking_turn_is_done():
    first = exchange("Is 391 prime?", "391 = 17 x 23", "No.")
    second = exchange("Why? /no_think", "", "Because 17 x 23 = 391.")
    turns = [record("Is 391 prime?"), record("Why? /no_think", history=first)]
    assert not turns[1]["thinking"] and turns[1]["switch"] == "/no_think"
    done, message = no_think_follow_up(browser(first + second), turns)
    assert done and "temperature 0.7" in message and "temperature 0.6" in message
    assert "No reasoning came back" in message


@pytest.mark.pure
def test_the_no_think_check_wants_the_switch_after_a_thinking_turn_with_thinking_ticked():
    first = exchange("Why? /no_think", "", "Because.")
    done, message = no_think_follow_up(browser(first), [record("Why? /no_think")])
    assert not done and "First ask" in message
    thought = exchange("Is 391 prime?", "391 = 17 x 23", "No.")
    done, message = no_think_follow_up(browser(thought), [record("Is 391 prime?")])
    assert not done and "/no_think" in message
    unticked = exchange("Why? /no_think", "", "Because.")
    turns = [record("Is 391 prime?"), record("Why? /no_think", enable=False, history=thought)]
    done, message = no_think_follow_up(browser(thought + unticked), turns)
    assert not done and "unticked" in message


def _lesson():
    return next(lesson for lesson in load_lessons() if lesson.id == "thinking")


def _keywords(tree) -> dict:
    """The constant keyword arguments of every call in a cell (the sampling it writes)."""
    return {kw.arg: kw.value.value for n in ast.walk(tree) if isinstance(n, ast.Call)
            for kw in n.keywords if isinstance(kw.value, ast.Constant)}


@pytest.mark.pure
def test_each_run_button_runs_what_its_cell_shows():
    """The model the cell has loaded (its own model_id, or the last one an earlier cell loaded,
    as in the notebook), its prompt, limits, template flag and the preset of the mode."""
    cells = [cell for cell in _lesson().cells if cell.kind == "code"]
    model_id, strings = None, set()  # a cell may use what an earlier cell defined
    for cell in cells:
        tree = ast.parse(cell.source)
        found = re.search(r'model_id = "([^"]+)"', cell.source)
        model_id = found.group(1) if found else model_id
        if not cell.run:
            continue
        strings |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
        if cell.run["runner"] == "thinking.templates":  # tokenizers only, several models
            assert all(get_model(key).hub_id in strings for key in cell.run["models"].split(","))
            assert cell.run["prompt"] in strings
            continue
        limits = {kw.value.value for n in ast.walk(tree) if isinstance(n, ast.Call)
                  for kw in n.keywords if kw.arg == "max_new_tokens" and isinstance(kw.value, ast.Constant)}
        limits |= {v.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                   for v in ast.walk(n.value) if isinstance(v, ast.Constant) and isinstance(v.value, int)}
        spec = get_model(cell.run["model"])
        assert spec.hub_id == model_id
        assert cell.run.get("prompt", cell.run.get("question")) in strings
        assert int(cell.run["max_new_tokens"]) in limits
        if "budget" in cell.run:
            assert int(cell.run["budget"]) in limits
        assert ("enable_thinking=False" in cell.source) == (cell.run.get("thinking") == "false")
        if cell.run["runner"] == "thinking.chat":  # the preset of the mode it runs in
            preset, written = spec.preset(thinking=cell.run["thinking"] == "true"), _keywords(tree)
            assert {k: written[k] for k in ("temperature", "top_p", "top_k")} == {
                "temperature": preset.temperature, "top_p": preset.top_p, "top_k": preset.top_k}
            assert (f"PresencePenalty({preset.presence_penalty}," in cell.source
                    ) == bool(preset.presence_penalty)
        assert "151668" not in cell.source.split("#")[0] and "248069" not in cell.source.split("#")[0]


@pytest.mark.pure
def test_the_lessons_tables_are_the_registrys_presets_and_modes():
    prose = " ".join(_lesson().path.read_text().split())
    for key in ("qwen3.5-0.8b", "qwen3.5-4b"):
        spec = get_model(key)
        for mode in (True, False):
            assert preset_text(spec.preset(thinking=mode)) in prose, (key, mode)
    assert "presence penalty" not in preset_text(get_model("qwen3-0.6b").preset(thinking=True))
    # the 0.8B thinks only when asked, the 4B unless told not to, Thinking-2507 always
    assert not get_model("qwen3.5-0.8b").thinking.default and get_model("qwen3.5-4b").thinking.default
    assert "| Qwen3.5-0.8B and 2B (March 2026) | no | `enable_thinking=True` | no |" in prose
    assert "| Qwen3.5-4B and 9B | yes | `enable_thinking=False` | no |" in prose
    assert not get_model("qwen3-4b-thinking-2507").thinking.can_switch


@pytest.mark.pure
def test_a_qwen3_5_turn_is_checked_in_both_modes():
    ask = exchange("Is 391 prime?", answer="No.")
    think = exchange("Is 391 prime?", "391 = 17 x 23", "No.")
    off = record("Is 391 prime?", enable=False, model="qwen3.5-0.8b")
    on = record("Is 391 prime?", enable=True, history=ask, model="qwen3.5-0.8b")
    assert not off["thinking"] and on["thinking"] and "presence penalty 2.0" in off["preset"]
    assert not qwen3_5_both_modes(browser(ask), [record("Is 391 prime?")])[0]  # a Qwen3 turn
    done, message = qwen3_5_both_modes(browser(ask), [off])
    assert not done and "tick Thinking" in message
    done, message = qwen3_5_both_modes(browser(ask + think), [off, on])
    assert done and "presence penalty 2.0" in message and "presence penalty 1.5" in message


@pytest.mark.pure
def test_no_think_on_a_model_without_soft_switches_is_named():
    first = exchange("Is 391 prime?", "391 = 17 x 23", "No.")
    second = exchange("Why? /no_think", "17 x 23", "Because.")
    turns = [record("Is 391 prime?", model="qwen3.5-0.8b"),
             record("Why? /no_think", history=first, model="qwen3.5-0.8b")]
    assert turns[1]["thinking"] and "ignores /think and /no_think" in turns[1]["note"]
    done, message = no_think_follow_up(browser(first + second), turns)
    assert not done and "qwen3.5-0.8b ignores /no_think" in message and "qwen3-0.6b" in message


@pytest.mark.pure
def test_each_family_gets_the_template_flag_its_template_reads():
    hybrid = record("Why? /no_think")  # Qwen3: the flag as set; its template reads the switch
    assert generation_options(hybrid)["thinking"] is True and not hybrid["thinking"]
    always = record("Hi", enable=False, model="qwen3-4b-thinking-2507")
    assert generation_options(always)["thinking"] is True and "always thinks" in always["note"]
    asked = record("Hi", enable=True, model="qwen3.5-0.8b")
    options = generation_options(asked)
    assert options["thinking"] is True and options["sampling"].presence_penalty == 1.5
    with pytest.raises(gr.Error, match="always thinks"):
        next(drained(run_compare(None, "Hi", "16", model="qwen3-4b-thinking-2507")))


# -- on the tiny Qwen3: the real chat, its record, the checks ----------------------------------
@pytest.mark.model
def test_the_budget_task_is_met_by_a_real_budgeted_turn(pool):
    *_, (history, stats, turns) = drained(chat(pool, [], "Count the primes below 50.",
                                                  "qwen3-0.6b", True, 16, 64, []))
    assert stats and turns[-1]["budget"] == 16 and turns[-1]["finished"]
    done, message = budget_cut_then_answered(browser(history), turns)
    assert done, message


@pytest.mark.model
def test_the_no_think_task_is_met_by_a_real_follow_up(pool):
    *_, (history, _, turns) = drained(chat(pool, [], "Is 391 prime?", "qwen3-0.6b", True, 0,
                                           24, []))
    history = browser(history)
    assert not no_think_follow_up(history, turns)[0]
    *_, (history, _, turns) = drained(chat(pool, history, "Explain why. /no_think", "qwen3-0.6b",
                                              True, 0, 24, turns))
    done, message = no_think_follow_up(browser(history), turns)
    assert done, message
    assert [t["thinking"] for t in turns] == [True, False]


@pytest.mark.model
def test_the_template_cell_shows_each_familys_prompt_and_think_end(tiny_env):
    cell = next(c for c in _lesson().cells if c.run and c.run["runner"] == "thinking.templates")
    args = {k: v for k, v in cell.run.items() if k != "runner"}
    table = "".join(run_templates(None, **args))
    empty, opened = repr("<think>\n\n</think>\n\n"), repr("<think>\n")
    assert "| qwen3-0.6b | True | `''` | 151668 |" in table  # the model opens <think> itself
    assert f"| qwen3-0.6b | False | `{empty}` | 151668 |" in table
    assert f"| qwen3.5-0.8b | True | `{opened}` | 248069 |" in table
    assert f"| qwen3.5-0.8b | False | `{empty}` | 248069 |" in table
    for enabled in (True, False):  # single-mode: the flag changes nothing
        assert f"| qwen3-4b-thinking-2507 | {enabled} | `{opened}` | 151668 |" in table
    prose = " ".join(_lesson().path.read_text().split())
    assert "151668 in the vocabulary of Qwen3 and the 2507 models, 248069 in Qwen3.5" in prose


@pytest.mark.model
def test_qwen3_5s_run_button_thinks_with_its_own_ids(pool):
    *_, out = drained(run_chat(pool, "Count the primes below 50.", "true", "16", "64",
                               model="qwen3.5-0.8b"))
    assert "early-stop text" in out and "qwen3.5-0.8b" in out and "**Reasoning**" in out


@pytest.mark.model
def test_the_run_buttons_show_the_budget_and_both_modes(pool):
    *_, out = drained(run_chat(pool, "Count the primes below 50.", "true", "16", "64"))
    assert "early-stop text" in out and "tokens/s" in out and "qwen3-0.6b" in out
    *_, out = drained(run_compare(pool, "What is 2 + 2?", "16"))
    assert "| thinking on |" in out and "| thinking off |" in out
