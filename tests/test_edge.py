"""The edge lab on tiny checkpoints: real loads at each precision through the pool, real
measurements, the memory calculator's arithmetic, the live pool panel, the try-it checkers and
what the lesson's Run buttons say about the machine and the code beside them."""

import contextlib
import csv
import io
import re
import sys

import gradio as gr
import pytest
from conftest import drained

from qwenlab.demos.edge import CHECKS, RUNNERS, build, pool_panel, run_compare, run_pool
from qwenlab.demos.edge.calculator import (
    CHECKPOINTS,
    CONTEXT_TOKENS,
    biggest_fit,
    cache_table,
    calculator,
    fit_verdict,
    largest_fit,
)
from qwenlab.demos.edge.lab import COLUMNS, LAB_MODELS, compare, cpu_facts, lab_compared
from qwenlab.lessons import load_lessons
from qwenlab.registry import FAMILY, MODELS

LESSON = next(lesson for lesson in load_lessons() if lesson.id == "edge")

PROMPT = "Explain in two sentences why the sky is blue."


def _last(generator):
    for item in drained(generator):
        pass
    return item


@pytest.mark.pure
def test_calculator_covers_the_family_and_knows_what_fits():
    nf4 = calculator("nf4").set_index("model")
    bf16 = calculator("bf16").set_index("model")
    assert len(nf4) == len(CHECKPOINTS) > len(FAMILY) and "Qwen3-235B-A22B (MoE)" in nf4.index
    assert nf4.loc["Qwen2.5-7B-Instruct", "T4 GPU (16 GB)"] == "✅"
    assert bf16.loc["Qwen2.5-7B-Instruct", "T4 GPU (16 GB)"] == "❌"
    assert nf4.loc["Qwen2.5-7B-Instruct", "Phone (8 GB)"] == "❌"
    assert (bf16.loc["Qwen3-235B-A22B (MoE)"] == "❌").sum() == 6  # not even one 80 GB card
    assert "3.3B active" in nf4.loc["Qwen3-30B-A3B (MoE)", "parameters"]
    # embeddings stay 16-bit: the 0.5B model at 4-bit is far more than an eighth of fp32
    fp32 = calculator("fp32").set_index("model")
    assert nf4.loc["Qwen2.5-0.5B-Instruct", "needs GB"] > fp32.loc["Qwen2.5-0.5B-Instruct", "needs GB"] / 5


@pytest.mark.pure
def test_hybrid_rows_count_their_cache_from_their_layers():
    """Qwen3.5's rows are weights plus one 32K-token answer's cache and state (memory_bytes),
    not weights plus 20%: 1.70 GB of bf16 weights and 0.41 GB of cache for the 0.8B."""
    bf16 = calculator("bf16").set_index("model")
    spec = MODELS["qwen3.5-0.8b"]
    assert {"Qwen3.5-0.8B", "Qwen3.5-2B", "Qwen3.5-4B"} <= set(bf16.index)
    assert bf16.loc["Qwen3.5-0.8B", "needs GB"] == round(spec.memory_bytes("bf16", CONTEXT_TOKENS) / 1e9, 1)
    assert spec.memory_bytes("bf16", CONTEXT_TOKENS) == 1_700_000_000 + 412_753_920
    fits, text = fit_verdict("Qwen3.5-0.8B", "bf16", "Phone (8 GB)")
    assert fits and "2.1 GB" in text and "one 32,768-token answer" in text
    assert "plus 20%" in fit_verdict("Qwen3-0.6B", "bf16", "Phone (8 GB)")[1]


