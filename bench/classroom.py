"""A classroom on one machine: N simulated learners ask the same demo at once, over HTTP
against the real app, as browsers do.

    python bench/classroom.py [--learners 1 4 16 32] [--tokens 64] [--key qwen3-0.6b]
                              [--url http://host:port/] [--json FILE] [--client sse|gradio_client]

Without --url it starts `app.py` on random weights of the real shape (bench/shapes.py) with
the operator's limits from the environment (QWENLAB_MAX_ACTIVE_PER_MODEL and friends). Each
learner opens a session (as a page someone has open: the server builds a session's state at
its first request), then all send one question to the `thinking` API with thinking off.
Reported per N: aggregate tokens/s (all new tokens / wall time of the round), time to first
token p50 / p95 as the learner sees it (first streamed text, queueing included), errors, and
the ratio to N = 1. A learner with no reply after 300 s counts as an error.

The learners (`Page`) speak Gradio's queue protocol from one asyncio loop, using under a
second of CPU for a round of 32; `--client gradio_client` gives each a gradio_client Client in
a thread instead, as before, and those took about a quarter of a 2-core machine's CPU (which,
in a classroom, the learners' own browsers spend on their own machines).

On a CPU, compare the default (int4 lanes, 32 answers at once) with batched bf16:
    python bench/classroom.py
    QWENLAB_CPU_ENGINE=transformers QWENLAB_BATCHING=on python bench/classroom.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shapes import REAL_SHAPES, build_real_shape  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Explain in a few sentences why the sky is blue."


def start_app(model_dir: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, QWENLAB_MODEL_DIR=model_dir, GRADIO_SERVER_PORT=str(port),
               GRADIO_SERVER_NAME="127.0.0.1", GRADIO_ANALYTICS_ENABLED="False")
    log = open(Path(tempfile.gettempdir()) / f"qwenlab-classroom-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"the app did not start; see {log.name}")


def learner(url: str, key: str, tokens: int, results: list, ready: threading.Semaphore,
            start: threading.Event) -> None:
    from gradio_client import Client

    try:  # one browser session per learner, open as a page someone is reading: the server
        client = Client(url, verbose=False)  # builds a session's state at its first request,
        client.predict(api_name="/pool_status")  # which a browser makes when the page loads
    except Exception as exc:
        results.append(failed(f"could not open the page: {exc}"))
        return
    finally:
        ready.release()
    start.wait()
    began = time.perf_counter()
    first = None
    try:
        job = client.submit([], QUESTION, key, False, 0, tokens, api_name="/thinking")
        for chat, _stats in job:
            if first is None and shows_text(chat):
                first = time.perf_counter() - began
        results.append(answered(first, job.result()[1]))
    except Exception as exc:  # a refused or failed request is a result, not a crash
        results.append(failed(str(exc)))


def shows_text(chat: list) -> bool:
    """Whether a chat's last message is the answer's first text (not a place in line, a load,
    or the placeholder)."""
    text = _text(chat[-1]["content"]) if chat else ""
    return bool(chat) and chat[-1]["role"] == "assistant" and bool(text) \
        and not text.startswith("⏳") and text != "…"


def answered(first: float | None, stats: str) -> dict:
    """A learner's result row: time to first text, and new tokens from the stats line."""
    return {"ttft": first, "tokens": int(re.match(r"(\d+) tokens", stats)[1]), "error": None,
            "done": time.perf_counter()}


def failed(error: str) -> dict:
    return {"ttft": None, "tokens": 0, "error": error[:120], "done": time.perf_counter()}


