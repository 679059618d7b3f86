"""Registry facts: plain data that the lessons and the pool rely on."""

import pytest

from qwenlab import registry
from qwenlab.registry import MODELS, UnknownModel, get_model

pytestmark = pytest.mark.pure


def test_every_lesson_checkpoint_is_registered():
    hub_ids = {spec.hub_id for spec in MODELS.values()}
    for name in ["Qwen2.5-0.5B-Instruct", "Qwen2.5-1.5B-Instruct", "Qwen2.5-3B-Instruct",
                 "Qwen2.5-7B-Instruct", "Qwen2.5-Math-1.5B-Instruct", "Qwen2.5-Coder-0.5B-Instruct",
                 "Qwen2.5-Coder-1.5B-Instruct", "Qwen3-0.6B", "Qwen3-1.7B", "Qwen3-4B",
                 "Qwen2-VL-2B-Instruct", "Qwen2.5-VL-3B-Instruct"]:
        assert f"Qwen/{name}" in hub_ids


def test_qwen3_has_one_preset_per_mode_and_never_greedy_when_thinking():
    spec = get_model("qwen3-0.6b")
    think, plain = spec.preset(thinking=True), spec.preset(thinking=False)
    assert (think.temperature, think.top_p, think.top_k, think.min_p) == (0.6, 0.95, 20, 0.0)
    assert (plain.temperature, plain.top_p, plain.top_k, plain.min_p) == (0.7, 0.8, 20, 0.0)
    assert think.do_sample


def test_math_carries_the_documented_chain_of_thought_prompt_and_4k_context():
    spec = get_model("qwen2.5-math-1.5b")
    assert spec.system_prompt == "Please reason step by step, and put your final answer within \\boxed{}."
    assert spec.context == 4096


@pytest.mark.parametrize("key,precision,measured_gb", [
    # Weights measured on an H100 (QWEN_FACTS.md, "Edge and quantization").
    ("qwen2.5-0.5b", "bf16", 0.99), ("qwen2.5-0.5b", "int8", 0.63), ("qwen2.5-0.5b", "nf4", 0.46),
    ("qwen2.5-1.5b", "int8", 1.78), ("qwen2.5-1.5b", "nf4", 1.15),
    ("qwen3-1.7b", "bf16", 3.44), ("qwen3-1.7b", "nf4", 1.35),
    ("qwen2.5-7b", "bf16", 15.2), ("qwen2.5-7b", "int8", 8.7), ("qwen2.5-7b", "nf4", 5.6),
])
def test_memory_estimate_is_within_five_percent_of_measurement(key, precision, measured_gb):
    estimate = get_model(key).weight_bytes(precision) / 1e9
    assert abs(estimate - measured_gb) / measured_gb < 0.05


def test_memory_shrinks_with_precision():
    for spec in MODELS.values():
        sizes = [spec.weight_bytes(p) for p in ("fp32", "bf16", "int8", "nf4")]
        assert sizes == sorted(sizes, reverse=True)


def test_unknown_model_names_the_known_ones():
    with pytest.raises(UnknownModel) as info:
        get_model("qwen9-1t")
    assert "qwen9-1t" in str(info.value) and "qwen3-0.6b" in str(info.value)


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="int3"):
        registry.check_precision("int3")
