"""The family picker's logic, on the real registry."""

import pytest

from qwenlab.demos.family import TASKS, pick
from qwenlab.registry import DEVICES

pytestmark = pytest.mark.pure


def test_every_pick_fits_the_device_it_was_asked_for():
    for device_name, device in DEVICES.items():
        for task in TASKS:
            for row in pick(task, device_name):
                assert row["needs_gb"] <= device.memory_gb * device.usable


def test_t4_gets_fp16_because_it_has_no_bf16():
    rows = pick("hard reasoning", "T4 GPU (16 GB)")
    assert rows and all("bf16" not in r["precision"] for r in rows)
    assert rows[0]["precision"] == "fp16"


def test_quality_first_prefers_the_bigger_model_and_speed_the_smaller():
    quality = pick("chat", "A100 (80 GB)", "quality")
    speed = pick("chat", "A100 (80 GB)", "speed")
    assert quality[0]["model"] == "qwen2.5-7b"
    assert speed[0]["model"] == "qwen2.5-0.5b"


def test_tasks_route_to_the_right_specialists():
    assert {r["model"] for r in pick("vision", "L4 GPU (24 GB)")} == {"qwen2-vl-2b", "qwen2.5-vl-3b"}
    assert all(r["model"].startswith("qwen3") for r in pick("hard reasoning", "H100 (80 GB)"))
    assert "qwen2.5-math-1.5b" in {r["model"] for r in pick("math", "L4 GPU (24 GB)")}


def test_the_phone_only_gets_four_bit_builds():
    rows = pick("chat", "Phone (8 GB)")
    assert rows and all(r["precision"].startswith("4-bit") for r in rows)
    assert "qwen2.5-7b" not in {r["model"] for r in rows}


def test_bad_choices_are_refused():
    with pytest.raises(ValueError, match="task"):
        pick("poetry", "Phone (8 GB)")
    with pytest.raises(ValueError, match="device"):
        pick("chat", "Toaster")
