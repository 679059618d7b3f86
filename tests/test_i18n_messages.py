"""The messages the core raises and the demos' handlers send at run time go through the string
table: with a fake table that prefixes every key with "XX ", a learner on a page in that language
gets the prefixed text, from gr.Error, progress and stats lines and the try-it checks (translated
by the page with t()). The core's messages are Messages: their template is translated, then
filled, so a value that looks like a template changes nothing."""

from __future__ import annotations

import ast
import string
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from conftest import drained

import qwenlab.errors
from qwenlab.events import Final
from qwenlab.web import i18n
from qwenlab.web.i18n import t
from qwenlab.web.shell.keys import message_keys
from qwenlab.web.ui import Learner, answer_stream, user_errors

pytestmark = pytest.mark.pure

LANG = "sw"
SW = Learner("session-1", LANG)


@pytest.fixture(autouse=True)
def fake_table(monkeypatch):
    fake = {key: "XX " + key for key in message_keys()}
    i18n._patterns.cache_clear()
    monkeypatch.setattr(i18n, "table", lambda lang: fake if lang == LANG else {})
    yield fake
    i18n._patterns.cache_clear()


def error_of(gen_or_call) -> str:
    with pytest.raises(gr.Error) as caught:
        result = gen_or_call()
        next(drained(result))  # a generator raises on its first step
    return caught.value.message


def test_the_demos_messages_are_in_the_table():
    keys = message_keys()
    for key in ("Pick at least one language.", "Reasoning",
                "{model} has no thinking mode; pick a Qwen3, Qwen3.5 or Thinking-2507 model",
                "Pick the *{sample}* sample under the upload box first.",
                "Tick at least one precision to compare.", "Type a message to inspect.",
                "The loss fell from {start} to {end} (three-step averages).",
                "Language is one of: {languages}"):
        assert key in keys, key
    assert not [key for key in keys if "{}" in key or "%s" in key]


def test_thinking_errors_and_panels_are_in_the_learners_language():
    from qwenlab.demos.thinking import _panel, chat, settings_used

    assert error_of(lambda: chat(None, [], "  ", "qwen3-0.6b", True, 0, 64, [], SW)) == \
        "XX Type a question first."
    message = error_of(lambda: settings_used([], "Hi", "qwen2.5-0.5b", True, 0, 64, LANG))
    assert message == ("XX qwen2.5-0.5b has no thinking mode; pick a Qwen3, Qwen3.5 or "
                       "Thinking-2507 model")
    assert "**XX Reasoning**" in _panel("hmm", "42", LANG) and "**XX Answer**" in _panel("", "42", LANG)
    assert _panel("hmm", "42") == "**Reasoning**\n\n> hmm\n\n**Answer**\n\n42"


def test_thinking_check_messages_translate_with_their_values():
    from qwenlab.demos.thinking import budget_cut_then_answered

    done, message = budget_cut_then_answered([], [])
    assert not done and t(message, LANG) == "XX " + message
    turn = {"budget": 64, "thinking": False, "enable_thinking": False, "finished": True}
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    done, message = budget_cut_then_answered(history, [turn])
    assert message == ("That turn ran without thinking (Thinking was unticked), so there was no "
                       "reasoning to cut.")
    # the pattern's value is a table key too: it is translated inside the sentence
    assert t(message, LANG) == ("XX That turn ran without thinking (XX Thinking was unticked), so "
                                "there was no reasoning to cut.")


def test_a_vision_check_and_its_stats_line_in_another_language():
    from qwenlab.demos.vision.tasks import budget_in_range, followed_up, stats_numbers

    done, message = budget_in_range(None, 64, 256, "qwen2-vl-2b", "receipt", 100, 400)
    assert not done and t(message, LANG) == "XX Pick the *receipt* sample under the upload box first."
    english = "4 tokens · first token 0.10 s · image 476×308 = 228 visual tokens of the 262-token prompt"
    translated = ("4 tokens · XX image 476×308 = 228 visual tokens of the 262-token prompt · "
                  "XX peak +0.01 GB over the weights while answering")
    assert stats_numbers(english) == stats_numbers(translated) == ("228", "262")
    assert followed_up(None, [], translated, "sales-chart")[0] is False


def test_vision_stats_line_and_preview_follow_the_page():
    from qwenlab.demos.vision import describe, stats_line

    final = SimpleNamespace(summary=lambda: "4 tokens", prompt_tokens=262)
    update = SimpleNamespace(final=final, peak_bytes=None)
    plan = SimpleNamespace(width=476, height=308, tokens=228)
    assert stats_line(update, plan) == "4 tokens · image 476×308 = 228 visual tokens of the 262-token prompt"
    assert stats_line(update, plan, LANG) == ("4 tokens · XX image 476×308 = 228 visual tokens of "
                                              "the 262-token prompt")
    assert describe(None, lang=LANG).startswith("XX Upload an image")


