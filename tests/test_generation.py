"""Streaming chat on tiny random-weight checkpoints of every registry architecture."""

import threading
import time

import pytest
from PIL import Image

from qwenlab.errors import ConfigError, PromptTooLong
from qwenlab.events import Final, TextDelta, collect
from qwenlab.generation import stream_chat
from qwenlab.prompts import build_inputs, prepare_messages
from qwenlab.registry import MODELS

pytestmark = pytest.mark.model

HELLO = [{"role": "user", "content": "Hello! What can you do?"}]


def generate_threads():
    """The plain engine's generate() workers (engines/threaded.py)."""
    return [t for t in threading.enumerate() if t.name.endswith("-worker")]


CHAT_MODELS = [key for key, spec in MODELS.items() if "chat" in spec.capabilities]
TODAY = [key for key in CHAT_MODELS if MODELS[key].released >= "2025-07"]


@pytest.mark.parametrize("key", CHAT_MODELS)
def test_every_registry_model_loads_and_streams(pool, key):
    with pool.lease(key) as loaded:
        events = list(stream_chat(loaded, HELLO, max_new_tokens=6, thinking=True))
    final = events[-1]
    assert isinstance(final, Final) and sum(isinstance(e, Final) for e in events) == 1
    assert final.model == key and final.precision == "bf16" and final.device == "cpu"
    assert 10 < final.prompt_tokens < 60
    assert 1 <= final.new_tokens <= 6
    assert final.finish_reason in {"stop", "length"}
    assert final.finish_reason == "length" or final.new_tokens < 6
    assert 0 < final.ttft_s <= final.total_s
    assert final.new_tokens == 1 or final.tokens_per_s > 0


def test_vision_model_streams_about_an_image(pool):
    image = Image.new("RGB", (320, 240), (30, 120, 200))
    messages = [{"role": "user", "content": [{"type": "image", "image": image},
                                             {"type": "text", "text": "What colour is this?"}]}]
    with pool.lease("qwen2-vl-2b") as loaded:
        inputs = build_inputs(loaded, prepare_messages(messages, vision=True), None)
        assert "pixel_values" in inputs
        image_tokens = int((inputs["input_ids"] == 151655).sum())
        thinking, answer, final = collect(stream_chat(loaded, messages, max_new_tokens=4))
    # 320x240 resized to 28-multiples and merged 2x2: one token per 28x28 patch
    assert image_tokens >= 256  # the processor's min_pixels budget of 256 visual tokens
    assert final.prompt_tokens > image_tokens and final.new_tokens >= 1


def test_qwen3_template_switches_thinking(pool):
    with pool.lease("qwen3-0.6b") as loaded:
        off = loaded.tokenizer.decode(build_inputs(loaded, HELLO, thinking=False)["input_ids"][0])
        on = loaded.tokenizer.decode(build_inputs(loaded, HELLO, thinking=True)["input_ids"][0])
    assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert on.endswith("<|im_start|>assistant\n")


def test_earlier_reasoning_is_not_sent_back(pool):
    history = [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "Adding them", "metadata": {"title": "Thinking"}},
        {"role": "assistant", "content": [{"type": "text", "text": "<think>secret plan</think>\n\n4"}]},
        {"role": "user", "content": [{"type": "text", "text": "And 3+3? /no_think"}]},
    ]
    with pool.lease("qwen3-0.6b") as loaded:
        prompt = loaded.tokenizer.decode(
            build_inputs(loaded, prepare_messages(history, vision=False), True)["input_ids"][0])
    assert "secret plan" not in prompt and "Adding them" not in prompt
    assert "<|im_start|>assistant\n4<|im_end|>" in prompt and "And 3+3? /no_think" in prompt


def test_over_long_prompt_is_refused_with_the_limit(pool):
    long_text = "word " * 5000  # Qwen2.5-Math reads 4,096 tokens at most
    with pool.lease("qwen2.5-math-1.5b") as loaded:
        with pytest.raises(PromptTooLong, match="4,096"):
            next(stream_chat(loaded, [{"role": "user", "content": long_text}]))


def test_answer_is_capped_by_the_room_left_in_the_context(pool):
    text = "word " * 4060
    with pool.lease("qwen2.5-math-1.5b") as loaded:
        *_, final = stream_chat(loaded, [{"role": "user", "content": text}], max_new_tokens=500)
    assert final.prompt_tokens + final.new_tokens <= 4096
    assert final.finish_reason in {"length", "stop"}


