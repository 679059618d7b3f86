"""Pool overhead against plain transformers, same checkpoint and precision, one run.

    python bench/pool.py [--key qwen2.5-0.5b] [--precision bf16] [--tokens 64] [--repeats 3]

1. Swap: the pool evicts one idle model and loads another (a second registry key pointing at
   the same files) vs plain `from_pretrained` of the same folder (model and tokenizer, as a
   user loads them to chat). Target ratio <= 1.15.
   Meanwhile another thread asks `pool.stats()` (what every open page's header asks) every 10
   ms: its latency while the pool evicts and loads shows whether eviction holds the pool's lock
   (goal: p95 at most 0.3 s).
2. Streaming: tokens/s through `stream_chat` (thread, streamer, incremental decode, think split)
   vs plain `model.generate` on the same prompt ids, greedy, same token count. Target >= 0.9.
Runs are interleaved (A, B, A, B...) so machine noise hits both; medians are reported.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shapes import model_dir  # noqa: E402

TWIN = {"qwen2.5-0.5b": "qwen2.5-coder-0.5b", "qwen2.5-1.5b": "qwen2.5-coder-1.5b",
        "qwen3-0.6b": "qwen3-1.7b"}
PROMPT = [{"role": "user", "content": "Explain in a few sentences why the sky is blue."}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", default="qwen2.5-0.5b", choices=list(TWIN))
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "qwenlab-bench"))
    parser.add_argument("--tiny", help="a `qwenlab tiny` folder instead of the real shapes (a smoke run)")
    args = parser.parse_args()

    root = Path(model_dir([args.key], args.dir, args.tiny))
    folder = root / args.key
    twin = root / TWIN[args.key]
    if not twin.exists():
        twin.symlink_to(folder.name)
    os.environ["QWENLAB_MODEL_DIR"] = str(root)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from qwenlab.events import collect
    from qwenlab.generation import stream_chat
    from qwenlab.loading import load_kwargs
    from qwenlab.pool import ModelPool, release_memory
    from qwenlab.prompts import build_inputs, prepare_messages
    from qwenlab.registry import Sampling

    kwargs = load_kwargs(args.precision, "cpu")
    pool = ModelPool(budget_bytes=int(1.8 * 1e9 * (2 if args.precision == "fp32" else 1)), device="cpu")
    pool.release(pool.acquire(TWIN[args.key], args.precision))  # something to evict

    plain_load, swap, waits = [], [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        plain_load.append(time.perf_counter() - started)
        del model, tokenizer
        gc.collect()
        release_memory()
        # swap: evict the idle twin, load the key (and then the reverse next round)
        for key in (args.key, TWIN[args.key]):
            with StatsProbe(pool, waits):
                started = time.perf_counter()
                loaded = pool.acquire(key, args.precision)
                elapsed = time.perf_counter() - started
                pool.release(loaded)
            if key == args.key:
                swap.append(elapsed)

    greedy = Sampling(do_sample=False)
    plain_tps, stream_tps = [], []
    with pool.lease(args.key, args.precision) as loaded:
        inputs = build_inputs(loaded, prepare_messages(PROMPT, vision=False), None)
        for _ in range(args.repeats):
            started = time.perf_counter()
            with torch.inference_mode():
                out = loaded.model.generate(**inputs, max_new_tokens=args.tokens, do_sample=False,
                                            repetition_penalty=1.0)
            new = out.shape[1] - inputs["input_ids"].shape[1]
            plain_tps.append(new / (time.perf_counter() - started))
            started = time.perf_counter()
            _, _, final = collect(stream_chat(loaded, PROMPT, max_new_tokens=args.tokens, sampling=greedy))
            stream_tps.append(final.new_tokens / (time.perf_counter() - started))
            assert final.new_tokens == new, (final.new_tokens, new)

    result = {
        "key": args.key, "precision": args.precision, "tokens": args.tokens, "repeats": args.repeats,
        "threads": torch.get_num_threads(),
        "plain_from_pretrained_s": round(statistics.median(plain_load), 2),
        "pool_swap_s": round(statistics.median(swap), 2),
        "swap_ratio": round(statistics.median(swap) / statistics.median(plain_load), 3),
        "plain_generate_tps": round(statistics.median(plain_tps), 2),
        "pool_stream_tps": round(statistics.median(stream_tps), 2),
        "stream_ratio": round(statistics.median(stream_tps) / statistics.median(plain_tps), 3),
        "stats_during_swaps_p95_s": round(sorted(waits)[int(0.95 * (len(waits) - 1))], 3),
        "stats_during_swaps_max_s": round(max(waits), 3),
        "raw": {"plain_load": plain_load, "swap": swap, "plain_tps": plain_tps, "stream_tps": stream_tps},
    }
    print(json.dumps(result, indent=2))
    print(f"\nswap {result['pool_swap_s']} s vs from_pretrained {result['plain_from_pretrained_s']} s "
          f"-> {result['swap_ratio']}x (target <= 1.15)")
    print(f"stream {result['pool_stream_tps']} tok/s vs generate {result['plain_generate_tps']} tok/s "
          f"-> {result['stream_ratio']}x (target >= 0.9)")
    print(f"pool.stats() while the pool evicts and loads: p95 {result['stats_during_swaps_p95_s']} s,"
          f" max {result['stats_during_swaps_max_s']} s over {len(waits)} calls (goal: p95 <= 0.3 s)")


class StatsProbe:
    """Times pool.stats() every 10 ms from another thread while the block runs."""

    def __init__(self, pool, waits: list):
        import threading

        self.pool, self.waits, self.stop = pool, waits, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            self.pool.stats()
            self.waits.append(time.perf_counter() - started)
            self.stop.wait(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


if __name__ == "__main__":
    main()
