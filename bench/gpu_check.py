"""Every GPU path of Qwen Lab, checked in one command on a machine with an NVIDIA GPU.

    python bench/gpu_check.py [--out gpu-report] [--dry-run] [--skip classroom ...]

On CUDA it runs, in order, each a step of the report:

| step       | what                                                                     | target |
|------------|--------------------------------------------------------------------------|--------|
| tests      | `pytest -m gpu tests/test_gpu.py` (bitsandbytes int8/nf4, eviction)       | passes |
| eviction   | a 1.5B-shape model at nf4 loaded, answered, evicted: GPU memory returned  | within 50 MB |
| edge       | the edge lab (qwenlab.demos.edge.lab.compare) on the 0.5B and 1.5B shapes, bf16/int8/nf4 | int8 and nf4 load and answer |
| streaming  | one learner: the app's stream (pool + stream_chat) against plain `generate` | >= 0.9x |
| moonshot   | the same stream's tokens/s on the 0.5B shape (reported, not a gate)      | >= 150 tokens/s |
| classroom  | bench/classroom.py, batching on and off, 1 / 16 / 32 learners             | 16: >= 8x one, p95 TTFT < 2 s |
| vision     | the vision demo's own `ask` at nf4 on Qwen2.5-VL-3B's shape               | loads and answers |

Models are random weights of the real shapes (bench/shapes.py), built on the machine. It writes
OUT.md (the report) and OUT.json (every figure), and exits 1 naming each target missed. Without
CUDA it says so, lists what it would run and exits 0; `--dry-run` does only the listing.

A GPU machine with no network needs the wheels to travel with the repository: on a machine
with network, `pip download -d .wheels bitsandbytes gradio gradio_client peft qwen-vl-utils
markdown-it-py mdit-py-plugins pyyaml` (plus `torch torchvision` if the GPU machine lacks them),
ignore the folder (`echo /.wheels/ >> .git/info/exclude`), carry it, and there run
`pip install --no-index --find-links .wheels -e . && python bench/gpu_check.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

STEPS = ("tests", "eviction", "edge", "streaming", "moonshot", "classroom", "vision")
TARGETS = {  # step -> the sentence the report prints when it is missed
    "tests": "tests/test_gpu.py passes",
    "eviction": "eviction returns GPU memory to within 50 MB",
    "edge": "int8 and nf4 load and answer in the edge lab",
    "streaming": "app streaming >= 0.9x plain generate for one learner",
    "classroom": "16 learners >= 8x one learner's tokens/s, p95 time to first token < 2 s",
    "vision": "the vision demo answers at nf4 on Qwen2.5-VL-3B's shape",
}
MOONSHOT_TOKENS_S = 150.0


def cuda_available() -> bool:
    from qwenlab import system

    return system.cuda_available()


def step_tests(args) -> dict:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "gpu",
               "tests/test_gpu.py"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    tail = (done.stdout + done.stderr).strip().splitlines()[-1:]
    return {"ok": done.returncode == 0, "summary": tail[0] if tail else "", "command": " ".join(command)}


def step_eviction(args) -> dict:
    import gc

    import torch

    from qwenlab.generation import stream_chat
    from qwenlab.pool import ModelPool

    gc.collect()
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated()
    pool = ModelPool(budget_bytes=int(40e9), device="cuda")
    with pool.lease("qwen2.5-1.5b", "nf4") as loaded:
        *_, final = stream_chat(loaded, [{"role": "user", "content": "hi"}], max_new_tokens=8)
        held = torch.cuda.memory_allocated() - before
    pool.evict_idle()
    gc.collect()
    left = torch.cuda.memory_allocated() - before
    return {"ok": left < 50e6 and final.new_tokens >= 1, "held_mb": round(held / 1e6),
            "left_mb": round(left / 1e6)}


def step_edge(args) -> dict:
    from qwenlab.demos.edge.lab import compare
    from qwenlab.pool import ModelPool

    pool = ModelPool(budget_bytes=int(60e9), device="cuda")
    rows: list = []
    for key in ("qwen2.5-0.5b", "qwen2.5-1.5b"):
        for _status, rows in compare(pool, key, ["bf16", "int8", "nf4"], "Why is the sky blue?",
                                     32, rows):
            pass
        pool.evict_idle()
    answered = {(r.get("model"), r.get("precision")) for r in rows if r.get("tokens/s")}
    quantized = [r for r in rows if r.get("precision") in ("int8", "nf4")]
    ok = bool(quantized) and all((r.get("model"), r.get("precision")) in answered for r in quantized)
    return {"ok": ok, "rows": rows}


def step_streaming(args, key: str = "qwen2.5-0.5b") -> dict:
    from cpu import PROMPT, app_path, direct_transformers

    from qwenlab.pool import ModelPool
    from qwenlab.prompts import build_inputs, prepare_messages

    pool = ModelPool(budget_bytes=int(40e9), device="cuda")
    with pool.lease(key, "bf16") as loaded:
        ids = build_inputs(loaded, prepare_messages([{"role": "user", "content": PROMPT}], False),
                           False)["input_ids"].to("cuda")
        app_path(loaded, 8)  # warm-up
        app = [app_path(loaded, args.tokens)[1] for _ in range(3)]
        plain = [direct_transformers(loaded, ids, args.tokens)[1] for _ in range(3)]
        engine = loaded.engine.name
    pool.evict_idle()
    app_rate, plain_rate = sorted(app)[1], sorted(plain)[1]
    return {"ok": app_rate >= 0.9 * plain_rate, "engine": engine, "app_tokens_s": round(app_rate, 1),
            "generate_tokens_s": round(plain_rate, 1), "ratio": round(app_rate / plain_rate, 2)}


def step_classroom(args) -> dict:
    runs = {}
    for batching in ("on", "off"):
        out = Path(tempfile.gettempdir()) / f"gpu-classroom-{batching}.json"
        env = dict(os.environ, QWENLAB_BATCHING=batching)
        command = [sys.executable, str(HERE / "classroom.py"), "--learners", "1", "16", "32",
                   "--key", "qwen2.5-0.5b", "--json", str(out), "--dir", args.dir]
        subprocess.run(command, cwd=ROOT, env=env, check=False)
        runs[batching] = json.loads(out.read_text())["rows"] if out.is_file() else []
    rows = {r["learners"]: r for r in runs["on"]}
    one, sixteen = rows.get(1), rows.get(16)
    ok = bool(one and sixteen) and sixteen["tokens/s"] >= 8 * one["tokens/s"] \
        and (sixteen["ttft p95"] or 1e9) < 2.0 and not sixteen["errors"]
    return {"ok": ok, "batching on": runs["on"], "batching off": runs["off"]}


def step_vision(args) -> dict:
    from shapes import build_real_shape

    from qwenlab.demos.vision import ask
    from qwenlab.pool import ModelPool

    build_real_shape("qwen2.5-vl-3b", Path(args.dir))
    image = next(iter(sorted((ROOT / "demos" / "vision" / "images").glob("*.png"))), None)
    pool = ModelPool(budget_bytes=int(40e9), device="cuda")
    started, chat, stats = time.perf_counter(), [], ""
    for chat, stats in ask(pool, str(image) if image else None, "What is in this picture?",
                           model="qwen2.5-vl-3b", precision="nf4", max_new_tokens=32):
        pass
    pool.evict_idle()
    answered = bool(chat) and chat[-1]["role"] == "assistant" and bool(stats)
    return {"ok": answered, "stats": stats, "seconds": round(time.perf_counter() - started, 1)}


RUNNERS = {"tests": step_tests, "eviction": step_eviction, "edge": step_edge,
           "streaming": step_streaming, "classroom": step_classroom, "vision": step_vision}


def report(results: dict, out: Path) -> list[str]:
    """Write OUT.md and OUT.json; return the targets missed."""
    missed = [TARGETS[step] for step, r in results.items() if step in TARGETS and not r.get("ok")]
    lines = ["# Qwen Lab GPU check", "", f"device: {results.get('device', '?')}", "",
             "| step | result | figures |", "|---|---|---|"]
    for step, r in results.items():
        if step == "device":
            continue
        figures = {k: v for k, v in r.items() if k not in ("ok", "rows", "batching on", "batching off")}
        lines.append(f"| {step} | {'met' if r.get('ok') else 'MISSED'} | {json.dumps(figures)} |")
    for step in ("edge", "classroom"):
        for name in ("rows", "batching on", "batching off"):
            if results.get(step, {}).get(name):
                lines += ["", f"## {step}: {name}", "", "```json",
                          json.dumps(results[step][name], indent=1), "```"]
    lines += ["", "Missed: " + ("; ".join(missed) if missed else "none")]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps(results, indent=1, default=str))
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "gpu-report")
    parser.add_argument("--dry-run", action="store_true", help="list the steps and exit")
    parser.add_argument("--skip", nargs="*", default=[], choices=STEPS)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "qwenlab-bench"))
    args = parser.parse_args(argv)
    steps = [s for s in STEPS if s not in args.skip]
    cuda = cuda_available()
    if args.dry_run or not cuda:
        if not cuda:
            print("No CUDA device here: nothing to check. On a machine with an NVIDIA GPU this runs:")
        for step in steps:
            print(f"  {step:10} {TARGETS.get(step, f'>= {MOONSHOT_TOKENS_S:.0f} tokens/s for one learner (reported)')}")
        return 0
    from shapes import build_real_shape

    for key in ("qwen2.5-0.5b", "qwen2.5-1.5b"):
        build_real_shape(key, Path(args.dir))
    os.environ["QWENLAB_MODEL_DIR"] = args.dir
    import torch

    results: dict = {"device": torch.cuda.get_device_name(0)}
    for step in steps:
        if step == "moonshot":
            rate = results.get("streaming", {}).get("app_tokens_s", 0.0)
            results["moonshot"] = {"ok": rate >= MOONSHOT_TOKENS_S, "app_tokens_s": rate}
            continue
        print(f"== {step}", flush=True)
        try:
            results[step] = RUNNERS[step](args)
        except Exception as exc:  # a crashed step is a missed target with its reason
            results[step] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
        print(json.dumps({k: v for k, v in results[step].items() if k != "rows"}, default=str)[:400])
    missed = report(results, args.out)
    print(f"report: {args.out.with_suffix('.md')}")
    for target in missed:
        print(f"MISSED: {target}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
