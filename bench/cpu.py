"""The fast CPU path, measured: transformers bf16 against ONNX Runtime GenAI int4 on random
weights of the real Qwen2.5-0.5B and Qwen3-0.6B shapes, through the app's streaming path
(pool + stream_chat: chat template, incremental decoding, thinking split, stats) and with each
engine called directly (for int4, one og generator through the C API the engine binds), in
one run.

    python bench/cpu.py [--keys qwen2.5-0.5b qwen3-0.6b] [--tokens 128] [--repeats 3] [--tiny DIR]

Decode tokens/s counts from the first new token to the last; time to first token is measured
for a prompt of about 100 tokens. Runs are interleaved and medians reported. Targets (2-core
machine): >= 25 tokens/s for the 0.5B shape through the app path, no more than 10% below the
engine called directly, under 1 s to the first token.
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
from shapes import REAL_SHAPES, model_dir  # noqa: E402

PROMPT = ("You are helping a class of students revise for an exam on the water cycle. Explain, "
          "in clear and simple steps, how water evaporates from the oceans, forms clouds, falls "
          "as rain or snow, and returns to the sea through rivers and groundwater. Mention the "
          "role of the sun, of temperature and of plants, and end with one sentence on why the "
          "water cycle matters for farming and for drinking water in cities.")


def direct_transformers(loaded, ids, tokens):
    """model.generate with a streamer that only timestamps: the engine with nothing around it."""
    import torch
    from transformers.generation.streamers import BaseStreamer

    stamps = []

    class Clock(BaseStreamer):
        def put(self, value):
            stamps.append(time.perf_counter())

        def end(self):
            pass

    started = time.perf_counter()
    with torch.inference_mode():
        loaded.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                              max_new_tokens=tokens, min_new_tokens=tokens, streamer=Clock())
    stamps = stamps[1:]  # the first put() is the prompt
    return stamps[0] - started, (len(stamps) - 1) / (stamps[-1] - stamps[0])


def direct_onnx(loaded, ids, tokens):
    """One og generator through the same C API the engine binds (engines/oga.py): the prompt
    read, then one token a step, with nothing around it."""
    from qwenlab.engines import oga

    length = ids.shape[1] + tokens
    started = time.perf_counter()
    generator = oga.Generator(loaded.model, {"do_sample": False, "max_length": length,
                                             "min_length": length}, [ids[0].tolist()], pad_id=0)
    stamps = []
    try:
        while not generator.done():
            generator.step()
            stamps.append(time.perf_counter())
    finally:
        generator.close()
    return stamps[0] - started, (len(stamps) - 1) / (stamps[-1] - stamps[0])


def app_path(loaded, tokens):
    from qwenlab.events import Final
    from qwenlab.generation import stream_chat
    from qwenlab.registry import Sampling

    for event in stream_chat(loaded, [{"role": "user", "content": PROMPT}], thinking=False,
                             max_new_tokens=tokens, sampling=Sampling(do_sample=False)):
        pass
    assert isinstance(event, Final)
    return event.ttft_s, event.tokens_per_s, event.new_tokens, event.prompt_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", nargs="+", default=["qwen2.5-0.5b", "qwen3-0.6b"],
                        choices=list(REAL_SHAPES))
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "qwenlab-bench"))
    parser.add_argument("--tiny", help="a `qwenlab tiny` folder instead of the real shapes (a smoke run)")
    args = parser.parse_args()
    os.environ["QWENLAB_MODEL_DIR"] = model_dir(args.keys, args.dir, args.tiny)

    from qwenlab.pool import ModelPool
    from qwenlab.prompts import build_inputs, prepare_messages

    pool = ModelPool(budget_bytes=int(20e9), device="cpu")
    rows = []
    for key in args.keys:
        for precision, direct in (("bf16", direct_transformers), ("int4", direct_onnx)):
            started = time.perf_counter()
            with pool.lease(key, precision,
                            progress=lambda s, f, m: print(f"  {m}", file=sys.stderr)) as loaded:
                ready = time.perf_counter() - started
                ids = build_inputs(loaded, prepare_messages(
                    [{"role": "user", "content": PROMPT}], False), False)["input_ids"]
                app_path(loaded, 8)  # warm-up: first-call allocations, kernel choice
                samples = {"app": [], "direct": []}
                for _ in range(args.repeats):  # interleaved: noise hits both alike
                    ttft, rate, new, prompt = app_path(loaded, args.tokens)
                    samples["app"].append((ttft, rate))
                    samples["direct"].append(direct(loaded, ids, args.tokens))
            pool.evict_idle()
            med = {k: (statistics.median(t for t, _ in v), statistics.median(r for _, r in v))
                   for k, v in samples.items()}
            rows.append((key, precision, loaded.engine.name, prompt,
                         round(ready, 1), *(round(x, 2) for x in med["app"]),
                         *(round(x, 2) for x in med["direct"]),
                         f"{med['app'][1] / med['direct'][1]:.2f}"))
            print(rows[-1], file=sys.stderr)
    threads = os.environ.get("QWENLAB_ONNX_THREADS", "physical cores")
    print(f"\n{args.tokens} new tokens, greedy, medians of {args.repeats}; ONNX threads: {threads}\n")
    header = ["shape", "precision", "engine", "prompt tokens", "load/convert s",
              "app TTFT s", "app tokens/s", "direct TTFT s", "direct tokens/s", "app/direct"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |")


if __name__ == "__main__":
    main()
