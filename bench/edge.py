"""The edge lab on real shapes: what `qwenlab.demos.edge.lab.compare` measures, for random weights of the
real Qwen2.5-0.5B / 1.5B / Qwen3-0.6B shapes, printed as the table the note quotes.

    python bench/edge.py [--keys qwen2.5-0.5b qwen2.5-1.5b] [--precisions bf16 int8 nf4]
                         [--tokens 32] [--device cpu|cuda]

It calls the lab's own function through a real ModelPool, so the figures are the ones a
learner sees in the app. Each precision is loaded fresh (the pool is emptied between keys).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from shapes import REAL_SHAPES, model_dir  # noqa: E402

PROMPT = "Explain in a few sentences why the sky is blue."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", nargs="+", default=["qwen2.5-0.5b"], choices=list(REAL_SHAPES))
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "int8", "nf4"])
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--device", default=None)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "qwenlab-bench"))
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--tiny", help="a `qwenlab tiny` folder instead of the real shapes (a smoke run)")
    args = parser.parse_args()
    os.environ["QWENLAB_MODEL_DIR"] = model_dir(args.keys, args.dir, args.tiny)

    from qwenlab.demos.edge.lab import COLUMNS, compare
    from qwenlab.engines.stream import iterate
    from qwenlab.pool import ModelPool

    pool = ModelPool(budget_bytes=int(20e9), device=args.device)
    rows = []
    for key in args.keys:
        for status, rows in iterate(compare(pool, key, args.precisions, PROMPT, args.tokens, rows)):
            print(status, file=sys.stderr)
        pool.evict_idle()
    shown = [c for c in COLUMNS if c not in ("run", "answer")]
    print(f"device: {pool.device}, {args.tokens} new tokens, greedy\n")
    print("| " + " | ".join(shown) + " |\n|" + "---|" * len(shown))
    for row in rows:
        print("| " + " | ".join("" if row[c] is None else str(row[c]) for c in shown) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
