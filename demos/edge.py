"""The edge lesson's demo: a quantization lab, a memory calculator for the whole family, and the
model pool itself, live.

`compare()` loads one checkpoint at several precisions through the pool, runs the same prompt
greedily on each, and measures load time, weights in memory, peak memory while generating,
time to first token and tokens/s; the rows pile up for the session and download as CSV.
It is the one function behind the tab, the `edge_compare` API and the lesson's Run button.
`calculator()` and `fit_verdict()` are plain arithmetic over the registry. CHECKS holds the
try-it checkers, which read the lab's results and the calculator's choices.
Run alone: python -m demos.edge
"""

from __future__ import annotations

import csv
import logging
import tempfile
import time
from pathlib import Path

import gradio as gr
import pandas as pd

from qwenlab import config, system
from qwenlab.loading import precision_problem
from qwenlab.registry import DEVICES, FAMILY, KV_SPARE, PRECISIONS, Sampling
from webui.i18n import N_, lang_of, t
from webui.ui import Check, answer_stream, check_prompt, learner_of, markdown_table, who

log = logging.getLogger(__name__)
LAB_MODELS = ["qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-3b", "qwen2.5-7b", "qwen3-0.6b",
              "qwen3-1.7b"]
DEFAULT_PRECISIONS = ["bf16", "int8", "nf4", "int4"]
LABELS = {"int8": "int8 (bitsandbytes)", "nf4": "nf4 (bitsandbytes)",
          "int4": "int4 (ONNX Runtime GenAI)"}
COLUMNS = ["run", "model", "precision", "engine", "status", "load s", "weights GB", "peak GB",
           "first token s", "tokens/s", "new tokens", "answer"]
PLOTS = (("tokens/s", "tokens/s ↑"), ("weights GB", "weights GB ↓"),
         ("first token s", "first token s ↓"))
NUMBERS = ["load s", "weights GB", "peak GB", "first token s", "tokens/s", "new tokens"]
WIDTHS = ["44px", "110px", "76px", "120px", "110px", "60px", "76px", "66px", "76px", "70px", "70px", "300px"]
CALCULATOR_DEVICES = ["Phone (8 GB)", "Laptop, CPU only (16 GB)", "T4 GPU (16 GB)",
                      "L4 GPU (24 GB)", "A100 (80 GB)", "H100 (80 GB)"]


def availability(device: str) -> dict[str, str | None]:
    """{precision: None if it runs on `device`, else why not}; measured by trying, see tests."""
    return {precision: precision_problem(precision, device) for precision in PRECISIONS}


def _pool_entry(pool, key: str, precision: str) -> dict | None:
    return next((m for m in pool.stats()["models"]
                 if m["model"] == key and m["precision"] == precision), None)


def measure(pool, key: str, precision: str, prompt: str, max_new_tokens: int, run: int,
            learner: str | None = None):
    """Yields progress strings, then one result row (a dict) for this precision. The rows'
    status stays English: it is data (the CSV, the checks); the progress is the learner's."""
    lang = who(learner)[1]
    problem = precision_problem(precision, pool.device)
    row = dict.fromkeys(COLUMNS, None) | {"run": run, "model": key, "precision": precision}
    if problem:
        yield row | {"status": f"unavailable: {problem}"}
        return
    entry = _pool_entry(pool, key, precision)
    cached = entry is not None and entry["state"] == "ready"
    greedy = Sampling(do_sample=False)  # same tokens for every precision unless quantization changes them
    update = None
    try:
        for update in answer_stream(pool, key, [{"role": "user", "content": prompt}],
                                    precision=precision, sampling=greedy,
                                    max_new_tokens=max_new_tokens, measure_memory=True,
                                    learner=learner):
            if update.loading:
                yield f"{precision}: {update.loading}"
            elif not update.final:
                yield f"{precision}: " + t(N_("generating ({count} characters so far)"), lang,
                                           count=len(update.answer))
    except gr.Error as exc:
        yield row | {"status": f"failed: {exc.message}"}
        return
    except Exception as exc:  # one precision failing (a kernel, memory) must not end the lab
        log.exception("edge lab: %s %s failed", key, precision)
        yield row | {"status": f"failed: {type(exc).__name__}: {exc}"}
        return
    final = update.final
    entry = _pool_entry(pool, key, precision) or {}
    yield row | {
        "engine": final.engine,
        "status": "ok (already loaded)" if cached else "ok",
        "load s": entry.get("load_seconds"),
        "weights GB": round((entry.get("bytes") or 0) / 1e9, 3),
        "peak GB": round((update.peak_bytes or 0) / 1e9, 3),
        "first token s": round(final.ttft_s, 3) if final.ttft_s is not None else None,
        "tokens/s": round(final.tokens_per_s, 1),
        "new tokens": final.new_tokens,
        "answer": " ".join(update.answer.split()),
    }