def test_the_hosts_cap_bounds_every_answer_and_a_bad_cap_is_named(pool, monkeypatch):
    hi = [{"role": "user", "content": "hi"}]
    with pool.lease("qwen3-0.6b") as loaded:
        monkeypatch.setenv("QWENLAB_MAX_NEW_TOKENS", "6")
        *_, capped = stream_chat(loaded, hi, max_new_tokens=200)
        *_, smaller = stream_chat(loaded, hi, max_new_tokens=3)  # a smaller ask still wins
        monkeypatch.setenv("QWENLAB_MAX_NEW_TOKENS", "many")
        with pytest.raises(ConfigError, match="QWENLAB_MAX_NEW_TOKENS"):
            next(stream_chat(loaded, hi, max_new_tokens=20))
    assert capped.new_tokens <= 6 and capped.finish_reason in {"length", "stop"}
    assert smaller.new_tokens <= 3


def test_stop_ends_the_generation_thread(pool):
    cancel = threading.Event()
    with pool.lease("qwen2.5-0.5b") as loaded:
        events = []
        for event in stream_chat(loaded, HELLO, max_new_tokens=400, cancel=cancel):
            events.append(event)
            if len(events) == 3:
                cancel.set()
    final = events[-1]
    assert final.finish_reason == "cancelled" and final.new_tokens < 400
    deadline = time.monotonic() + 10  # the worker ends at its next token
    while generate_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not generate_threads()


def test_a_consumer_that_walks_away_ends_the_generation_thread(pool):
    with pool.lease("qwen2.5-0.5b") as loaded:
        stream = stream_chat(loaded, HELLO, max_new_tokens=400)
        next(e for e in stream if isinstance(e, TextDelta))
        assert generate_threads()
        stream.close()  # what Gradio does when a learner closes the tab
        deadline = time.monotonic() + 10
        while generate_threads() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not generate_threads()


def test_greedy_with_thinking_is_refused(pool):
    from qwenlab.registry import Sampling

    with pool.lease("qwen3-0.6b") as loaded:
        with pytest.raises(ValueError, match="loop"):
            next(stream_chat(loaded, HELLO, thinking=True, sampling=Sampling(do_sample=False)))


def _precisions(key):
    from qwenlab.loading import precision_problem
    from qwenlab.registry import PRECISIONS

    return [p for p in PRECISIONS if p != "fp16" and not precision_problem(p, "cpu", MODELS[key])]


@pytest.mark.parametrize("key,precision", [(key, p) for key in TODAY for p in _precisions(key)])
def test_todays_models_at_every_precision_stream_stop_and_go(tiny_env, make_pool, monkeypatch,
                                                              key, precision):
    """Qwen3-2507, Qwen3-VL and Qwen3.5 through the pool at each precision a CPU offers (int4:
    the text part, converted by the real builder): they answer, Stop ends an answer, and once
    evicted the pool and the engine hold nothing of theirs (test_pool checks that the memory
    goes back)."""
    monkeypatch.setenv("QWENLAB_CPU_ENGINE", "auto")
    pool = make_pool()
    cancel = threading.Event()
    with pool.lease(key, precision) as loaded:
        engine = loaded.engine
        *_, final = stream_chat(loaded, HELLO, max_new_tokens=4, thinking=False)
        events = []
        for event in stream_chat(loaded, HELLO, max_new_tokens=200, thinking=False,
                                 cancel=cancel):
            events.append(event)
            if len(events) == 2:
                cancel.set()
    assert (final.precision, final.new_tokens) == (precision, 4)
    assert events[-1].finish_reason == "cancelled" and events[-1].new_tokens < 200
    assert pool.evict_idle() == 1 and pool.stats()["models"] == []
    assert engine.model is None and not engine.driver._thread.is_alive()
    assert not [t for t in threading.enumerate() if t.name.startswith(f"{key} (")]


@pytest.mark.parametrize("key", [k for k, s in MODELS.items() if "chat" not in s.capabilities])
def test_retrieval_models_load_as_their_cards_say_and_refuse_to_chat(pool, key):
    from qwenlab.errors import BadRequest
    from qwenlab.scoring import embed, query_text, rerank

    with pool.lease(key) as loaded:
        assert loaded.tokenizer.padding_side == "left"
        with pytest.raises(BadRequest, match="does not chat"):
            list(stream_chat(loaded, HELLO))
        if key.startswith("qwen3-embedding"):
            vectors = embed(loaded, [query_text("What is int4?"), "Four bits a weight.", "A cat."])
            assert vectors.shape[0] == 3
            assert [round(float(n), 4) for n in vectors.norm(dim=1)] == [1.0, 1.0, 1.0]
        else:
            scores = rerank(loaded, "What is int4?", ["Four bits a weight.", "A cat sat."])
            assert len(scores) == 2 and all(0 < s < 1 for s in scores)
            assert loaded.tokenizer.convert_tokens_to_ids(["yes", "no"]) == [9693, 2152]