def test_multilingual_errors_and_on_load():
    from qwenlab.demos.multilingual import (
        DEFAULT_PICK,
        MAX_LANGUAGES,
        answer_all,
        on_load,
        runs_markdown,
    )

    assert error_of(lambda: answer_all(None, "Hi", [], learner=SW)) == "XX Pick at least one language."
    assert error_of(lambda: answer_all(None, "Hi", list(DEFAULT_PICK) + ["Hindi", "Arabic"],
                                       learner=SW)) == f"XX Pick at most {MAX_LANGUAGES} languages at a time."
    assert "XX Run 1: " in runs_markdown([{"English": 7}], LANG)
    for lang, first in (("sw", "Swahili"), ("pa", "Punjabi"), ("my", "Burmese"), ("en", "English")):
        picked = on_load(None, lang)["languages"]["value"]
        assert picked[0] == first and len(picked) == len(set(picked)) <= MAX_LANGUAGES
        assert set(DEFAULT_PICK) - {first} <= set(picked) or len(picked) == MAX_LANGUAGES
    assert on_load(None, "en")["languages"]["value"] == DEFAULT_PICK
    assert on_load(None, "xx")["languages"]["value"] == DEFAULT_PICK  # unknown: English


def test_edge_code_serve_and_finetune_messages():
    from qwenlab.demos.code import asked_for, stream
    from qwenlab.demos.edge.calculator import fit_verdict
    from qwenlab.demos.edge.lab import compare
    from qwenlab.demos.finetune import _finished_line
    from qwenlab.demos.finetune.checks import loss_fell
    from qwenlab.demos.serve import sanitise_vs_escape

    assert error_of(lambda: compare(None, "qwen2.5-0.5b", [], "Hi", learner=SW)) == \
        "XX Tick at least one precision to compare."
    assert error_of(lambda: stream(None, "Sort a list", "Cobol", learner=SW)).startswith(
        "XX Language is one of: Python")
    assert t(asked_for(None, "median", ["Python"])[1], LANG) == \
        "XX Fill in the request and press *Generate* first."
    verdict = fit_verdict("Qwen2.5-7B-Instruct", "bf16", "L4 GPU (24 GB)")[1]
    assert t(verdict, LANG) == "XX " + verdict
    assert "XX **Still dangerous after deleting**" in sanitise_vs_escape("<scr<script>ipt>", LANG)
    message = loss_fell({"steps": 3, "start": 2.0, "end": 1.0})[1]
    assert t(message, LANG) == "XX That run did 3 steps; train for at least 10."
    done = SimpleNamespace(stopped=False, first_loss=2.0, last_loss=1.5, steps_done=4, seconds=1.25)
    assert _finished_line(done, None, 10**9, LANG).startswith("XX **Training done**: 4 steps")
    assert _finished_line(done, None, 10**9).startswith("**Training done**: 4 steps in 1.2 s")


def test_the_serving_tables_are_in_the_learners_language(monkeypatch):
    from qwenlab.demos.serve import engines, line, on_load
    from qwenlab.pool import ModelPool

    pool = ModelPool(budget_bytes=10**9, device="cpu")
    stats = pool.stats()
    stats["models"] = [{"model": "qwen3-0.6b", "precision": "int4", "limit": 4, "active": 1,
                        "waiting": 2, "state": state} for state in ("loading", "ready", "private")]
    monkeypatch.setattr(pool, "stats", lambda: stats)
    monkeypatch.setenv("QWENLAB_REMOTE_MODELS", "qwen3-4b=http://gpu-box:8000/v1")
    text, table = line(pool, LANG)
    assert text.startswith("XX **Limits**") and list(table.columns) == [
        "XX model", "XX at once", "XX answering now", "XX waiting", "XX pool"]
    assert list(table["XX pool"])[:3] == ["XX loading", "XX ready",
                                          "XX private: one learner's own copy"]
    assert table.iloc[-1, 0] == "XX (fine-tuning)" and table.iloc[0, 0] == "qwen3-0.6b (int4)"
    served = on_load(pool, LANG)["engines"]["value"].set_index("XX model")
    assert list(served.columns) == ["XX served by", "XX where", "XX engine"]
    assert served.loc["qwen3-4b", "XX served by"] == "XX remote"
    assert served.loc["qwen3-4b", "XX where"] == "XX Qwen/Qwen3-4B at http://gpu-box:8000/v1"
    assert served.loc["qwen2.5-0.5b", "XX served by"] == "XX local pool"
    english = engines(pool).set_index("model").loc["qwen2.5-0.5b"]
    assert english["where"] in ("bf16 on cpu", "int4 on cpu")
    assert served.loc["qwen2.5-0.5b", "XX where"] == "XX " + english["where"]
    assert served.loc["qwen2.5-0.5b", "XX engine"] == english["engine"]  # a name, as it is


# -- the core's messages: templates translated, then filled ------------------------------------
CORE = Path(qwenlab.errors.__file__).parent
ERRORS = {name for name, value in vars(qwenlab.errors).items()
          if isinstance(value, type) and issubclass(value, qwenlab.errors.QwenLabError)}