def compare(pool, model: str, precisions: list[str], prompt: str, max_new_tokens: int = 64,
            runs: list[dict] | None = None, learner: str | None = None):
    """Yields (status, rows) as each precision is measured; rows include earlier runs."""
    prompt = check_prompt(prompt, learner)
    lang = who(learner)[1]
    if model not in LAB_MODELS:
        raise gr.Error(t(N_("The lab compares {models}; {model} is not one of them."), lang,
                         models=", ".join(LAB_MODELS), model=repr(model)))
    precisions = [p for p in PRECISIONS if p in (precisions or [])]
    if not precisions:
        raise gr.Error(t(N_("Tick at least one precision to compare."), lang))
    rows = list(runs or [])
    run = 1 + max((r["run"] for r in rows), default=0)
    for i, precision in enumerate(precisions, 1):
        for item in measure(pool, model, precision, prompt, int(max_new_tokens), run, learner):
            if isinstance(item, dict):
                rows.append(item)
                yield t(N_("Run {run}: {precision} measured ({i} of {n})."), lang, run=run,
                        precision=precision, i=i, n=len(precisions)), rows
            else:
                yield t(N_("Run {run}, {i} of {n}: {progress}"), lang, run=run, i=i,
                        n=len(precisions), progress=item), rows
    yield t(N_("Run {run} done: {model} at {precisions}."), lang, run=run, model=model,
            precisions=", ".join(precisions)), rows


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def plot_frame(rows: list[dict]) -> pd.DataFrame:
    """The rows that ran, with short labels for the bar plots ("#2 nf4", plus the model when
    the session has compared more than one)."""
    done = [r for r in rows if str(r["status"]).startswith("ok")]
    several = len({r["model"] for r in done}) > 1
    data = pd.DataFrame([r | {"label": f"#{r['run']} {r['precision']}"
                              + (f" {r['model'].removeprefix('qwen')}" if several else "")}
                         for r in done], columns=COLUMNS + ["label"])
    # typed even when empty: the plot takes its axis types from the first frame it is given
    return data.astype({column: "float64" for column in NUMBERS} | {"run": "int64"})


def write_csv(rows: list[dict], folder: Path) -> str:
    path = folder / f"qwenlab-edge-{int(time.time())}.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


# -- memory calculator ---------------------------------------------------------------------------
def calculator(precision: str = "bf16", devices: list[str] | None = None,
               lang: str = "en") -> pd.DataFrame:
    """For each family model: the memory it needs at `precision` and where that fits."""
    if precision not in PRECISIONS:
        raise gr.Error(t(N_("Precision is one of {precisions}"), lang,
                         precisions=", ".join(PRECISIONS)))
    devices = devices or CALCULATOR_DEVICES
    rows = []
    for model in FAMILY:
        need = model.weight_bytes(precision) * KV_SPARE / 1e9
        row = {"model": model.name,
               "parameters": f"{model.params_b:g}B" + (f" ({model.active_b:g}B active)"
                                                       if model.active_b else ""),
               "needs GB": round(need, 1)}
        for name in devices:
            device = DEVICES[name]
            row[name] = "✅" if need <= device.memory_gb * device.usable else "❌"
        rows.append(row)
    return pd.DataFrame(rows)


FAMILY_BY_NAME = {model.name: model for model in FAMILY}


