"""The CPU classroom without the web app: N answers at once straight through the pool's int4
engine (int4 lanes by default), in threads of one process, no Gradio and no clients.

    python bench/lanes.py [--learners 1 16 32] [--tokens 64] [--key qwen3-0.6b]

bench/classroom.py measures what learners see through the app, but its 32 gradio_client
learners run on the same two cores as the server; this measures the engine alone, so the two
together say how much of a round goes to the engine and how much to serving and the clients.
Reported per N: aggregate tokens/s, time to first text p50 / p95, wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from shapes import REAL_SHAPES, model_dir  # noqa: E402

QUESTION = [{"role": "user", "content": "Explain in a few sentences why the sky is blue."}]


def one(loaded, spec, tokens: int, began: float, results: list) -> None:
    from qwenlab.events import TextDelta
    from qwenlab.generation import stream_chat

    first = None
    for event in stream_chat(loaded, QUESTION, thinking=False, max_new_tokens=tokens,
                             sampling=spec.preset()):
        if first is None and isinstance(event, TextDelta) and event.text:
            first = time.perf_counter() - began
    results.append(first)


def round_of(loaded, spec, n: int, tokens: int) -> str:
    results: list = []
    began = time.perf_counter()
    threads = [threading.Thread(target=one, args=(loaded, spec, tokens, began, results))
               for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    firsts = sorted(results)
    p95 = firsts[min(len(firsts) - 1, round(0.95 * (len(firsts) - 1)))]
    return (f"| {n} | {n * tokens / wall:.1f} | {statistics.median(firsts):.2f} | {p95:.2f} "
            f"| {wall:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", nargs="+", type=int, default=[1, 16, 32])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--key", default="qwen3-0.6b", choices=list(REAL_SHAPES))
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "qwenlab-bench"))
    parser.add_argument("--tiny", help="a `qwenlab tiny` folder instead of the real shapes (a smoke run)")
    args = parser.parse_args()
    os.environ["QWENLAB_MODEL_DIR"] = model_dir([args.key], args.dir, args.tiny)
    from qwenlab.pool import ModelPool
    from qwenlab.registry import get_model

    spec = get_model(args.key)
    with ModelPool(device="cpu").lease(args.key) as loaded:
        print(f"{args.key} on {type(loaded.engine).__name__}, {args.tokens} new tokens each\n")
        round_of(loaded, spec, 1, args.tokens)  # warm-up: the engine sizes its buffers
        print("| learners | tokens/s (all) | first text p50 s | p95 s | wall s |")
        print("|---|---|---|---|---|")
        for n in args.learners:
            print(round_of(loaded, spec, n, args.tokens), flush=True)


if __name__ == "__main__":
    main()
