"""The edge lesson's demo: a quantization lab (lab.py, plot.py), a memory calculator for the
whole family (calculator.py), and the model pool itself, live. This module arranges the three
tabs and serves the lesson's Run buttons with the same functions the tabs use.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import gradio as gr
import pandas as pd

from qwenlab import config
from qwenlab.demos.edge import calculator as calc
from qwenlab.demos.edge.lab import (
    DEFAULT_PRECISIONS,
    LAB_MODELS,
    LABELS,
    WIDTHS,
    availability,
    compare,
    frame,
    lab_compared,
    machine_line,
    write_csv,
)
from qwenlab.demos.edge.plot import PLOTS, plot_frame
from qwenlab.registry import PRECISIONS
from qwenlab.web.demo import VERBATIM, Check, Demo
from qwenlab.web.i18n import N_, lang_of, t
from qwenlab.web.ui import Learner, learner_of, markdown_table


# -- the pool, live ------------------------------------------------------------------------------
def pool_panel(pool, lang: str = "en") -> tuple[str, pd.DataFrame, str]:
    """Counters, the loaded models, and the latest pool events."""
    stats = pool.stats()
    counters = t(N_("**{device}** · {used} of {budget} GB budget in use · **{loads}** loads "
                    "({seconds} s loading in all) · **{hits}** hits · **{evictions}** evictions · "
                    "**{errors}** errors"), lang, device=stats["device"],
                 used=f"{stats['used_bytes'] / 1e9:.2f}", budget=f"{stats['budget_bytes'] / 1e9:.1f}",
                 loads=stats["loads"], seconds=f"{stats['load_seconds']:.1f}", hits=stats["hits"],
                 evictions=stats["evictions"], errors=stats["errors"])
    models = pd.DataFrame([{
        "model": m["model"], "precision": m["precision"], "state": m["state"],
        "GB": round((m["bytes"] or m["charge"]) / 1e9, 3), "in use": m["leases"],
        "hits": m["hits"], "idle s": m["idle_seconds"], "load s": m["load_seconds"],
    } for m in stats["models"]], columns=["model", "precision", "state", "GB", "in use", "hits",
                                          "idle s", "load s"])
    events = list(pool.events)[-8:]
    lines = [f"- {time.strftime('%H:%M:%S', time.localtime(e['time']))} **{e['kind']}** "
             f"{e['model']} {e['precision']} {e['detail']}".rstrip() for e in reversed(events)]
    return counters, models, "\n".join(lines) or t(N_("No pool events yet: open any demo and "
                                                      "ask."), lang)


# -- lesson cells --------------------------------------------------------------------------------
COMPARE_NOTE = N_(
    "Same prompt, {tokens} new tokens, plain greedy decoding (repetition penalty 1.0) and the same "
    "loading arguments as the code above; first token and tokens/s are timed the same way. "
    "What differs: the lab loads through the app's shared pool, so a precision another "
    "learner has loaded already is reused (`ok (already loaded)`, with the time of its first "
    "load), and it also measures `peak GB`, the memory above the weights while answering.")


async def run_compare(pool, model="qwen2.5-0.5b", precisions="bf16,int8,nf4",
                      prompt="Explain in two sentences why the sky is blue.", max_new_tokens="48",
                      lang="en"):
    rows = []
    async for status, rows in compare(pool, model, precisions.split(","), prompt,
                                      int(max_new_tokens), learner=Learner(None, lang)):
        yield status
    shown = frame(rows, lang).drop(columns=[t("run", lang), t("engine", lang)])
    table = markdown_table(list(shown.columns),
                           ([v if v is not None and v == v else "" for v in row]
                            for row in shown.itertuples(index=False)))
    yield (t(N_("Measured on this server: {machine}."), lang, machine=machine_line(pool.device))
           + f"\n\n{table}\n\n*ℹ️ {t(COMPARE_NOTE, lang, tokens=int(max_new_tokens))}*")


def run_calculator(pool, precision="bf16", lang="en"):
    table = calc.calculator(precision, lang=lang)
    yield (t(N_("Weights at **{precision}** plus 20% for the KV cache and activations; the "
                "Qwen3.5 rows count their cache from their layers instead, for one answer of "
                "{tokens} tokens:"), lang, precision=precision, tokens=f"{calc.CONTEXT_TOKENS:,}")
           + "\n\n" + markdown_table(list(table.columns), table.itertuples(index=False)))


def run_cache(pool, models="qwen3-0.6b,qwen3.5-0.8b", tokens=str(calc.CONTEXT_TOKENS),
              lang="en"):
    """The cache of one answer, layer by layer, from the registry's layouts: the same
    arithmetic as the cell, from the same config.json shapes."""
    keys = [key.strip() for key in models.split(",") if key.strip()]
    table = calc.cache_table(keys, int(tokens))
    yield (t(N_("One answer of **{tokens}** tokens, cache and state in bf16, from each model's "
                "layers:"), lang, tokens=f"{int(tokens):,}") + "\n\n"
           + markdown_table(list(table.columns), table.itertuples(index=False))
           + "\n\n*ℹ️ " + t(N_("The same arithmetic as the cell, from the registry's copy of the "
                                "same config.json shapes; the app's memory calculator uses it for "
                                "the Qwen3.5 rows."), lang) + "*")


def run_pool(pool, lang="en"):
    counters, models, events = pool_panel(pool, lang)
    table = markdown_table(list(models.columns), models.itertuples(index=False)) \
        if len(models) else t(N_("No models loaded yet."), lang)
    stats = pool.stats()
    note = t(N_("This is the app's own pool, shared by every learner on this server, not the "
                "small one the code above builds. Its budget is {budget} GB on {device}, and it "
                "goes further than the cell: it charges each model its measured bytes plus "
                "{headroom} headroom, never evicts a model someone is using, and loads a model "
                "once however many learners ask for it at the same time."), lang,
             budget=f"{stats['budget_bytes'] / 1e9:.1f}", device=stats["device"],
             headroom=f"{config.HEADROOM:.0%}")
    yield f"{counters}\n\n{table}\n\n{events}\n\n*ℹ️ {note}*"


RUNNERS = {"compare": run_compare, "calculator": run_calculator, "cache": run_cache,
           "pool": run_pool}


def build(pool) -> dict:
    """The three tabs; returns the components the try-it checks read."""
    with gr.Tabs():
        with gr.Tab("Quantization lab"):
            ui = _lab(pool)
        with gr.Tab("Memory calculator"):
            ui |= calc.tab()
        with gr.Tab("The pool, live"):
            _pool_live(pool)
    return ui


def _lab(pool) -> dict:
    """Load one checkpoint at several precisions, same prompt, measured side by side."""
    folder = Path(tempfile.mkdtemp(prefix="qwenlab-edge-"))
    problems = availability(pool.device)
    runs = gr.State([])
    gr.Markdown(
        "Load one checkpoint at several precisions and run the same prompt on each "
        "(plain greedy decoding, no repetition or presence penalty, so differences in the answers come "
        "from the precision). "
        "Results stay here for this session; download them as CSV.\n\n"
        + "\n".join(f"- **{p}** is unavailable on {pool.device}: {why}"
                    for p, why in problems.items() if why))
    with gr.Row():
        model = gr.Dropdown(LAB_MODELS, value=LAB_MODELS[0], label="Checkpoint",
                            elem_id="edge-model")
        precisions = gr.CheckboxGroup(
            [(LABELS.get(p, p), p) for p in PRECISIONS], label="Precisions",
            elem_id="edge-precisions", value=[p for p in DEFAULT_PRECISIONS if not problems[p]])
    prompt = gr.Textbox("Explain in two sentences why the sky is blue.", lines=2,
                        label="Prompt", elem_id="edge-prompt", elem_classes=[VERBATIM],
                        info="The lesson's own English prompt, so that your figures compare "
                             "with the lesson's; change it if you like.")
    with gr.Row():
        tokens = gr.Slider(16, 512, value=64, step=16, label="New tokens per run")
        go = gr.Button("Run the comparison", variant="primary", elem_id="edge-go")
        stop = gr.Button("Stop")
        clear = gr.Button("Clear results")
    status = gr.Markdown(elem_id="edge-status")
    table = gr.Dataframe(frame([]), label="Results (this session)", wrap=True,
                         interactive=False, column_widths=WIDTHS, elem_id="edge-table")
    with gr.Row():
        plots = [gr.BarPlot(plot_frame([]), x="label", y=column, title=title, x_title=" ",
                            y_title=" ", y_lim=[0, None], sort=None, height=240,
                            elem_id=f"edge-plot-{i}") for i, (column, title) in enumerate(PLOTS)]
    download = gr.File(label="Results as CSV (updated after each run)", interactive=False,
                       height=80, elem_id="edge-csv")

    async def handler(model, precisions, prompt, tokens, runs, request: gr.Request):
        rows, learner = runs, learner_of(request)
        async for message, rows in compare(pool, model, precisions, prompt, tokens, runs, learner):
            yield message, frame(rows, learner.lang), *[plot_frame(rows)] * len(PLOTS), gr.skip(), rows
        yield (message, frame(rows, learner.lang), *[plot_frame(rows)] * len(PLOTS),
               write_csv(rows, folder), rows)

    outputs = [status, table, *plots, download, runs]
    event = go.click(handler, [model, precisions, prompt, tokens, runs], outputs,
                     api_name="edge_compare")
    stop.click(None, cancels=[event])
    clear.click(lambda: ("", frame([]), *[plot_frame([])] * len(PLOTS), None, []),
                None, outputs, api_visibility="private")
    return {"runs": runs}


def _pool_live(pool) -> None:
    gr.Markdown("Every demo in Qwen Lab borrows its model from this one pool. Move between "
                "lessons and watch models load, get reused (hits) and make room for each "
                "other (evictions).")
    counters = gr.Markdown(elem_id="edge-pool-counters")
    loaded = gr.Dataframe(interactive=False, elem_id="edge-pool-models")
    events = gr.Markdown(elem_id="edge-pool-events")
    def panel(request: gr.Request):
        return pool_panel(pool, lang_of(request))

    gr.Timer(2).tick(panel, None, [counters, loaded, events],
                     api_visibility="private", show_progress="hidden")


CHECKS = {"lab_compared": Check(("runs",), lab_compared),
          "biggest_fit": Check(("fit_model", "precision", "fit_device"), calc.biggest_fit)}


DEMO = Demo(build=build, runners=RUNNERS, checks=CHECKS)
