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
    no_think_follow_up,
    run_chat,
    run_compare,
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


def record(message, enable=True, budget=0, tokens=256, history=(), finished=True):
    return dict(settings_used(browser(list(history)), message, "qwen3-0.6b", enable, budget, tokens),
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


@pytest.mark.pure
def test_each_run_button_runs_what_its_cell_shows():
    lesson = next(lesson for lesson in load_lessons() if lesson.id == "thinking")
    cells = [cell for cell in lesson.cells if cell.kind == "code"]
    model_id = re.search(r'model_id = "([^"]+)"', cells[0].source).group(1)
    strings = set()  # a cell may use what an earlier cell defined, as in the notebook
    for cell in (c for c in cells if c.run):
        tree = ast.parse(cell.source)
        strings |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
        limits = {kw.value.value for n in ast.walk(tree) if isinstance(n, ast.Call)
                  for kw in n.keywords if kw.arg == "max_new_tokens" and isinstance(kw.value, ast.Constant)}
        limits |= {v.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                   for v in ast.walk(n.value) if isinstance(v, ast.Constant) and isinstance(v.value, int)}
        assert get_model(cell.run["model"]).hub_id == model_id
        assert cell.run.get("prompt", cell.run.get("question")) in strings
        assert int(cell.run["max_new_tokens"]) in limits
        if "budget" in cell.run:
            assert int(cell.run["budget"]) in limits
        assert ("enable_thinking=False" in cell.source) == (cell.run.get("thinking") == "false")


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
def test_the_run_buttons_show_the_budget_and_both_modes(pool):
    *_, out = drained(run_chat(pool, "Count the primes below 50.", "true", "16", "64"))
    assert "early-stop text" in out and "tokens/s" in out and "qwen3-0.6b" in out
    *_, out = drained(run_compare(pool, "What is 2 + 2?", "16"))
    assert "| thinking on |" in out and "| thinking off |" in out
