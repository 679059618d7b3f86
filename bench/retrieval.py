"""Ask the course on real shapes: how long indexing one language's lessons takes, and a query's
latency with and without reranking, through qwenlab.retrieval as the demo calls it.

    python bench/retrieval.py [--lang en] [--queries 20] [--tiny DIR]

Random weights of the real Qwen3-Embedding-0.6B and Qwen3-Reranker-0.6B shapes (Qwen3-0.6B's
config), so the times are the real models' and the rankings are noise. The index is built in a
fresh cache folder, so the first figure is a whole build.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from shapes import model_dir  # noqa: E402

QUESTIONS = ["How do I turn thinking off on Qwen3.5?", "What is a visual token?",
             "Which precision fits a 7B model on an L4?", "How does LoRA save memory?",
             "What does the reranker score?", "Why do Burmese sentences cost more tokens?",
             "How do I serve Qwen3.5 with tool calls in vLLM?", "What is Gated DeltaNet?"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="en")
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "qwenlab-bench"))
    parser.add_argument("--tiny", help="a `qwenlab tiny` folder instead of the real shapes")
    args = parser.parse_args()
    from qwenlab import retrieval

    os.environ["QWENLAB_MODEL_DIR"] = model_dir([retrieval.EMBEDDER, retrieval.RERANKER],
                                                args.dir, args.tiny)
    os.environ["QWENLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="qwenlab-index-")
    from qwenlab.lessons import load_lessons
    from qwenlab.pool import ModelPool

    pool = ModelPool(budget_bytes=int(8e9), device="cpu")
    lessons = load_lessons(args.lang)
    found = retrieval.passages(lessons)
    builds = retrieval.Builds(pool, load_lessons)
    with pool.lease(retrieval.EMBEDDER), pool.lease(retrieval.RERANKER):
        pass  # both loaded before the clock starts: a load is not an index build
    started = time.perf_counter()
    while (state := builds.get(args.lang)).index is None:
        if state.error:
            raise SystemExit(state.error)
        time.sleep(0.05)
    build_s = time.perf_counter() - started
    plain, reranked = [], []
    for i in range(args.queries):
        question = QUESTIONS[i % len(QUESTIONS)]
        t0 = time.perf_counter()
        first = retrieval.search(pool, state.index, question)
        t1 = time.perf_counter()
        retrieval.rerank(pool, question, first)
        t2 = time.perf_counter()
        plain.append(t1 - t0)
        reranked.append(t2 - t0)
    print(f"\n{len(lessons)} lessons ({args.lang}), {len(found)} passages, "
          f"{sum(len(p.text) for p in found):,} characters; device cpu, "
          f"{os.cpu_count()} CPUs\n")
    print("| step | p50 s | p95 s |\n|---|---|---|")
    print(f"| index build (all passages) | {build_s:.1f} | - |")
    print(f"| query, embedding search only | {statistics.median(plain):.3f} | "
          f"{percentile(plain, 0.95):.3f} |")
    print(f"| query, search + rerank {len(first)} | {statistics.median(reranked):.3f} | "
          f"{percentile(reranked, 0.95):.3f} |")


if __name__ == "__main__":
    main()
