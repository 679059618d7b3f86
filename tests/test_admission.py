"""Classroom limits as a learner meets them through the app's helpers, on tiny checkpoints:
their place in their model's line, then their answer; the per-learner rate; how many answers
each engine writes at once, per loaded model and precision. (The line's policy itself is
tested on a scripted engine in test_engines.py.)"""

import time

import pytest

from qwenlab import config
from qwenlab.engines.stream import iterate
from qwenlab.registry import Sampling
from qwenlab.web.ui import answer_stream

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.mark.model
def test_a_second_learner_sees_their_place_then_gets_their_answer(tiny_env, make_pool,
                                                                   monkeypatch):
    monkeypatch.setenv("QWENLAB_MAX_ACTIVE_PER_MODEL", "1")
    pool = make_pool()
    long = {"max_new_tokens": 8000, "sampling": Sampling(do_sample=False)}  # ~30 s on a tiny model
    first = iterate(answer_stream(pool, "qwen3-0.6b", HELLO, learner="a", **long))
    while not next(first).answer:  # the first learner's answer is being written
        pass
    second = iterate(answer_stream(pool, "qwen3-0.6b", HELLO, max_new_tokens=4, learner="b"))
    waiting = next(second)
    assert "Number 1 in line for qwen3-0.6b: it writes 1 answers at a time" in waiting.loading
    first.close()  # the first learner leaves: the second is answered
    updates = list(second)
    assert updates[-1].final is not None and updates[-1].final.new_tokens == 4
    # the first answer's row leaves the engine at its driver's next step, which on a busy
    # machine may come after the second answer is done
    deadline = time.monotonic() + 30
    while (model := pool.stats()["models"][0])["active"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (model["active"], model["waiting"], model["leases"]) == (0, 0, 0)


@pytest.mark.model
def test_a_learner_over_the_rate_gets_a_clear_error(tiny_env, make_pool, monkeypatch):
    import gradio as gr

    monkeypatch.setenv("QWENLAB_REQUESTS_PER_MINUTE", "1")
    pool = make_pool()
    list(iterate(answer_stream(pool, "qwen3-0.6b", HELLO, max_new_tokens=2, learner="a")))
    with pytest.raises(gr.Error, match="asked 1 times in the last minute"):
        list(iterate(answer_stream(pool, "qwen3-0.6b", HELLO, max_new_tokens=2, learner="a")))
    list(iterate(answer_stream(pool, "qwen3-0.6b", HELLO, max_new_tokens=2, learner="b")))


@pytest.mark.model
def test_each_loaded_precision_keeps_its_own_limit(tiny_env, make_pool, monkeypatch):
    """A class on int4 (32 at once) and the edge lab's bf16 copy of the same model (2 at once,
    two generate() calls on two cores) do not share one count."""
    monkeypatch.setenv("QWENLAB_CPU_ENGINE", "auto")
    pool = make_pool()
    with pool.lease("qwen2.5-0.5b", "int4") as int4, pool.lease("qwen2.5-0.5b", "bf16") as bf16:
        assert (int4.engine.at_once, bf16.engine.at_once) == (32, 2)
        limits = {m["precision"]: m["limit"] for m in pool.stats()["models"]}
        assert limits == {"int4": 32, "bf16": 2}
    pool.evict_idle()
    with pool.lease("qwen2.5-0.5b", "bf16") as bf16:  # evicting the int4 copy changes nothing
        assert bf16.engine.at_once == 2


@pytest.mark.pure
@pytest.mark.parametrize("device,batching,expected", [
    ("cuda", "auto", 16), ("cpu", "auto", 2), ("cpu", "on", 16), ("cuda", "off", 2)])
def test_more_answers_at_once_where_they_are_batched(monkeypatch, device, batching, expected):
    monkeypatch.delenv("QWENLAB_MAX_ACTIVE_PER_MODEL", raising=False)
    monkeypatch.setenv("QWENLAB_BATCHING", batching)
    assert config.max_active_per_model(device) == expected
    assert config.max_active_per_model("cpu", batched=True) == 32  # two int4 groups of sixteen
    monkeypatch.setenv("QWENLAB_MAX_ACTIVE_PER_MODEL", "5")  # the operator's word wins
    assert config.max_active_per_model(device) == 5


@pytest.mark.model
def test_streamed_updates_thin_out_as_the_class_grows(tiny_env, make_pool, monkeypatch):
    """One learner sees the answer grow every 80 ms; with many answers at once the server
    sends about UI_UPDATES_PER_S updates in all, so serving them leaves the cores to the model;
    the pace follows what the learner's own engine is writing."""
    from qwenlab.web.ui import UI_INTERVAL_S, UI_UPDATES_PER_S, ui_interval

    assert ui_interval(0) == ui_interval(1) == UI_INTERVAL_S
    for answers in (16, 32):
        assert answers / ui_interval(answers) <= UI_UPDATES_PER_S
    pool = make_pool()
    with pool.lease("qwen3-0.6b") as loaded:  # the pace is read from the learner's own engine
        seen = [loaded.engine.stats()["active"] for update in
                iterate(answer_stream(pool, "qwen3-0.6b", HELLO, max_new_tokens=50))]
    assert max(seen) == 1  # while it is written; 0 again once it ends
