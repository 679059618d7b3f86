"""The family picker's logic on the real registry, and the lesson that quotes it: the cells,
their Run bindings and the try-it checks agree with what the picker shows."""

import contextlib
import io
import re

import pytest

from qwenlab.demos.family import (
    BEST,
    PRECISION_CHOICES,
    TASKS,
    pick,
    pick_view,
    picked_and_asked,
    picked_at,
)
from qwenlab.lessons import load_lessons
from qwenlab.registry import DEVICES, get_model

pytestmark = pytest.mark.pure
LESSON = next(lesson for lesson in load_lessons() if lesson.id == "family")


def bound_cell(runner: str):
    return next(c for c in LESSON.cells if c.run and c.run["runner"] == f"family.{runner}")


def test_every_pick_fits_the_device_it_was_asked_for():
    for device_name, device in DEVICES.items():
        for task in TASKS:
            for precision in PRECISION_CHOICES:
                for row in pick(task, device_name, precision=precision):
                    assert row["needs_gb"] <= device.memory_gb * device.usable


def test_t4_gets_fp16_because_it_has_no_bf16():
    rows = pick("hard reasoning", "T4 GPU (16 GB)")
    assert rows and all("bf16" not in r["precision"] for r in rows)
    assert rows[0]["precision"] == "fp16"


def test_quality_first_prefers_todays_bigger_model_and_speed_the_smaller():
    quality = pick("chat", "A100 (80 GB)", "quality")
    speed = pick("chat", "A100 (80 GB)", "speed")
    assert quality[0]["model"] == "qwen3.5-4b"
    assert speed[0]["model"] == "qwen2.5-0.5b"


def test_quality_ranking_agrees_with_the_qwen3_5_cards_table():
    """Card (non-thinking MMLU-Pro): Qwen3-4B-2507 69.6 > Qwen3.5-2B 55.3 > Qwen3-1.7B 40.2 >
    Qwen3.5-0.8B 29.7; the newer generation leads within a size, not across sizes."""
    order = [r["model"] for r in pick("chat", "H100 (80 GB)")]
    ranks = [order.index(key) for key in ("qwen3-4b-instruct-2507", "qwen3.5-2b", "qwen3-1.7b",
                                          "qwen3.5-0.8b")]
    assert ranks == sorted(ranks)
    assert order.index("qwen3.5-4b") < order.index("qwen3-4b") < order.index("qwen2.5-7b")


def test_tasks_route_to_the_right_specialists():
    assert {r["model"] for r in pick("vision", "L4 GPU (24 GB)")} == {
        "qwen2-vl-2b", "qwen2.5-vl-3b", "qwen3-vl-2b", "qwen3-vl-4b", "qwen3.5-0.8b", "qwen3.5-2b",
        "qwen3.5-4b"}
    assert all(r["model"].startswith("qwen3") for r in pick("hard reasoning", "H100 (80 GB)"))
    assert "qwen2.5-math-1.5b" in {r["model"] for r in pick("math", "L4 GPU (24 GB)")}
    assert not {"qwen3-embedding-0.6b", "qwen3-reranker-0.6b"} & {
        r["model"] for task in TASKS for r in pick(task, "H100 (80 GB)")}  # they do not chat
    languages = {r["model"]: r["why"] for r in pick("many languages", "H100 (80 GB)")}
    assert "201 languages" in languages["qwen3.5-4b"] and "119" in languages["qwen3-4b"]


def test_the_phone_only_gets_four_bit_builds():
    rows = pick("chat", "Phone (8 GB)")
    assert rows and all(r["precision"].startswith("4-bit") for r in rows)
    assert "qwen2.5-7b" not in {r["model"] for r in rows}


def test_an_asked_precision_shows_every_checkpoint_at_it():
    best = {r["model"]: r for r in pick("chat", "L4 GPU (24 GB)")}
    four = {r["model"]: r for r in pick("chat", "L4 GPU (24 GB)", precision="4-bit")}
    assert best["qwen2.5-7b"]["registry_precision"] == "bf16"  # the first that fits
    assert set(four) == set(best) and {r["registry_precision"] for r in four.values()} == {"nf4"}
    assert four["qwen2.5-7b"]["needs_gb"] == 6.63


def test_a_precision_the_device_lacks_is_said_plainly():
    assert pick("chat", "Phone (8 GB)", precision="int8") == []
    rows, summary, picked = pick_view("chat", "Phone (8 GB)", "quality", precision="int8")
    assert rows.empty and picked is None and "no int8 build" in summary and "4-bit" in summary


def test_bad_choices_are_refused():
    with pytest.raises(ValueError, match="task"):
        pick("poetry", "Phone (8 GB)")
    with pytest.raises(ValueError, match="device"):
        pick("chat", "Toaster")
    with pytest.raises(ValueError, match="Precision"):
        pick("chat", "Phone (8 GB)", precision="fp8")


# -- the lesson: its cells, Run bindings and checked tasks agree with the picker ----------------
def test_the_memory_cell_and_its_run_button_give_the_same_figures():
    cell = bound_cell("pick")
    run = cell.run
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(cell.source, {})
    printed = {line.split()[0]: float(re.search(r"nf4\s+([\d.]+) GB", line).group(1))
               for line in out.getvalue().splitlines()}
    rows = {r["hub_id"].split("/")[1]: r for r in pick(run["task"], run["device"], run["priority"],
                                                        run["precision"])}
    assert len(printed) >= 4
    for name, weights in printed.items():
        assert rows[name]["registry_precision"] == "nf4"
        assert rows[name]["needs_gb"] == pytest.approx(weights * 1.2, abs=0.02), name  # printed to 0.01


def test_the_chat_cell_samples_as_the_run_button_does():
    cell = bound_cell("chat")
    spec = get_model(cell.run["model"])
    preset = spec.preset(thinking=False)  # what run_chat answers with
    assert f'model_id = "{spec.hub_id}"' in cell.source
    assert cell.run["prompt"] in cell.source and "max_new_tokens=256" in cell.source
    assert (f"temperature={preset.temperature}, top_p={preset.top_p},\n    top_k={preset.top_k}"
            in cell.source)
    assert f"PresencePenalty({preset.presence_penalty}," in cell.source


def test_each_checked_task_can_be_met_as_the_lesson_says():
    for task in (t for t in LESSON.tasks if t.check):
        args = dict(task.args)
        _, _, picked = pick_view(args["task"], args["device"], "quality",
                                 precision=args.get("precision", BEST))
        history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
        if task.check == "picked_and_asked":
            assert picked_and_asked(picked, history, **args)[0]
            assert not picked_and_asked(picked, [], **args)[0]
        else:
            done, message = picked_at(picked, **args)
            assert done and "6.63 GB" in message, message
            assert not picked_at(pick_view(args["task"], args["device"], "quality")[2], **args)[0]