@pytest.mark.pure
def test_the_cache_table_is_the_registrys_layout():
    table = cache_table(["qwen3-0.6b", "qwen3.5-0.8b"], 32768).set_index("model")
    assert table.loc["Qwen/Qwen3-0.6B", "KV bytes a token"] == "114,688"
    assert table.loc["Qwen/Qwen3.5-0.8B", "KV bytes a token"] == "12,288"
    assert table.loc["Qwen/Qwen3.5-0.8B", "fixed state bytes"] == "10,100,736"
    assert table.loc["Qwen/Qwen3.5-0.8B", "attention layers"] == "6 of 24"
    assert (table.loc["Qwen/Qwen3-0.6B", "cache GB at 32,768 tokens"],
            table.loc["Qwen/Qwen3.5-0.8B", "cache GB at 32,768 tokens"]) == (3.76, 0.41)


@pytest.mark.pure
def test_the_cache_cell_prints_what_its_run_button_prints():
    """The lesson's cell computes from config.json's fields; its Run button from the registry's
    layouts. Same models, same context, same bytes."""
    cell = next(c for c in LESSON.cells if c.kind == "code" and c.run and c.run["runner"] == "edge.cache")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(cell.source, "cell", "exec"), {})
    printed = {name: (int(a.replace(",", "")), int(b.replace(",", "")), float(gb)) for name, a, b, gb in
               re.findall(r"(\S+): ([\d,]+) bytes a token \+ ([\d,]+) bytes fixed = ([\d.]+) GB", out.getvalue())}
    tokens = int(cell.run["tokens"])
    assert f"at {tokens:,} tokens" in out.getvalue()
    keys = cell.run["models"].split(",")
    assert sorted(printed) == sorted(MODELS[key].hub_id for key in keys)
    for key in keys:
        layout = MODELS[key].layout
        assert printed[MODELS[key].hub_id] == (layout.kv_bytes_per_token(), layout.state_bytes(),
                                               round(layout.cache_bytes(tokens) / 1e9, 2))
    shown = _last(RUNNERS["cache"](None, **{k: v for k, v in cell.run.items() if k != "runner"}))
    assert "114,688" in shown and "10,100,736" in shown and "0.41" in shown


@pytest.mark.model
def test_lab_measures_each_precision_and_keeps_earlier_runs(pool):
    status, rows = _last(compare(pool, "qwen2.5-0.5b", ["nf4", "fp32", "bf16", "int8"], PROMPT, 8))
    assert [r["precision"] for r in rows] == ["fp32", "bf16", "int8", "nf4"]  # in PRECISIONS order
    assert all(r["status"] == "ok" for r in rows), rows
    weights = {r["precision"]: r["weights GB"] for r in rows}
    assert weights["fp32"] > weights["bf16"] >= weights["int8"] >= weights["nf4"] > 0
    for r in rows:
        assert r["tokens/s"] > 0 and r["first token s"] > 0 and r["new tokens"] == 8
        assert r["load s"] > 0 and r["peak GB"] >= 0 and isinstance(r["answer"], str)
    assert "done" in status
    # a second run: bf16 comes from the pool this time, and run 1 is still there
    _, rows2 = _last(compare(pool, "qwen2.5-0.5b", ["bf16"], PROMPT, 8, rows))
    assert len(rows2) == 5 and rows2[-1]["run"] == 2
    assert rows2[-1]["status"] == "ok (already loaded)"
    assert pool.stats()["hits"] >= 1
    # the try-it check reads these very rows
    done, message = lab_compared(rows2, "qwen2.5-0.5b", ["bf16", "nf4"])
    assert done and "bf16" in message and "nf4" in message


@pytest.mark.model
def test_the_labs_default_qwen3_5_runs_on_a_cpu(pool):
    assert LAB_MODELS[0] == "qwen3.5-0.8b"
    _, rows = _last(compare(pool, "qwen3.5-0.8b", ["bf16", "nf4"], PROMPT, 4))
    assert [r["status"] for r in rows] == ["ok", "ok"], rows
    assert all(r["new tokens"] == 4 and r["weights GB"] > 0 for r in rows)


