"""How a streamed answer becomes Chatbot messages: reasoning in its own collapsible message."""

import pytest

from qwenlab.demos.thinking import effective_thinking
from qwenlab.events import Final
from qwenlab.web.ui import Update, _messages, pool_markdown

pytestmark = pytest.mark.pure
HISTORY = [{"role": "user", "content": "Is 391 prime?"}]


def test_reasoning_is_pending_while_it_streams():
    thinking, = _messages(HISTORY, Update(thinking="391 = 17 x 23, so"))[1:]
    assert thinking.metadata == {"title": "Thinking", "status": "pending"}


def test_finished_reasoning_shows_tokens_and_duration_apart_from_the_answer():
    final = Final(prompt_tokens=12, new_tokens=40, thinking_tokens=31, ttft_s=0.2, tokens_per_s=9.0,
                  total_s=4.46, finish_reason="stop")
    thinking, answer = _messages(HISTORY, Update(thinking="391 = 17 x 23.", answer="No.", final=final))[1:]
    assert thinking.metadata == {"title": "Thinking (31 tokens)", "status": "done", "duration": 4.5}
    assert thinking.content == "391 = 17 x 23." and answer.content == "No." and not answer.metadata


def test_an_answer_without_reasoning_is_one_message():
    (answer,) = _messages(HISTORY, Update(answer="Hello"))[1:]
    assert answer.content == "Hello"


@pytest.mark.parametrize("history,message,enabled,expected", [
    ([], "Prove it.", True, True),
    ([], "Prove it. /no_think", True, False),
    ([{"role": "user", "content": "hi /no_think"}], "and now?", True, False),
    ([{"role": "user", "content": "hi /no_think"}], "harder one /think", True, True),
    ([{"role": "system", "content": "/no_think"}, {"role": "user", "content": "/think go"}], "next", True, True),
    ([], "please /think", False, False),  # enable_thinking=False wins outright
])
def test_the_latest_soft_switch_wins(history, message, enabled, expected):
    assert effective_thinking(history, message, enabled) is expected


def test_pool_header_names_models_and_counters():
    stats = {"device": "cpu", "budget_bytes": 2e9, "used_bytes": 5e8, "load_seconds": 1.0,
             "hits": 3, "loads": 1, "evictions": 0, "errors": 0,
             "models": [{"model": "qwen3-0.6b", "precision": "bf16", "bytes": 4.4e8, "charge": 5e8,
                         "state": "ready", "leases": 2}]}
    line = pool_markdown(stats)
    assert "cpu" in line and "0.50 / 2.0 GB" in line and "qwen3-0.6b bf16 0.44 GB ×2" in line
    assert "1 loads, 3 hits, 0 evictions" in line


def test_markdown_table_for_cell_runners():
    from qwenlab.web.ui import markdown_table

    assert markdown_table(["a", "b"], [(1, "x"), (2, "y")]) == "| a | b |\n|---|---|\n| 1 | x |\n| 2 | y |"
    assert markdown_table(["a"], []) == "| a |\n|---|"