def _need_gb(model_name: str, precision: str) -> float:
    return FAMILY_BY_NAME[model_name].weight_bytes(precision) * KV_SPARE / 1e9


def _room_gb(device_name: str) -> float:
    device = DEVICES[device_name]
    return device.memory_gb * device.usable


# whole sentences, one per verdict (and per follow-up the biggest-fit check adds), so that a
# page in another language translates each as one pattern
VERDICTS = {
    False: N_("❌ **{model}** at **{precision}** needs {need} GB (weights plus 20%); **{device}** "
              "gives a model {room} GB ({share} of {memory} GB): it does not fit."),
    True: N_("✅ **{model}** at **{precision}** needs {need} GB (weights plus 20%); **{device}** "
             "gives a model {room} GB ({share} of {memory} GB): it fits."),
    "bigger": N_("✅ **{model}** at **{precision}** needs {need} GB (weights plus 20%); **{device}** "
                 "gives a model {room} GB ({share} of {memory} GB): it fits. A checkpoint with "
                 "more parameters fits too: look further."),
    "more bits": N_("✅ **{model}** at **{precision}** needs {need} GB (weights plus 20%); "
                    "**{device}** gives a model {room} GB ({share} of {memory} GB): it fits. It "
                    "also fits at {better}: more bits per weight, less rounding."),
}


def fit_verdict(model_name: str, precision: str, device_name: str, then=None,
                better: str = "") -> tuple[bool, str]:
    """Whether one checkpoint at one precision fits one device, with the arithmetic shown;
    then: "bigger" or "more bits" for the sentence the biggest-fit check adds to a fit."""
    if (model_name not in FAMILY_BY_NAME or device_name not in DEVICES
            or precision not in PRECISIONS):
        return False, N_("Choose a checkpoint, a precision and a device.")
    need, room = _need_gb(model_name, precision), _room_gb(device_name)
    device = DEVICES[device_name]
    fits = need <= room
    return fits, VERDICTS[then if fits and then else fits].format(
        model=model_name, precision=precision, need=f"{need:.1f}", device=device_name,
        room=f"{room:.1f}", share=f"{device.usable:.0%}", memory=f"{device.memory_gb:g}",
        better=better)


def largest_fit(device_name: str) -> tuple[str, str] | None:
    """(checkpoint, precision): the most parameters that fit the device, at the most bytes per
    parameter that still fits; None when nothing does."""
    room = _room_gb(device_name)
    fits = [(model.params_b, model.weight_bytes(precision), model.name, precision)
            for model in FAMILY for precision in PRECISIONS
            if _need_gb(model.name, precision) <= room]
    return max(fits)[2:] if fits else None


def fit_view(model_name: str, precision: str, device_name: str, lang: str = "en") -> str:
    return t(fit_verdict(model_name, precision, device_name)[1], lang)


# -- the machine that measured -------------------------------------------------------------------
BF16_FLAGS = {"avx512_bf16": "AVX512-BF16", "amx_bf16": "AMX-BF16"}  # as /proc/cpuinfo spells them


def cpu_facts(cpuinfo: str) -> tuple[str, list[str]]:
    """(model name, the bf16 instruction sets it lists) from the text of /proc/cpuinfo."""
    name, flags = "unknown CPU", set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and name == "unknown CPU":
            name = value.strip()
        elif key.strip() == "flags":
            flags |= set(value.split())
    return name, [label for flag, label in BF16_FLAGS.items() if flag in flags]


def machine_line(device: str) -> str:
    """What served this page's measurements, in one line: the GPU, or the CPU, its physical
    cores and the bf16 instructions it reports (read from the machine, not assumed)."""
    if device == "cuda":
        import torch  # loaded already: the lab has just run a model on this GPU

        bf16 = "supports bf16" if torch.cuda.is_bf16_supported() else "has no bf16"
        return f"{torch.cuda.get_device_name(0)} GPU, which {bf16}"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            name, bf16 = cpu_facts(f.read())
    except OSError:
        return f"{system.physical_cores()} physical CPU cores (their bf16 instructions unknown)"
    listed = ", ".join(bf16) if bf16 else "no bf16 instructions (AVX512-BF16, AMX)"
    return f"{name}, {system.physical_cores()} physical cores, listing {listed}"


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
COMPARE_NOTE = (
    "Same prompt, {tokens} new tokens, plain greedy decoding (repetition penalty 1.0) and the same "
    "loading arguments as the code above; first token and tokens/s are timed the same way. "
    "What differs: the lab loads through the app's shared pool, so a precision another "
    "learner has loaded already is reused (`ok (already loaded)`, with the time of its first "
    "load), and it also measures `peak GB`, the memory above the weights while answering.")


