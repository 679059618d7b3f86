"""Today's family on the tiny checkpoints of its real architectures: Qwen3.5's vocabulary and
specials, what each model's template does with thinking, the sampling its card recommends,
tool calls from a server, and Qwen3.5's hybrid layers in the int4 lanes."""

import pytest
from fake_openai import fake_openai

from qwenlab.demos.multilingual import count_tokens, sentences
from qwenlab.demos.thinking import effective_thinking, settings_used
from qwenlab.events import Final, ToolCallDelta, collect
from qwenlab.generation import stream_chat
from qwenlab.prompts import build_inputs
from qwenlab.registry import MODELS, get_model

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def qwen35_tokenizer(tiny_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_dir / "qwen3.5-0.8b")


def test_qwen3_5_specials_sit_at_the_ids_its_config_names(qwen35_tokenizer, tiny_dir):
    # config.json: image_token_id 248056, vision_start 248053, eos 248044; vocab padded to 248320
    names = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|image_pad|>",
             "<tool_call>", "<think>", "</think>"]
    assert qwen35_tokenizer.convert_tokens_to_ids(names) == [248044, 248045, 248046, 248053,
                                                             248056, 248058, 248068, 248069]
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_dir / "qwen3.5-0.8b")
    assert config.text_config.vocab_size == 248320 and config.image_token_id == 248056


def test_the_new_vocabulary_costs_fewer_tokens_in_the_courses_languages(tiny_env):
    """The lesson's sentences: Qwen3.5's 248K vocabulary against Qwen3's 151K."""
    old, new = (dict(count_tokens(sentences(), key)[["language", "tokens"]].values.tolist())
                for key in ("qwen3-0.6b", "qwen3.5-0.8b"))
    for language in ("Marathi", "Urdu", "Burmese", "Punjabi", "Swahili"):
        assert new[language] < old[language], (language, old[language], new[language])
    assert new["English"] == old["English"]


def prompt_text(tiny_dir, key, thinking):
    from transformers import AutoTokenizer

    from qwenlab.loading import Loaded

    loaded = Loaded(get_model(key), "bf16", "cpu", None,
                    AutoTokenizer.from_pretrained(tiny_dir / key), None)
    ids = build_inputs(loaded, [{"role": "user", "content": "2+2?"}], thinking)["input_ids"]
    return loaded.tokenizer.decode(ids[0])


@pytest.mark.parametrize("key, on, off", [
    ("qwen3-0.6b", "<|im_start|>assistant\n", "<think>\n\n</think>\n\n"),
    ("qwen3.5-0.8b", "<|im_start|>assistant\n<think>\n", "<think>\n\n</think>\n\n"),
    ("qwen3.5-4b", "<|im_start|>assistant\n<think>\n", "<think>\n\n</think>\n\n"),
    ("qwen3-4b-thinking-2507", "<|im_start|>assistant\n<think>\n",
     "<|im_start|>assistant\n<think>\n"),
])
def test_each_template_opens_thinking_as_its_card_says(tiny_dir, key, on, off):
    assert prompt_text(tiny_dir, key, True).endswith(on)
    assert prompt_text(tiny_dir, key, False).endswith(off)


def test_instruct_2507_never_thinks(tiny_dir):
    spec = get_model("qwen3-4b-instruct-2507")
    assert not spec.has_thinking
    assert "<think>" not in prompt_text(tiny_dir, "qwen3-4b-instruct-2507", None)


def test_the_demo_follows_each_models_template_and_says_what_it_ignores():
    # a Qwen3 hybrid honours /no_think; Qwen3.5 reads only the flag; Thinking-2507 always thinks
    assert not effective_thinking([], "Hi /no_think", True, "qwen3-0.6b")
    assert effective_thinking([], "Hi /no_think", True, "qwen3.5-0.8b")
    assert not effective_thinking([], "Hi", False, "qwen3.5-0.8b")
    assert effective_thinking([], "Hi", False, "qwen3-4b-thinking-2507")
    used = settings_used([], "Hi /no_think", "qwen3.5-0.8b", True, 0, 64)
    assert used["thinking"] and "ignores /think and /no_think" in used["note"]
    used = settings_used([], "Hi", "qwen3-4b-thinking-2507", False, 0, 64)
    assert used["thinking"] and "always thinks" in used["note"]
    assert settings_used([], "Hi", "qwen3-0.6b", True, 0, 64)["note"] == ""


