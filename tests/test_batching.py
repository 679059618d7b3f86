"""Continuous batching (transformers' ContinuousBatchingManager) behind the same engine
contract: concurrent learners each get their own stream, one can stop without disturbing the
others, greedy answers match plain generate, and eviction stops the batcher."""

import threading

import pytest

from qwenlab.engines.plain import TransformersEngine
from qwenlab.events import Final
from qwenlab.generation import stream_chat
from qwenlab.registry import Sampling

pytestmark = pytest.mark.model
GREEDY = Sampling(do_sample=False)


@pytest.fixture
def batching_env(tiny_env, monkeypatch):
    monkeypatch.setenv("QWENLAB_BATCHING", "on")
    return tiny_env


def _answer(loaded, text, **options):
    events = list(stream_chat(loaded, [{"role": "user", "content": text}], **options))
    return "".join(getattr(e, "text", "") for e in events[:-1]), events[-1]


def test_concurrent_streams_are_batched_and_stop_independently(batching_env, pool):
    results, cancel = {}, threading.Event()

    def learner(name, **options):
        seen = 0
        for event in stream_chat(loaded, [{"role": "user", "content": f"Hello from {name}"}],
                                 **options):
            seen += 1
            if name == "leaves" and seen == 2:
                cancel.set()
        results[name] = event

    with pool.lease("qwen2.5-0.5b", "bf16") as loaded:
        threads = [threading.Thread(target=learner, args=("greedy",),
                                    kwargs={"sampling": GREEDY, "max_new_tokens": 6}),
                   threading.Thread(target=learner, args=("sampled",),
                                    kwargs={"max_new_tokens": 8}),
                   threading.Thread(target=learner, args=("leaves",),
                                    kwargs={"max_new_tokens": 40, "cancel": cancel})]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
    assert {name: e.engine for name, e in results.items()} == dict.fromkeys(
        ["greedy", "sampled", "leaves"], "transformers-cb")
    assert (results["greedy"].new_tokens, results["greedy"].finish_reason) == (6, "length")
    assert (results["sampled"].new_tokens, results["sampled"].finish_reason) == (8, "length")
    assert results["leaves"].finish_reason == "cancelled" and results["leaves"].new_tokens < 40


def test_greedy_through_the_batcher_matches_plain_generate(batching_env, pool):
    with pool.lease("qwen3-0.6b", "fp32") as loaded:
        batched, final = _answer(loaded, "Name a colour.", thinking=False, sampling=GREEDY,
                                 max_new_tokens=8)
        plain_engine = TransformersEngine(loaded.model, "plain", 1, 4)
        plain, _ = _answer(loaded, "Name a colour.", thinking=False, sampling=GREEDY,
                           max_new_tokens=8, engine=plain_engine)
        plain_engine.close()
    assert isinstance(final, Final) and final.engine == "transformers-cb"
    assert batched == plain


def test_eviction_stops_the_batcher(batching_env, pool):
    with pool.lease("qwen2.5-0.5b", "bf16") as loaded:
        _answer(loaded, "Hi", sampling=GREEDY, max_new_tokens=2)
        manager = loaded.engine.driver.batch.manager
        assert manager.is_running()
        driver = loaded.engine.driver._thread
    pool.evict_idle()
    assert not manager.is_running() and not driver.is_alive()


def test_batching_is_off_on_a_cpu_by_default(tiny_env, pool, monkeypatch):
    monkeypatch.delenv("QWENLAB_BATCHING", raising=False)
    with pool.lease("qwen2.5-0.5b", "bf16") as loaded:
        _, final = _answer(loaded, "Hi", sampling=GREEDY, max_new_tokens=2)
    assert final.engine == "transformers"


def test_the_pool_charges_the_cache_the_batcher_holds(batching_env, pool):
    from qwenlab import config
    from qwenlab.engines import batching

    with pool.lease("qwen2.5-0.5b", "bf16") as loaded:
        answers = loaded.engine.at_once
        reserved = batching.cache_bytes(loaded.model, answers)
        [entry] = pool.stats()["models"]
        assert entry["charge"] == int(loaded.nbytes * (1 + config.HEADROOM)) + reserved
        _answer(loaded, "Hi", sampling=GREEDY, max_new_tokens=2)
        cache = loaded.engine.driver.batch.manager.batch_processor.cache
    # transformers sized its paged cache from our plan, not from the free memory
    assert cache.num_sectors * cache.tokens_per_sector == batching.cache_tokens(answers)
    assert cache.num_sectors * cache.bytes_per_sector == reserved
    assert batching.cache_tokens(answers) == answers * batching.TOKENS_PER_ANSWER


def test_an_answer_longer_than_the_cache_is_served_by_plain_generate(batching_env, monkeypatch, make_pool):
    from qwenlab.engines import batching

    monkeypatch.setenv("QWENLAB_MAX_ACTIVE_PER_MODEL", "1")
    pool = make_pool(4)
    with pool.lease("qwen2.5-0.5b", "bf16") as loaded:
        assert batching.cache_tokens(loaded.engine.at_once) == batching.TOKENS_PER_ANSWER
        _, long = _answer(loaded, "word " * batching.TOKENS_PER_ANSWER, sampling=GREEDY,
                          max_new_tokens=3)
        _, short = _answer(loaded, "Hi", sampling=GREEDY, max_new_tokens=3)
    pool.evict_idle()
    assert long.prompt_tokens > batching.TOKENS_PER_ANSWER
    assert (long.engine, long.new_tokens) == ("transformers", 3)
    assert (short.engine, short.new_tokens) == ("transformers-cb", 3)