@pytest.mark.model
def test_unavailable_and_failing_precisions_are_rows_not_crashes(pool, monkeypatch):
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # as on a machine without it
    _, rows = _last(compare(pool, "qwen3-0.6b", ["bf16", "nf4"], PROMPT, 4))
    assert rows[0]["status"] == "ok"
    assert rows[1]["status"].startswith("unavailable") and "pip install" in rows[1]["status"]
    pool.budget = 1000  # nothing fits now: the pool refuses, the lab reports it and goes on
    pool.evict_idle()
    _, rows = _last(compare(pool, "qwen2.5-0.5b", ["fp32", "bf16"], PROMPT, 4))
    assert all(r["status"].startswith("failed") for r in rows), rows


@pytest.mark.model
def test_pool_panel_shows_loads_hits_and_events(pool):
    _last(compare(pool, "qwen3-0.6b", ["bf16"], PROMPT, 4))
    _last(compare(pool, "qwen3-0.6b", ["bf16"], PROMPT, 4))
    counters, models, events = pool_panel(pool)
    assert "**1** loads" in counters and "**1** hits" in counters
    assert list(models["model"]) == ["qwen3-0.6b"] and models["GB"].iloc[0] > 0
    assert "**hit** qwen3-0.6b bf16" in events and "**ready** qwen3-0.6b bf16" in events


@pytest.mark.app
def test_edge_compare_through_the_api_accumulates_and_downloads_csv(client):
    status, table, *plots, csv_file = client.predict(
        "qwen2.5-0.5b", ["bf16", "nf4"], PROMPT, 16, api_name="/edge_compare")
    assert "done" in status and table["headers"] == COLUMNS
    assert [row[2] for row in table["data"]] == ["bf16", "nf4"]
    status, table, *plots, csv_file = client.predict(
        "qwen2.5-0.5b", ["fp32", "int4"], PROMPT, 16, api_name="/edge_compare")
    assert [row[0] for row in table["data"]] == [1, 1, 2, 2]  # the session keeps run 1
    with open(csv_file, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["precision"] for r in rows] == ["bf16", "nf4", "fp32", "int4"]
    assert [r["engine"] for r in rows] == ["transformers"] * 3 + ["onnxruntime-genai"]
    assert all(float(r["tokens/s"]) > 0 for r in rows)
    assert len(plots) == 3


@pytest.mark.app
def test_edge_calculator_api(client):
    table = client.predict("nf4", api_name="/edge_calculator")
    models = [row[0] for row in table["data"]]
    assert "Qwen2.5-0.5B-Instruct" in models and "Qwen3-235B-A22B (MoE)" in models


@pytest.mark.pure
def test_fit_verdict_shows_the_arithmetic_and_the_largest_fit_is_computed():
    fits, text = fit_verdict("Qwen2.5-7B-Instruct", "bf16", "L4 GPU (24 GB)")
    assert fits and "18.3 GB" in text and "21.6 GB" in text  # 15.2 GB + 20% on a 24 GB card
    assert not fit_verdict("Qwen2.5-7B-Instruct", "bf16", "T4 GPU (16 GB)")[0]
    assert not fit_verdict("Qwen3-30B-A3B (MoE)", "nf4", "T4 GPU (16 GB)")[0]  # every expert counts
    # Qwen3.5-4B (4.54B with its vision tower) fits at nf4 with a 32K-token answer: 4.4 GB of 5.4
    assert largest_fit("Laptop GPU (6 GB)") == ("Qwen3.5-4B", "nf4")
    assert largest_fit("T4 GPU (16 GB)") == ("Qwen3-14B", "nf4")
    assert not fit_verdict("no such model", "bf16", "T4 GPU (16 GB)")[0]