def run_compare(pool, model="qwen2.5-0.5b", precisions="bf16,int8,nf4",
                prompt="Explain in two sentences why the sky is blue.", max_new_tokens="48"):
    rows = []
    for status, rows in compare(pool, model, precisions.split(","), prompt, int(max_new_tokens)):
        yield status
    shown = [c for c in COLUMNS if c not in ("run", "engine")]
    table = markdown_table(shown, ([r[c] if r[c] is not None else "" for c in shown] for r in rows))
    yield (f"Measured on this server: {machine_line(pool.device)}.\n\n{table}\n\n"
           f"*ℹ️ {COMPARE_NOTE.format(tokens=int(max_new_tokens))}*")


def run_calculator(pool, precision="bf16"):
    table = calculator(precision)
    yield f"Weights at **{precision}** plus 20% for the KV cache and activations:\n\n" + \
        markdown_table(list(table.columns), table.itertuples(index=False))


def run_pool(pool):
    counters, models, events = pool_panel(pool)
    table = markdown_table(list(models.columns), models.itertuples(index=False)) \
        if len(models) else "No models loaded yet."
    stats = pool.stats()
    note = (f"This is the app's own pool, shared by every learner on this server, not the small "
            f"one the code above builds. Its budget is {stats['budget_bytes'] / 1e9:.1f} GB on "
            f"{stats['device']}, and it goes further than the cell: it charges each model its "
            f"measured bytes plus {config.HEADROOM:.0%} headroom, never evicts a model someone "
            f"is using, and loads a model once however many learners ask for it at the same time.")
    yield f"{counters}\n\n{table}\n\n{events}\n\n*ℹ️ {note}*"


RUNNERS = {"compare": run_compare, "calculator": run_calculator, "pool": run_pool}


def build(pool) -> dict:
    """The three tabs; returns the components the try-it checks read."""
    with gr.Tabs():
        with gr.Tab("Quantization lab"):
            ui = _lab(pool)
        with gr.Tab("Memory calculator"):
            ui |= _calculator()
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
        "(plain greedy decoding, no repetition penalty, so differences in the answers come "
        "from the precision). "
        "Results stay here for this session; download them as CSV.\n\n"
        + "\n".join(f"- **{p}** is unavailable on {pool.device}: {why}"
                    for p, why in problems.items() if why))
    with gr.Row():
        model = gr.Dropdown(LAB_MODELS, value="qwen2.5-0.5b", label="Checkpoint",
                            elem_id="edge-model")
        precisions = gr.CheckboxGroup(
            [(LABELS.get(p, p), p) for p in PRECISIONS], label="Precisions",
            elem_id="edge-precisions", value=[p for p in DEFAULT_PRECISIONS if not problems[p]])
    prompt = gr.Textbox("Explain in two sentences why the sky is blue.", lines=2,
                        label="Prompt", elem_id="edge-prompt")
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

    def handler(model, precisions, prompt, tokens, runs, request: gr.Request):
        rows = runs
        for message, rows in compare(pool, model, precisions, prompt, tokens, runs,
                                     learner_of(request)):
            yield message, frame(rows), *[plot_frame(rows)] * len(PLOTS), gr.skip(), rows
        yield (message, frame(rows), *[plot_frame(rows)] * len(PLOTS), write_csv(rows, folder),
               rows)

    outputs = [status, table, *plots, download, runs]
    event = go.click(handler, [model, precisions, prompt, tokens, runs], outputs,
                     api_name="edge_compare")
    stop.click(None, cancels=[event])
    clear.click(lambda: ("", frame([]), *[plot_frame([])] * len(PLOTS), None, []),
                None, outputs, api_visibility="private")
    return {"runs": runs}


