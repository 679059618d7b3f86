"""Seconds from `python app.py` to the first HTTP 200, with and without QWENLAB_MODEL_DIR,
against `import gradio` alone in a fresh interpreter, measured in the same run.

    python bench/startup.py [--runs 3] [--tiny DIR]

Models load on first use, never at start-up, so both start figures should be about the same;
what the app adds to `import gradio` is its own start (goal: at most 2.0 s).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_to_200(env: dict) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, **env, GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).status == 200:
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
            if proc.poll() is not None:
                raise RuntimeError("app exited before answering")
    finally:
        proc.terminate()
        proc.wait()


def time_import_gradio() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import gradio"], check=True, cwd=ROOT,
                   env=dict(os.environ, GRADIO_ANALYTICS_ENABLED="False"))
    return time.perf_counter() - started


def runs(times: list[float]) -> str:
    return f"median {statistics.median(times):.2f} s (runs {', '.join(f'{t:.2f}' for t in times)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tiny", default="/tmp/tiny", help="a `qwenlab tiny` folder")
    args = parser.parse_args()
    gradio, plain, tiny = [], [], []
    for _ in range(args.runs):  # interleaved, so machine noise hits all three
        gradio.append(time_import_gradio())
        plain.append(time_to_200({"QWENLAB_MODEL_DIR": ""}))
        tiny.append(time_to_200({"QWENLAB_MODEL_DIR": args.tiny}))
    print(f"python -c 'import gradio': {runs(gradio)}")
    print(f"python app.py -> first HTTP 200: {runs(plain)}")
    print(f"with QWENLAB_MODEL_DIR={args.tiny}: {runs(tiny)}")
    own = statistics.median(plain) - statistics.median(gradio)
    print(f"the app's own start (first 200 minus import gradio): {own:.2f} s (goal: at most 2.00 s)")


if __name__ == "__main__":
    main()