def raised(call) -> gr.Error:
    """What a learner on the Swahili page sees when `call` raises a core error in a handler."""
    with pytest.raises(gr.Error) as caught, user_errors(LANG):
        call()
    return caught.value.message


def test_an_error_raised_in_the_core_reaches_the_learner_as_a_template():
    from qwenlab.admission import Rate
    from qwenlab.loading import load
    from qwenlab.registry import get_model

    rate = Rate(1, clock=lambda: 100.0)
    rate.check("learner")
    assert raised(lambda: rate.check("learner")) == (
        "XX You have asked 1 times in the last minute, the most this classroom allows. Try "
        "again in 60 s.")
    # a value that is itself a Message (why int4 cannot run here) is translated too
    message = raised(lambda: load(get_model("qwen3-0.6b"), "int4", "cuda"))
    assert message == ("XX int4 on cuda is unavailable: XX the int4 ONNX engine is this app's CPU "
                       "path; on a GPU use nf4 or bf16")
    with pytest.raises(gr.Error) as english, user_errors("en"):
        load(get_model("qwen3-0.6b"), "int4", "cuda")
    assert english.value.message == message.replace("XX ", "")


def test_progress_lines_and_the_error_of_a_load_in_the_learners_language(monkeypatch):
    from qwenlab.pool import ModelPool

    monkeypatch.setenv("QWENLAB_REMOTE_MODELS", "qwen2.5-0.5b=http://127.0.0.1:9/v1")
    pool = ModelPool(budget_bytes=int(1e9), device="cpu")
    updates = []
    with pytest.raises(gr.Error) as caught:
        for update in drained(answer_stream(pool, "qwen2.5-0.5b", [], learner=SW)):
            updates.append(update.loading)
    assert updates == ["⏳ XX Connecting to Qwen/Qwen2.5-0.5B-Instruct at http://127.0.0.1:9/v1"]
    assert caught.value.message.startswith(
        "XX Could not reach Qwen/Qwen2.5-0.5B-Instruct at http://127.0.0.1:9/v1 (")


def test_the_stats_line_is_one_template_with_numbers_and_names_as_values():
    final = Final(25, 12, 0, 0.31, 20.5, 1.0, "stop", model="qwen3-0.6b", precision="int4",
                  device="cpu", engine="onnxruntime-genai")
    english = ("12 tokens · first token 0.31 s · 20.5 tokens/s · prompt 25 · stop · qwen3-0.6b "
               "int4 on cpu (onnxruntime-genai)")
    assert final.summary() == english and t(final.summary(), "en") == english
    assert t(final.summary(), LANG) == "XX " + english
    assert t(replace(final, ttft_s=None).summary(), LANG) == (
        "XX 12 tokens · first token XX n/a · 20.5 tokens/s · prompt 25 · stop · qwen3-0.6b int4 "
        "on cpu (onnxruntime-genai)")


def test_a_value_that_looks_like_a_template_does_not_change_the_translation(monkeypatch):
    from qwenlab.config import device
    from qwenlab.quiz import Option, Question, mark
    from qwenlab.registry import get_model

    # braces in a value: neither filling nor translating reads them as placeholders
    monkeypatch.setenv("QWENLAB_DEVICE", "{device}}")
    assert raised(device) == "XX QWENLAB_DEVICE must be auto, cpu or cuda, not '{device}}'"
    # a value that is another message's English, braces and all: the template decides
    other = "Number {place} in line for {model}: it writes {count} answers at a time."
    message = raised(lambda: get_model(other))
    assert message.startswith(f"XX Unknown model {other!r}. Known models: qwen")
    question = Question("q1", "single", "Which?", (Option("A", True),), None, 0.0, (), "")
    assert raised(lambda: mark(question, "Score: {score} / {total}.")) == \
        "XX q1: not an option: ['Score: {score} / {total}.']"


def test_every_template_in_the_core_formats_with_named_values():
    core = message_keys([CORE])
    assert {"Unknown model {model}. Known models: {models}", "Connecting to {name} at {url}",
            "{model} is being loaded for another learner; waiting", "n/a"} <= core
    assert core <= message_keys()  # the translators' tool lists them
    for template in core:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
        assert all(field.isidentifier() for field in fields), template  # no {}, {0} or {a.b}
        assert template.format(**{field: "x" for field in fields}), template


def test_no_error_in_the_core_is_built_from_finished_text():
    """Every QwenLabError the core raises gets an N_() template (or a Message, or a constant
    holding one), never an f-string or a concatenation that t() could only match."""
    built = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node, "func", None) and (getattr(node.func, "id", None)
                                                     or getattr(node.func, "attr", None))
            if isinstance(node, ast.Call) and name in ERRORS | {"BuildError", "failed"} and node.args:
                if isinstance(node.args[0], (ast.JoinedStr, ast.BinOp, ast.Constant)):
                    built.append(f"{path.name}:{node.lineno}")
    assert not built