def _text(content) -> str:
    """A chat message's text: Gradio 6 sends content as a list of {"type": "text"} parts."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else str(content)


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (NaN when empty)."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, -(-int(q * 100) * len(ordered) // 100) - 1))]


class Page:
    """One learner's open page, speaking Gradio's queue protocol as the browser does: join an
    event (POST queue/join), read its messages (GET queue/data, server-sent events), apply the
    streamed diffs. One asyncio loop runs every learner: 32 gradio_client instances (a
    heartbeat thread each, a thread polling every job, a deep copy of the whole chat per
    update) took a quarter of the two cores the server needs, which browsers on the learners'
    own machines would not."""

    def __init__(self, http, url: str, config: dict):
        self.http, self.url, self.config = http, url, config
        self.session = uuid.uuid4().hex[:11]
        self.prefix = url + config.get("api_prefix", "/gradio_api").strip("/") + "/"
        self.kinds = {c["id"]: c["type"] for c in config["components"]}

    async def call(self, api_name: str, args: list, on_update=None) -> list:
        """The endpoint's final outputs; `on_update(outputs)` for every streamed update."""
        dep = next(d for d in self.config["dependencies"] if d.get("api_name") == api_name)
        values = iter(args)  # as gradio_client: the session's own state where an input is gr.State
        data = [None if self.kinds.get(i) == "state" else next(values) for i in dep["inputs"]]
        joined = await self.http.post(self.prefix + "queue/join", json={
            "data": data, "fn_index": dep["id"], "session_hash": self.session,
            "event_data": None, "trigger_id": None})
        joined.raise_for_status()
        event = joined.json()["event_id"]
        outputs = None
        async with self.http.stream("GET", self.prefix + "queue/data",
                                    params={"session_hash": self.session}) as stream:
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") != event:
                    continue
                if message["msg"] == "process_generating":
                    data = message["output"]["data"]
                    outputs = list(data) if outputs is None else [
                        apply_diff(old, diff) for old, diff in zip(outputs, data)]
                    if on_update:
                        on_update(outputs)
                elif message["msg"] == "process_completed":
                    if not message.get("success", True):
                        raise RuntimeError(message["output"].get("error") or "the app failed")
                    return message["output"]["data"]
        raise RuntimeError("the event stream ended before the answer did")


def apply_diff(value, diff: list):
    """Gradio's streamed diff ([action, path, value] edits) applied in place."""
    for action, path, new in diff:
        if not path:
            value = new if action == "replace" else value + new
            continue
        target = value
        for step in path[:-1]:
            target = target[step]
        if action == "replace" or (action == "add" and not isinstance(target, list)):
            target[path[-1]] = new
        elif action == "append":
            target[path[-1]] += new
        elif action == "add":
            target.insert(int(path[-1]), new)
        elif action == "delete":
            del target[path[-1] if not isinstance(target, list) else int(path[-1])]
    return value


async def sse_round(url: str, n: int, key: str, tokens: int, deadline: float,
                    probes: list | None = None, threads: Threads | None = None,
                    stagger: float = 0.0):
    """(results, start time) of n learners asking at once, as Page clients; with `probes`, one
    more page asks for /pool_status every PROBE_S meanwhile and appends each latency; with
    `threads`, the server's threads are counted while the learners wait and read (once every
    page is open). With `stagger`, learner i asks i * stagger seconds after the first, and
    each one's first text is timed from their own question."""
    import httpx

    limits = httpx.Limits(max_connections=4 * n + 12, max_keepalive_connections=4 * n + 12)
    async with httpx.AsyncClient(timeout=httpx.Timeout(deadline), limits=limits) as http:
        config = (await http.get(url + "config")).json()
        pages = [Page(http, url, config) for _ in range(n + 1)]
        opened = await asyncio.gather(*(p.call("pool_status", []) for p in pages),
                                      return_exceptions=True)
        watcher, pages, opened = pages[-1], pages[:-1], opened[:-1]
        results: list[dict] = []
        began = time.perf_counter()

        async def ask(page: Page, problem, delay: float) -> None:
            first = None
            await asyncio.sleep(delay)
            asked = time.perf_counter()

            def seen(outputs):
                nonlocal first
                if first is None and shows_text(outputs[0] or []):
                    first = time.perf_counter() - asked
            if isinstance(problem, BaseException):
                results.append(failed(f"could not open the page: {problem}"))
                return
            try:
                outputs = await page.call("thinking", [[], QUESTION, key, False, 0, tokens],
                                          on_update=seen)
                results.append(answered(first, outputs[1]))
            except Exception as exc:  # a refused or failed request is a result, not a crash
                results.append(failed(str(exc)))

        probing = asyncio.create_task(probe(watcher, probes)) if probes is not None else None
        if threads:
            threads.start()
        try:
            await asyncio.wait_for(asyncio.gather(*(ask(p, o, i * stagger) for i, (p, o)
                                                    in enumerate(zip(pages, opened)))), deadline)
        except asyncio.TimeoutError:
            pass  # summary() counts the missing replies
        finally:
            if probing:
                probing.cancel()
            if threads:
                threads.stop()
        return results, began, deadline


