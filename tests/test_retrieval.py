"""Retrieval over the course: passages cut at headings, an index built once in the background
with progress, kept on disk, rebuilt when a lesson changes, never served half-built, resumed
after an interruption; search and rerank on the tiny Qwen3-Embedding and Qwen3-Reranker
checkpoints; the demo's answer cites passages as links that open their lesson."""

import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import drained

from qwenlab import retrieval
from qwenlab.lessons import load_lessons
from qwenlab.retrieval import Builds, Passage, index_dir, load, passages

pytestmark = pytest.mark.model


@pytest.fixture(autouse=True)
def own_cache(tiny_env, tmp_path, monkeypatch):
    """Each test its own cache folder: an index from another test is never read back."""
    monkeypatch.setenv("QWENLAB_CACHE_DIR", str(tmp_path / "cache"))


def test_passages_are_cut_at_headings_and_leave_quizzes_and_tasks_out():
    found = passages(load_lessons("en"))
    assert len({p.lesson for p in found}) == len(load_lessons("en"))
    assert all(0 < len(p.text) <= retrieval.CHUNK_CHARS for p in found)
    assert not any("```quiz" in p.text or "```task" in p.text or "correct: true" in p.text
                   for p in found)
    assert all("{#" not in p.section for p in found)


def wait(builds, lang, timeout=300):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = builds.get(lang)
        seen.append((state.fraction, state.message))
        if state.index is not None or state.error:
            return state, seen
        time.sleep(0.05)
    raise AssertionError(f"no index after {timeout} s: {seen[-3:]}")


def few(lessons):
    """Two lessons only: the tests' index builds in seconds."""
    return lessons[:2]


def test_an_index_is_built_once_with_progress_and_read_back_from_disk(make_pool):
    pool = make_pool(4)
    builds = Builds(pool, lambda lang: few(load_lessons(lang)))
    state, seen = wait(builds, "sw")
    assert state.error == "" and state.index.vectors.shape[0] == len(state.index.passages)
    assert np.allclose(np.linalg.norm(state.index.vectors, axis=1), 1.0, atol=1e-3)
    assert any(0 < fraction < 1 or "passages embedded" in message for fraction, message in seen)
    found = passages(few(load_lessons("sw")))
    folder = index_dir("sw", retrieval.EMBEDDER, found)
    assert (folder / "vectors.npy").is_file() and not folder.with_name(
        folder.name + ".partial").exists()
    again = Builds(pool, lambda lang: few(load_lessons(lang))).get("sw")  # a restarted app
    assert again.index is not None and again.thread is None  # read back, not rebuilt


def test_a_changed_lesson_gets_a_new_index(tmp_path, tiny_env):
    lessons = few(load_lessons("en"))
    copy = tmp_path / Path(lessons[0].path).name
    shutil.copy(lessons[0].path, copy)
    before = index_dir("en", retrieval.EMBEDDER, passages([replace(lessons[0], path=copy)]))
    copy.write_text(copy.read_text() + "\n\n## A new section\n\nNew text.\n")
    after = index_dir("en", retrieval.EMBEDDER, passages([replace(lessons[0], path=copy)]))
    assert before != after


def test_a_half_built_index_is_never_served_and_a_restart_resumes_it(make_pool, monkeypatch):
    pool = make_pool(4)
    found = passages(few(load_lessons("en")))
    folder = index_dir("en", retrieval.EMBEDDER, found)
    calls = []
    real = retrieval.scoring.embed

    def dies_after_two(loaded, texts, **kwargs):
        calls.append(len(texts))
        if len(calls) > 2:
            raise RuntimeError("power cut")
        return real(loaded, texts, **kwargs)

    monkeypatch.setattr(retrieval.scoring, "embed", dies_after_two)
    builds = Builds(pool, lambda lang: few(load_lessons(lang)))
    state, _ = wait(builds, "en")
    assert "power cut" in state.error and state.index is None
    assert load(folder, found, retrieval.EMBEDDER) is None  # nothing half-built is read
    assert len(list(folder.with_name(folder.name + ".partial").glob("0*.npy"))) == 2
    monkeypatch.setattr(retrieval.scoring, "embed", lambda *a, **k: (calls.append(0), real(*a, **k))[1])
    calls.clear()
    state, _ = wait(builds, "en")  # asked again: the build starts over from what is there
    batches = -(-len(found) // retrieval.BATCH)
    assert state.index is not None and len(calls) == batches - 2


def test_search_finds_the_passage_a_question_copies_and_rerank_scores_probabilities(make_pool):
    pool = make_pool(4)
    builds = Builds(pool, lambda lang: few(load_lessons(lang)))
    state, _ = wait(builds, "en")
    target = state.index.passages[3]
    first = retrieval.search(pool, state.index, target.text, k=4)
    assert len(first) == 4 and first[0][0] >= first[-1][0]
    second = retrieval.rerank(pool, "a question", first)
    assert sorted(p.text for _, p in second) == sorted(p.text for _, p in first)
    assert all(0.0 <= score <= 1.0 for score, _ in second)
    assert [s for s, _ in second] == sorted((s for s, _ in second), reverse=True)


def test_citations_become_links_to_their_lessons():
    from qwenlab.demos.retrieval import cited

    passages_ = [Passage("thinking", "Thinking mode", "Two modes", "..."),
                 Passage("vision", "Vision", "Budgets", "...")]
    text = cited("Turn it off [1]; see also [2] and [7].", passages_, "sw")
    assert '[[1]](?lang=sw&lesson=thinking "Thinking mode: Two modes")' in text
    assert "(?lang=sw&lesson=vision" in text and "[7]" in text  # no passage 7: left as written


def test_the_demo_shows_progress_then_both_tables_then_a_cited_answer(make_pool, monkeypatch):
    import qwenlab.demos.retrieval as demo

    pool = make_pool(4)
    monkeypatch.setattr(demo, "load_lessons", lambda lang: few(load_lessons(lang)))
    monkeypatch.setattr(demo, "_BUILDS", demo.weakref.WeakKeyDictionary())
    shown = list(drained(demo.run_answer(pool, max_new_tokens="8")))
    assert shown[0].startswith("⏳ Indexing the course in English")
    last = shown[-1]
    assert "| # | cosine |" in last and "**After reranking**" in last and "| # | P(yes) |" in last
    assert re.search(r"\(\?lang=en&lesson=\w+\)", last) and "tokens" in last


def test_empty_and_huge_questions_are_clear_errors(tiny_env):
    import gradio as gr

    import qwenlab.demos.retrieval as demo

    with pytest.raises(gr.Error, match="Type a question"):
        list(drained(demo.run_search(None, question="   ")))
    with pytest.raises(gr.Error, match="keep it under"):
        list(drained(demo.run_search(None, question="x" * 200_000)))


@pytest.mark.app
def test_retrieval_search_and_answer_are_apis(client):
    job = client.submit("What is a visual token?", True, 4, api_name="/retrieval_search")
    found = job.result(timeout=600)
    assert "| # | cosine |" in found and "lesson=" in found
    shown, answer = client.predict("What is a visual token?", True, 4, "qwen3.5-0.8b", 32,
                                   api_name="/retrieval_answer")
    assert "**After reranking**" in shown and "tokens" in answer