@pytest.mark.pure
def test_biggest_fit_wants_the_device_a_fit_and_nothing_bigger_that_fits():
    device = "Laptop GPU (6 GB)"
    assert not biggest_fit("Qwen3-4B", "int8", "T4 GPU (16 GB)", device=device)[0]
    done, message = biggest_fit("Qwen2.5-7B-Instruct", "nf4", device, device=device)
    assert not done and "does not fit" in message
    done, message = biggest_fit("Qwen3-4B", "int8", device, device=device)
    assert not done and "more parameters" in message
    done, message = biggest_fit("Qwen3.5-4B", "int4", device, device=device)
    assert done and "also fits at nf4" in message and "32,768-token answer" in message
    assert not biggest_fit("Qwen3.5-4B", "int8", device, device=device)[0]  # 6.3 GB
    assert biggest_fit("Qwen3.5-4B", "nf4", device, device=device) == (True, fit_verdict(
        "Qwen3.5-4B", "nf4", device)[1])


@pytest.mark.pure
def test_lab_compared_needs_each_precision_measured_on_this_server():
    def row(precision, status="ok", gb=1.0, model="qwen2.5-0.5b"):
        return {"model": model, "precision": precision, "status": status, "weights GB": gb}

    wanted = ("qwen2.5-0.5b", ["bf16", "nf4"])
    assert not lab_compared([], *wanted)[0]
    assert "nf4" in lab_compared([row("bf16")], *wanted)[1]
    assert not lab_compared([row("bf16"), row("nf4", model="qwen3-0.6b")], *wanted)[0]
    done, message = lab_compared([row("bf16"), row("nf4", "unavailable: pip install it")], *wanted)
    assert not done and "unavailable" in message
    done, message = lab_compared([row("bf16", gb=0.99), row("nf4", "ok (already loaded)", 0.46)],
                                 *wanted)
    assert done and "nf4 0.460 GB (46% of bf16)" in message


@pytest.mark.pure
def test_cpu_facts_reads_the_bf16_instructions_the_cpu_lists():
    info = "model name\t: Some CPU\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 sse\n"
    assert cpu_facts(info) == ("Some CPU", ["AVX512-BF16", "AMX-BF16"])
    assert cpu_facts("model name: Old CPU\nflags: fpu avx2\n") == ("Old CPU", [])


@pytest.mark.model
def test_the_lessons_checked_tasks_name_real_checkers_and_components(pool):
    lesson = next(lesson for lesson in load_lessons() if lesson.id == "edge")
    with gr.Blocks():
        ui = build(pool)
    checked = [task for task in lesson.tasks if task.check]
    assert len(checked) >= 1
    for task in checked:
        assert set(CHECKS[task.check].reads) <= set(ui), task.id


@pytest.mark.model
def test_run_buttons_name_the_machine_and_what_differs_from_the_cells(pool):
    out = _last(run_compare(pool, precisions="bf16", max_new_tokens="4"))
    assert "Measured on this server" in out and "repetition penalty 1.0" in out
    out = _last(run_pool(pool))
    assert "not the small one the code above builds" in out and "**1** loads" in out


@pytest.mark.parametrize("lang", ["mr", "ur", "my", "pa", "sw"])
def test_the_results_table_shows_headers_and_statuses_in_the_learners_language(lang):
    """The rows (the CSV, the checks) keep English; what the tab shows is translated."""
    from qwenlab.demos.edge.lab import COLUMNS, frame
    from qwenlab.web.i18n import table

    words = table(lang)
    rows = [dict.fromkeys(COLUMNS) | {"run": 1, "model": "qwen3.5-0.8b", "precision": "bf16",
                                      "status": "ok (already loaded)"},
            dict.fromkeys(COLUMNS) | {"run": 1, "model": "qwen3.5-0.8b", "precision": "int4",
                                      "status": "unavailable: needs a GPU"}]
    shown = frame(rows, lang)
    assert list(shown.columns) == [words.get(c, c) for c in COLUMNS]
    assert "weights GB" not in shown.columns or words.get("weights GB") == "weights GB"
    assert shown.iloc[0, COLUMNS.index("status")] == words["ok (already loaded)"]
    assert shown.iloc[1, COLUMNS.index("status")].startswith(
        words["unavailable: {why}"].split("{why}")[0])
    assert rows[0]["status"] == "ok (already loaded)"  # the row itself is untouched