PROBE_S = 0.25  # how often the watching page asks for /pool_status (the header asks every 3 s)


async def probe(page: Page, latencies: list) -> None:
    """Ask for /pool_status again and again, as the open pages' headers do, timing each."""
    while True:
        started = time.perf_counter()
        await page.call("pool_status", [])
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(PROBE_S)


class Threads:
    """The server process's thread count, sampled every 50 ms between start() and stop()."""

    def __init__(self, pid: int | None):
        self.pid, self.peak, self.running = pid, 0, False

    def start(self) -> None:
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.running = False
        self.thread.join()

    def _sample(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while self.running and self.pid:
            try:
                line = next(l for l in status.read_text().splitlines() if l.startswith("Threads:"))
                self.peak = max(self.peak, int(line.split()[1]))
            except (OSError, StopIteration):
                return
            time.sleep(0.05)


def round_of(url: str, n: int, key: str, tokens: int, deadline: float = 300.0,
             client: str = "sse", pid: int | None = None, stagger: float = 0.0) -> dict:
    if client == "sse" or stagger:
        probes: list[float] = []
        threads = Threads(pid)
        row = summary(n, *asyncio.run(sse_round(url, n, key, tokens, deadline, probes, threads,
                                                stagger)))
        probes.sort()
        return row | {"server threads": threads.peak or None,
                      "pool_status p95 s": percentile(probes, 0.95)}
    results: list[dict] = []
    ready, start = threading.Semaphore(0), threading.Event()
    threads = [threading.Thread(target=learner, args=(url, key, tokens, results, ready, start),
                                daemon=True) for _ in range(n)]
    for thread in threads:
        thread.start()
    for _ in range(n):  # every learner has the page open; then all ask at once
        ready.acquire(timeout=120)
    began = time.perf_counter()
    start.set()
    for thread in threads:  # a reply that never comes is an error, not a hung benchmark
        thread.join(max(1.0, deadline - (time.perf_counter() - began)))
    return summary(n, list(results), began, deadline)


def summary(n: int, results: list[dict], began: float, deadline: float) -> dict:
    wall = max((r["done"] for r in results), default=time.perf_counter()) - began
    results += [{"ttft": None, "tokens": 0, "error": f"no reply within {deadline:.0f} s"}
                for _ in range(n - len(results))]
    ttfts = sorted(r["ttft"] for r in results if r["ttft"] is not None)
    return {"learners": n, "tokens/s": sum(r["tokens"] for r in results) / wall,
            "ttft p50": statistics.median(ttfts) if ttfts else float("nan"),
            "ttft p95": percentile(ttfts, 0.95), "errors": sum(1 for r in results if r["error"]),
            "wall s": wall, "first error": next((r["error"] for r in results if r["error"]), "")}


VECTOR_FLAGS = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_vnni": "AVX-512 VNNI",
                "avx512_bf16": "AVX-512 BF16", "amx_int8": "AMX-INT8", "amx_bf16": "AMX-BF16"}


