"""Past one machine: registry keys served by a real `transformers serve` process (started here
on the tiny checkpoints) through the pool, with the same events, Stop, and clear errors."""

from pathlib import Path

import pytest
from fake_openai import fake_openai

from qwenlab.errors import LoadError
from qwenlab.events import Final, TextDelta, collect
from qwenlab.generation import stream_chat

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def remote_env(tiny_env, serve_url, monkeypatch):
    monkeypatch.setenv("QWENLAB_REMOTE_MODELS", " ".join(
        f"{key}={serve_url}#{tiny_env / key}" for key in ("qwen2.5-0.5b", "qwen3-0.6b")))
    return serve_url


def test_a_remote_key_streams_through_the_pool_without_local_weights(remote_env, make_pool):
    pool = make_pool(1)
    with pool.lease("qwen2.5-0.5b") as loaded:
        assert loaded.precision == "remote" and loaded.nbytes == 0
        events = list(stream_chat(loaded, [{"role": "user", "content": "Say hello."}],
                                  max_new_tokens=8))
    final = events[-1]
    assert isinstance(final, Final) and final.engine == "remote" and final.device == remote_env
    assert final.prompt_tokens > 5 and 1 <= final.new_tokens <= 9
    assert final.ttft_s > 0 and any(isinstance(e, TextDelta) for e in events)
    stats = pool.stats()  # no weights here: only the tokenizer, counted like any other
    assert stats["models"][0]["charge"] == 0 and stats["models"][0]["precision"] == "remote"
    # asking for a local precision by name still loads locally
    with pool.lease("qwen2.5-0.5b", "bf16") as local:
        assert local.precision == "bf16" and local.nbytes > 0


def test_stop_closes_a_remote_stream_and_thinking_models_work(remote_env, stop_midway, make_pool):
    pool = make_pool(1)
    with pool.lease("qwen3-0.6b") as loaded:
        event = stop_midway(loaded, "Count to 50.", after=2, max_new_tokens=200)
    assert isinstance(event, Final) and event.finish_reason == "cancelled"
    assert event.new_tokens < 200


def test_an_unreachable_remote_engine_is_a_clear_error(tiny_env, monkeypatch, make_pool):
    monkeypatch.setenv("QWENLAB_REMOTE_MODELS", "qwen2.5-0.5b=http://127.0.0.1:9/v1")
    pool = make_pool(1)
    with pytest.raises(LoadError, match="Could not reach .*127.0.0.1:9.*QWENLAB_REMOTE_MODELS"):
        pool.acquire("qwen2.5-0.5b")
    monkeypatch.setenv("QWENLAB_REMOTE_MODELS", "qwen2.5-0.5b:8000")
    with pytest.raises(ValueError, match="key=http://host:port/v1"):
        pool.acquire("qwen2.5-0.5b")


def test_cli_chat_through_a_remote_engine(remote_env, qwenlab_cli):
    result = qwenlab_cli("chat", "qwen2.5-0.5b", "Hi", "--max-new-tokens", "5", timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"qwen2.5-0.5b remote on {remote_env} (remote)" in result.stdout


@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
def test_reasoning_split_off_by_the_server_reaches_the_learner(tiny_env, monkeypatch, make_pool,
                                                              field):
    """vLLM with a reasoning parser sends reasoning apart from the answer, as `reasoning`
    (current vLLM) or `reasoning_content` (before PR #33402): both must show as reasoning."""
    deltas = [{"role": "assistant", "content": ""}, {field: "The user wants 2+2. "},
              {field: "That is 4."}, {"content": "It is "}, {"content": "4."}]
    with fake_openai(deltas) as (url, received):
        monkeypatch.setenv("QWENLAB_REMOTE_MODELS", f"qwen3-0.6b={url}")
        with make_pool(1).lease("qwen3-0.6b") as loaded:
            thinking, answer, final = collect(stream_chat(
                loaded, [{"role": "user", "content": "What is 2+2?"}], thinking=True,
                max_new_tokens=64))
    assert thinking == "The user wants 2+2. That is 4." and answer == "It is 4."
    assert received[0]["chat_template_kwargs"] == {"enable_thinking": True}
    tokens = len(loaded.tokenizer.encode(thinking)), len(loaded.tokenizer.encode(answer))
    assert (final.thinking_tokens, final.new_tokens) == (tokens[0], sum(tokens))
    assert final.engine == "remote" and final.finish_reason == "stop"


def test_reasoning_in_the_content_is_split_here_when_the_server_does_not(tiny_env, monkeypatch,
                                                                           make_pool):
    """A server without a reasoning parser (transformers serve, Ollama's raw mode) sends the
    tags in the content; a Thinking-2507-style template sends only the closing one."""
    deltas = [{"content": "Adding two and two"}, {"content": "</th"}, {"content": "ink>\n\nFour."}]
    with fake_openai(deltas) as (url, _):
        monkeypatch.setenv("QWENLAB_REMOTE_MODELS", f"qwen3-0.6b={url}")
        with make_pool(1).lease("qwen3-0.6b") as loaded:
            thinking, answer, _ = collect(stream_chat(
                loaded, [{"role": "user", "content": "2+2?"}], thinking=True, max_new_tokens=64))
    assert (thinking, answer) == ("Adding two and two", "Four.")


def test_the_servers_own_count_and_reason_are_what_the_learner_sees(tiny_env, monkeypatch,
                                                                    make_pool):
    """A server that reports `usage` (asked with stream_options.include_usage, as vLLM and
    Ollama do) is believed: its count and its finish reason, not the text re-tokenized here.
    One that does not gets the estimate, never above the limit it was given."""
    deltas = [{"content": "Paris is "}, {"content": "the capital."}]
    with fake_openai(deltas, usage={"prompt_tokens": 12, "completion_tokens": 7,
                                    "total_tokens": 19}, finish_reason="length") as (url, received):
        monkeypatch.setenv("QWENLAB_REMOTE_MODELS", f"qwen2.5-0.5b={url}")
        with make_pool(1).lease("qwen2.5-0.5b") as loaded:
            _, answer, final = collect(stream_chat(
                loaded, [{"role": "user", "content": "Capital of France?"}], max_new_tokens=7))
    assert received[0]["stream_options"] == {"include_usage": True}
    assert answer == "Paris is the capital."
    assert len(loaded.tokenizer.encode(answer)) != 7  # so the 7 below is the server's
    assert (final.new_tokens, final.finish_reason) == (7, "length")
    with fake_openai(deltas) as (url, _):  # no usage sent
        monkeypatch.setenv("QWENLAB_REMOTE_MODELS", f"qwen2.5-0.5b={url}")
        with make_pool(1).lease("qwen2.5-0.5b") as loaded:
            _, _, final = collect(stream_chat(
                loaded, [{"role": "user", "content": "Capital of France?"}], max_new_tokens=64))
    assert final.new_tokens == len(loaded.tokenizer.encode(answer)) and final.finish_reason == "stop"
