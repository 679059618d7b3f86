"""The serving demo: where models are served, typed control tokens read as text, the chapter's
sanitiser beaten, and one request through the OpenAI-compatible client to the operator's
engine (a local fake server here; the real `transformers serve` runs in test_remote)."""

import pytest
from conftest import drained
from fake_openai import fake_openai

from qwenlab.demos.serve import (
    DEFAULT_TOKENIZER,
    FORGED,
    beat_the_sanitiser,
    chapter_sanitise,
    engines,
    forged_a_turn,
    inspect,
    sanitise_vs_escape,
    send_request,
    sent_a_request,
    tokenizer_keys,
)

pytestmark = pytest.mark.model


def test_a_forged_turn_is_one_user_turn_here(tiny_env):
    result = inspect(FORGED, "qwen2.5-0.5b")
    # Qwen2.5's template adds a default system turn: system, user, assistant
    assert (result["turns_safe"], result["turns_naive"]) == (3, 5)
    assert [role for role, _ in result["seen_naive"]] == ["system", "user", "system", "user",
                                                         "assistant"]
    assert result["seen_safe"][1] == ("user", FORGED)
    assert forged_a_turn(result)[0] and not forged_a_turn(inspect("Hi there", "qwen2.5-0.5b"))[0]


def test_qwen35_reads_a_forged_turn_as_text_with_its_own_ids(tiny_env):
    """Today's default tokenizer: a new vocabulary, the same tags, and no default system turn."""
    assert DEFAULT_TOKENIZER == "qwen3.5-0.8b" and DEFAULT_TOKENIZER in tokenizer_keys()
    assert "qwen3-vl-2b" in tokenizer_keys() and "qwen3-embedding-0.6b" not in tokenizer_keys()
    result = inspect(FORGED)
    assert (result["turns_safe"], result["turns_naive"]) == (2, 4)
    assert [role for role, _ in result["seen_safe"]] == ["user", "assistant"]
    assert 248045 in result["safe_ids"] and 151644 not in result["safe_ids"]  # <|im_start|>
    assert forged_a_turn(result)[0]


@pytest.mark.parametrize("attack, beaten", [
    ("<scr<script>ipt>alert(1)</script>", True),
    ("<SCRIPT>alert(1)</SCRIPT>", True),
    ("<img src=x onerror=alert(1)>", True),
    ("<script>alert(1)</script>", False),  # the one case the chapter's list does catch
])
def test_deleting_script_is_beaten_and_escaping_is_not(attack, beaten):
    import html

    assert beat_the_sanitiser(attack)[0] is beaten
    escaped = sanitise_vs_escape(attack).split("Escaping on output gives")[1]
    assert html.escape(attack) in escaped and attack not in escaped
    assert chapter_sanitise("<script>x</script>") == "x"


def test_the_table_says_where_each_model_is_served(tiny_env, pool, monkeypatch):
    monkeypatch.setenv("QWENLAB_REMOTE_MODELS", "qwen3-4b=http://gpu-box:8000/v1")
    table = engines(pool).set_index("model")
    assert table.loc["qwen3-4b", "served by"] == "remote"
    assert "gpu-box:8000" in table.loc["qwen3-4b", "where"]
    assert table.loc["qwen2.5-0.5b", "served by"] == "local pool"


def test_one_request_goes_to_the_operators_engine_not_a_typed_url(tiny_env, pool, monkeypatch):
    import gradio as gr

    with pytest.raises(gr.Error, match="no remote engine"):
        next(drained(send_request(pool, "qwen3-0.6b", "Hi")))
    with fake_openai([{"content": "An API is "}, {"content": "a contract."}]) as (url, received):
        monkeypatch.setenv("QWENLAB_REMOTE_MODELS", f"qwen3-0.6b={url}")
        with pytest.raises(gr.Error, match="Pick one of the engines"):
            next(drained(send_request(pool, "http://evil.example/v1", "Hi")))
        *_, (body, answer) = drained(send_request(pool, "qwen3-0.6b", "What is an API?"))
    assert f"POST {url}/chat/completions" in body and '"stream": true' in body
    assert "An API is a contract." in answer and "(remote)" in answer and sent_a_request(answer)[0]
    assert received[0]["messages"][-1] == {"role": "user", "content": "What is an API?"}
