"""The edge lab: one checkpoint loaded at several precisions through the pool, the same prompt
run greedily on each, and what each cost measured (load time, weights in memory, peak memory
while answering, time to first token, tokens/s); the machine that measured, named; rows that
pile up for the session and download as CSV. `compare()` is the one function behind the tab,
the `edge_compare` API and the lesson's Run button. The bar plots' data is plot.py's, the
memory calculator calculator.py's.
"""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path

import gradio as gr
import pandas as pd

from qwenlab import system
from qwenlab.loading import precision_problem
from qwenlab.registry import PRECISIONS, Sampling
from qwenlab.web.i18n import N_, t
from qwenlab.web.ui import answer_stream, check_prompt, learner_error, who

log = logging.getLogger(__name__)
# the first is the tab's default: today's smallest, which runs at every precision on a CPU
LAB_MODELS = ["qwen3.5-0.8b", "qwen3.5-2b", "qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-3b",
              "qwen2.5-7b", "qwen3-0.6b", "qwen3-1.7b"]
DEFAULT_PRECISIONS = ["bf16", "int8", "nf4", "int4"]
LABELS = {"int8": "int8 (bitsandbytes)", "nf4": "nf4 (bitsandbytes)",
          "int4": "int4 (ONNX Runtime GenAI)"}
COLUMNS = ["run", "model", "precision", "engine", "status", "load s", "weights GB", "peak GB",
           "first token s", "tokens/s", "new tokens", "answer"]
NUMBERS = ["load s", "weights GB", "peak GB", "first token s", "tokens/s", "new tokens"]
WIDTHS = ["44px", "110px", "76px", "120px", "110px", "60px", "76px", "66px", "76px", "70px",
          "70px", "300px"]


def availability(device: str) -> dict[str, str | None]:
    """{precision: None if it runs on `device`, else why not}; measured by trying, see tests."""
    return {precision: precision_problem(precision, device) for precision in PRECISIONS}


def _pool_entry(pool, key: str, precision: str) -> dict | None:
    return next((m for m in pool.stats()["models"]
                 if m["model"] == key and m["precision"] == precision), None)


async def measure(pool, key: str, precision: str, prompt: str, max_new_tokens: int, run: int,
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
        async for update in answer_stream(pool, key, [{"role": "user", "content": prompt}],
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


async def compare(pool, model: str, precisions: list[str], prompt: str, max_new_tokens: int = 64,
                  runs: list[dict] | None = None, learner: str | None = None):
    """Yields (status, rows) as each precision is measured; rows include earlier runs."""
    prompt = check_prompt(prompt, learner)
    lang = who(learner)[1]
    if model not in LAB_MODELS:
        raise learner_error(lang, t(N_("The lab compares {models}; {model} is not one of them."), lang,
                         models=", ".join(LAB_MODELS), model=repr(model)))
    precisions = [p for p in PRECISIONS if p in (precisions or [])]
    if not precisions:
        raise learner_error(lang, t(N_("Tick at least one precision to compare."), lang))
    rows = list(runs or [])
    run = 1 + max((r["run"] for r in rows), default=0)
    for i, precision in enumerate(precisions, 1):
        async for item in measure(pool, model, precision, prompt, int(max_new_tokens), run,
                                  learner):
            if isinstance(item, dict):
                rows.append(item)
                yield t(N_("Run {run}: {precision} measured ({i} of {n})."), lang, run=run,
                        precision=precision, i=i, n=len(precisions)), rows
            else:
                yield t(N_("Run {run}, {i} of {n}: {progress}"), lang, run=run, i=i,
                        n=len(precisions), progress=item), rows
    yield t(N_("Run {run} done: {model} at {precisions}."), lang, run=run, model=model,
            precisions=", ".join(precisions)), rows


def frame(rows: list[dict], lang: str = "en") -> pd.DataFrame:
    """The rows as the tab shows them: headers and statuses in `lang` (the rows themselves, the
    CSV and the checks keep the English; the headers are in the tables as the tab's own)."""
    table = pd.DataFrame([r | {"status": shown_status(r["status"], lang)} for r in rows],
                         columns=COLUMNS)
    return table.rename(columns={c: t(c, lang) for c in COLUMNS})


def shown_status(status: str | None, lang: str) -> str | None:
    """A row's English status in `lang`: "ok", "ok (already loaded)", "unavailable: why",
    "failed: why" (the reason translated where the table knows it)."""
    if not status or lang == "en":
        return status
    for prefix, template in (("unavailable: ", N_("unavailable: {why}")),
                             ("failed: ", N_("failed: {why}"))):
        if status.startswith(prefix):
            return t(template, lang, why=t(status.removeprefix(prefix), lang))
    return t(status, lang)  # "ok" or "ok (already loaded)", both in STATUSES


STATUSES = (N_("ok"), N_("ok (already loaded)"))  # marked for the string tables


def write_csv(rows: list[dict], folder: Path) -> str:
    path = folder / f"qwenlab-edge-{int(time.time())}.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


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