def _calculator() -> dict:
    gr.Markdown("Weights at a precision plus 20% for the KV cache and activations, "
                "against what each device can give a model (the rest is for the system). "
                "MoE models need all their experts in memory, though only the active "
                "ones work on each token.")
    precision = gr.Radio(list(PRECISIONS), value="bf16", label="Precision",
                         elem_id="edge-calc-precision")
    with gr.Row():
        model = gr.Dropdown(list(FAMILY_BY_NAME), value="Qwen2.5-7B-Instruct",
                            label="Does this checkpoint, at the precision above, fit…",
                            elem_id="edge-fit-model")
        device = gr.Dropdown(list(DEVICES), value="Laptop GPU (6 GB)", label="…on this device?",
                             elem_id="edge-fit-device")
    verdict = gr.Markdown(fit_view("Qwen2.5-7B-Instruct", "bf16", "Laptop GPU (6 GB)"),
                          elem_id="edge-fit")
    table = gr.Dataframe(calculator("bf16"), interactive=False, elem_id="edge-calc")
    def calculator_view(precision, request: gr.Request):
        return calculator(precision, lang=lang_of(request))

    def verdict_view(model, precision, device, request: gr.Request):
        return fit_view(model, precision, device, lang_of(request))

    precision.change(calculator_view, precision, table, api_name="edge_calculator")
    gr.on([precision.change, model.change, device.change], verdict_view, [model, precision, device],
          verdict, api_visibility="private")
    return {"fit_model": model, "precision": precision, "fit_device": device}


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


# -- try-it tasks the app checks (lessons/en/06-edge.md, "Try it") ------------------------------
def lab_compared(runs, model: str, precisions: list[str]) -> tuple[bool, str]:
    """The lab has measured `model` at each of `precisions` this session; says what the
    weights came to, from the latest row of each."""
    latest = {r["precision"]: r for r in runs or [] if r["model"] == model}
    missing = [p for p in precisions if p not in latest]
    if missing:
        return False, N_("Run the lab on `{model}` with {precisions} ticked.").format(
            model=model, precisions=", ".join(missing))
    failed = [f"{p}: {latest[p]['status']}" for p in precisions
              if not str(latest[p]["status"]).startswith("ok")]
    if failed:
        return False, N_("Not measured on this server: {failed}").format(failed="; ".join(failed))
    weights = {p: latest[p]["weights GB"] for p in precisions}
    base, first = weights[precisions[0]], precisions[0]
    shares = ", ".join([f"{first} {base:.3f} GB"] + [
        f"{p} {weights[p]:.3f} GB" + (f" ({weights[p] / base:.0%} of {first})" if base else "")
        for p in precisions[1:]])
    return True, N_("`{model}` weights measured on this server: {shares}.").format(
        model=model, shares=shares)


def biggest_fit(model: str, precision: str, chosen_device: str, device: str) -> tuple[bool, str]:
    """The calculator shows the largest checkpoint that fits `device`, at a precision that fits."""
    if chosen_device != device:
        return False, N_("Choose *{device}* as the device first.").format(device=device)
    fits, verdict = fit_verdict(model, precision, device)
    if not fits:
        return False, verdict
    best_model, best_precision = largest_fit(device)
    if FAMILY_BY_NAME[model].params_b < FAMILY_BY_NAME[best_model].params_b:
        return False, fit_verdict(model, precision, device, "bigger")[1]
    spec = FAMILY_BY_NAME[model]
    if spec.weight_bytes(best_precision) > spec.weight_bytes(precision):
        return True, fit_verdict(model, precision, device, "more bits", best_precision)[1]
    return True, verdict


CHECKS = {"lab_compared": Check(("runs",), lab_compared),
          "biggest_fit": Check(("fit_model", "precision", "fit_device"), biggest_fit)}


if __name__ == "__main__":
    from webui.shell import serve_one

    serve_one("edge", build)
