"""Seconds per LoRA training step and peak memory, through the fine-tuning demo's own code
(qwenlab.finetune.train on a private pool copy), for a real Qwen shape with random weights.

    python bench/finetune.py [--key qwen2.5-0.5b] [--precisions fp32 bf16] [--steps 6]
                             [--batch 4 --length 128 --rank 8] [--root /tmp/qwenlab-shapes]

Every batch is padded to --length tokens (the examples are made long enough), so a step costs
what the lesson's figure says: batch x length tokens. The first step (allocation, warm-up) is
reported apart from the median of the rest. Prints one Markdown table; say which CPU it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def examples(count: int, length: int):
    from qwenlab.finetune import Example

    words = " ".join(["word"] * length)  # longer than the limit: every row is cut to --length
    return [Example(f"Question {i}?", f"Answer {i}: {words}") for i in range(count)]


def measure(pool, key: str, precision: str, args) -> dict:
    from qwenlab.finetune import LoraSettings, Started, Step, train
    from qwenlab.memory import PeakMemory

    settings = LoraSettings(steps=args.steps, rank=args.rank, batch_size=args.batch,
                            max_length=args.length)
    with pool.lease(key, precision) as _:
        pass  # warm the disk cache: load time is not what this measures
    pool.evict_idle()
    loaded = pool.acquire(key, precision, private=True)
    try:
        meter, steps, share = PeakMemory(loaded.device).start(), [], None
        for event in train(loaded.model, loaded.tokenizer, examples(args.batch * 2, args.length),
                           settings, threading.Event()):
            if isinstance(event, Started):
                share = event.share
            elif isinstance(event, Step):
                steps.append(event)
        peak = meter.stop()
    finally:
        pool.release(loaded)
    rest = [s.seconds for s in steps[1:]] or [steps[0].seconds]
    return {"precision": precision, "first step s": round(steps[0].seconds, 2),
            "s/step (median of rest)": round(statistics.median(rest), 2),
            "tokens/s": round(args.batch * args.length / statistics.median(rest)),
            "peak GB over weights": round(peak / 1e9, 2), "weights GB": round(loaded.nbytes / 1e9, 2),
            "trainable share": f"{share:.3%}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", default="qwen2.5-0.5b")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--root", default="/tmp/qwenlab-shapes")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tiny", help="a `qwenlab tiny` folder instead of the real shapes (a smoke run)")
    args = parser.parse_args()
    from shapes import model_dir

    os.environ["QWENLAB_MODEL_DIR"] = model_dir([args.key], args.root, args.tiny)
    from qwenlab.pool import ModelPool

    pool = ModelPool(budget_bytes=int(20e9), device=args.device)
    rows = [measure(pool, args.key, precision, args) for precision in args.precisions]
    print(f"{args.key} shape, random weights; batch {args.batch} x {args.length} tokens, rank "
          f"{args.rank}, {args.steps} steps; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} logical CPUs")
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
