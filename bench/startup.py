"""Seconds from `python app.py` to the first HTTP 200, with and without QWENLAB_MODEL_DIR.

    python bench/startup.py [--runs 3] [--tiny DIR]

Models load on first use, never at start-up, so both figures should be about the same.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tiny", default="/tmp/tiny", help="a `qwenlab tiny` folder")
    args = parser.parse_args()
    plain, tiny = [], []
    for _ in range(args.runs):  # interleaved, so machine noise hits both
        plain.append(time_to_200({"QWENLAB_MODEL_DIR": ""}))
        tiny.append(time_to_200({"QWENLAB_MODEL_DIR": args.tiny}))
    print(f"python app.py -> first HTTP 200: median {statistics.median(plain):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in plain)})")
    print(f"with QWENLAB_MODEL_DIR={args.tiny}: median {statistics.median(tiny):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in tiny)})")


if __name__ == "__main__":
    main()