def cpu_name() -> str:
    """The processor and its vector extensions, to name beside the figures (they vary between
    machines: int8 dot products on AVX2 and on AVX-512 VNNI are different kernels)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((l.split(":", 1)[1].strip() for l in info.splitlines()
                 if l.startswith("model name")), platform.processor() or "unknown")
    flags = set(next((l.split(":", 1)[1].split() for l in info.splitlines()
                      if l.startswith("flags")), []))
    vectors = ", ".join(label for flag, label in VECTOR_FLAGS.items() if flag in flags) or "none"
    return f"{name}, {os.cpu_count()} CPUs ({vectors})"


def _finite(row: dict) -> dict:
    """A row for JSON: NaN (no learner got a first token) becomes null."""
    return {k: None if isinstance(v, float) and v != v else v for k, v in row.items()}


def settings() -> dict:
    """The operator's settings the round ran under (unset means the app's defaults)."""
    return {name: value for name, value in os.environ.items()
            if name.startswith("QWENLAB_") and name not in ("QWENLAB_MODEL_DIR",)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", nargs="+", type=int, default=[1, 4, 16, 32])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--key", default="qwen3-0.6b", choices=list(REAL_SHAPES))
    parser.add_argument("--url", help="an app that is already running (e.g. on a GPU machine)")
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "qwenlab-bench"))
    parser.add_argument("--client", choices=["sse", "gradio_client"], default="sse",
                        help="the learners: one asyncio loop speaking Gradio's queue protocol "
                             "(default), or a gradio_client Client each, in threads")
    parser.add_argument("--json", type=Path, help="also write the rows here (bench/gpu_check.py reads it)")
    parser.add_argument("--pid", type=int, help="with --url: the server's process, to count its threads")
    parser.add_argument("--tiny", help="a `qwenlab tiny` folder instead of the real shape (a smoke run)")
    parser.add_argument("--stagger", type=float, default=0.0, metavar="SECONDS",
                        help="learners arrive one every SECONDS instead of all at once (first "
                             "text timed from each one's own question)")
    args = parser.parse_args()
    proc, url, pid = None, args.url, args.pid
    if not url:
        model_dir = args.tiny or str(build_real_shape(args.key, Path(args.dir)).parent)
        proc, url = start_app(model_dir)
        pid = proc.pid
    try:
        # warm-up: load (on CPU, convert) the model, and let the engine size its buffers for
        # answers this long; the first full-length answer after a load is twice as slow
        round_of(url, 1, args.key, args.tokens, client=args.client)
        rows = [round_of(url, n, args.key, args.tokens, client=args.client, pid=pid,
                         stagger=args.stagger) for n in args.learners]
    finally:
        if proc:
            proc.terminate()
    base = rows[0]["tokens/s"] or float("nan")
    arrival = f"one every {args.stagger:g} s" if args.stagger else "all at once"
    print(f"\n{args.key}, {args.tokens} new tokens per learner, thinking off, learners arrive "
          f"{arrival}; {cpu_name()}\n")
    print("| learners | tokens/s (all) | vs 1 learner | TTFT p50 s | TTFT p95 s | errors | wall s "
          "| server threads (peak) | /pool_status p95 s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['learners']} | {r['tokens/s']:.1f} | {r['tokens/s'] / base:.2f}x | "
              f"{r['ttft p50']:.2f} | {r['ttft p95']:.2f} | {r['errors']} | {r['wall s']:.1f} | "
              f"{r.get('server threads') or '-'} | {r.get('pool_status p95 s', float('nan')):.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"key": args.key, "tokens": args.tokens, "cpu": cpu_name(),
                                         "settings": settings(), "rows": [_finite(r) for r in rows]}, indent=1))
    for r in rows:
        if r["first error"]:
            print(f"N={r['learners']}: first error: {r['first error']}")


if __name__ == "__main__":
    main()