def test_defaults_follow_the_cards():
    small, four = get_model("qwen3.5-0.8b"), get_model("qwen3.5-4b")
    assert not small.thinking.default and four.thinking.default  # 0.8B/2B answer directly
    assert small.preset(False).presence_penalty == 2.0 and small.preset(True).top_p == 0.95
    assert get_model("qwen3-4b-thinking-2507").preset(True).temperature == 0.6
    assert get_model("qwen2.5-0.5b").preset().repetition_penalty == 1.1
    assert not get_model("qwen2.5-math-1.5b").preset().do_sample


def test_qwen3_5_keeps_a_fraction_of_qwen3s_cache_per_token():
    """Three of every four layers are Gated DeltaNet with a fixed state: 6 attention layers of
    2 KV heads of 256 hold 12,288 bytes a token in bf16, against Qwen3-0.6B's 28 x 8 x 128."""
    new, old = MODELS["qwen3.5-0.8b"].layout, MODELS["qwen3-0.6b"].layout
    assert (new.kv_bytes_per_token(), old.kv_bytes_per_token()) == (12288, 114688)
    assert new.state_bytes() > 0 and old.state_bytes() == 0
    assert new.cache_bytes(32768) < old.cache_bytes(4096)


def test_presence_penalty_lowers_every_written_token_once(tiny_env):
    import torch

    from qwenlab.engines.plain import _presence

    processor = _presence(1.5)[0]
    prompt = torch.tensor([[5, 6]])
    scores = torch.zeros(1, 10)
    assert torch.equal(processor(prompt, scores), scores)  # the prompt itself is not penalised
    written = torch.tensor([[5, 6, 3, 3, 7]])
    after = processor(written, torch.zeros(1, 10))
    assert after[0, 3] == after[0, 7] == -1.5 and after[0, 5] == 0 and after[0, 0] == 0


@pytest.mark.parametrize("precision", ["bf16", "int4"])
def test_qwen3_5_streams_with_its_recommended_sampling(make_pool, precision):
    if precision == "int4":
        pytest.importorskip("onnxruntime_genai")
    with make_pool(4).lease("qwen3.5-0.8b", precision) as loaded:
        _, answer, final = collect(stream_chat(loaded, [{"role": "user", "content": "Hi"}],
                                               sampling=loaded.spec.preset(), max_new_tokens=6))
    assert isinstance(final, Final) and final.new_tokens >= 1 and final.precision == precision


def test_a_servers_tool_call_reaches_the_learner_in_pieces(tiny_env, monkeypatch, make_pool):
    """vLLM's tool parser sends a call as deltas: id and name first, then the arguments' JSON
    in fragments, then finish_reason tool_calls."""
    deltas = [{"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                               "function": {"name": "get_weather", "arguments": ""}}]},
              {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
              {"tool_calls": [{"index": 0, "function": {"arguments": '"Nairobi"}'}}]}]
    with fake_openai(deltas, finish_reason="tool_calls") as (url, _):
        monkeypatch.setenv("QWENLAB_REMOTE_MODELS", f"qwen3.5-0.8b={url}")
        with make_pool(1).lease("qwen3.5-0.8b") as loaded:
            events = list(stream_chat(loaded, [{"role": "user", "content": "Weather?"}],
                                      max_new_tokens=32))
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert (calls[0].id, calls[0].name) == ("call_1", "get_weather")
    assert "".join(c.arguments for c in calls) == '{"city": "Nairobi"}'
    assert events[-1].finish_reason == "tool_calls"


def test_an_image_sent_to_a_text_only_load_is_refused_not_dropped(tiny_env, monkeypatch,
                                                                  make_pool):
    """Qwen3.5 at int4 (its text part) and a remote server here read text only: a question
    about an image says so instead of answering without the image."""
    from PIL import Image

    from qwenlab.errors import BadRequest

    image = Image.new("RGB", (64, 64), "white")
    asked = [{"role": "user", "content": [{"type": "image", "image": image},
                                          {"type": "text", "text": "What is this?"}]}]
    with fake_openai([{"content": "A square."}]) as (url, received):
        monkeypatch.setenv("QWENLAB_REMOTE_MODELS", f"qwen3.5-0.8b={url}")
        with make_pool(1).lease("qwen3.5-0.8b") as loaded:
            with pytest.raises(BadRequest, match="reads text only"):
                list(stream_chat(loaded, asked, max_new_tokens=8))
    assert received == []
