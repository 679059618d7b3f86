"""Shared fixtures. Tiny checkpoints are built once per test session through the real CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """Under pytest-xdist each worker, and every process it starts (the app, notebook kernels,
    the CLI), runs one OpenMP thread: two workers with two threads each on two cores wait on each
    other (the thinking notebook took 494 s that way, 84 s alone)."""
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        os.environ["OMP_NUM_THREADS"] = "1"


# Under pytest-xdist the tests that talk to the app (the `app_url` fixture) all run in one worker,
# which starts the app once; the other worker takes everything else, test by test. Each worker
# writes the node ids of those tests here while collecting, and the controller's scheduler reads
# them. (pytest-xdist's own --dist loadgroup cannot do it with pytest 9.2: it marks a test's group
# by editing its node id, which pytest no longer reads; pytest-xdist issue #1386.)
def app_tests_file(controller_pid: int) -> Path:
    return Path(tempfile.gettempdir()) / f"qwenlab-app-tests-{controller_pid}.txt"


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "load":
        return None  # a --dist the caller chose
    from xdist.scheduler import LoadScopeScheduling

    class AppTestsTogether(LoadScopeScheduling):
        app_tests: set[str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.app_tests is None:  # collection is over when scheduling starts
                listed = app_tests_file(os.getpid())
                self.app_tests = set(listed.read_text().splitlines()) if listed.exists() else set()
            return "app" if nodeid in self.app_tests else nodeid

    return AppTestsTogether(config, log)


def pytest_unconfigure(config):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        app_tests_file(os.getpid()).unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        app_tests = [item.nodeid for item in items if "app_url" in getattr(item, "fixturenames", ())]
        listed = app_tests_file(os.getppid())
        partial = listed.with_suffix(f".{os.getpid()}")
        partial.write_text("\n".join(app_tests))
        partial.replace(listed)  # both workers write the same list, each whole


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """DIR with a tiny checkpoint per registry key, made by `qwenlab tiny DIR`."""
    cached = os.environ.get("QWENLAB_TEST_TINY_DIR")  # reuse across local runs if you like
    if cached and (Path(cached) / "qwen3-0.6b" / "config.json").is_file():
        return Path(cached)
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        out = tmp_path_factory.mktemp("tiny")
        build_tiny(out)
        return out
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent  # one folder for all of this run's workers
    out = shared / "tiny"
    with FileLock(str(shared / "tiny.lock")):  # the first worker builds, the others wait
        if not (out / "done").is_file():
            build_tiny(out)
            (out / "done").touch()
    return out


def build_tiny(out: Path) -> None:
    subprocess.run([sys.executable, "-m", "qwenlab.cli", "tiny", str(out)], check=True,
                   stdout=subprocess.DEVNULL, cwd=ROOT)


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    """QWENLAB_CACHE_DIR for the session: each tiny model is converted to ONNX once."""
    cached = os.environ.get("QWENLAB_TEST_CACHE_DIR")  # reuse across local runs if you like
    return Path(cached) if cached else tmp_path_factory.mktemp("qwenlab-cache")


@pytest.fixture
def tiny_env(tiny_dir, onnx_cache, monkeypatch) -> Path:
    """Tiny checkpoints on the transformers path (tests of the ONNX path switch it on)."""
    monkeypatch.setenv("QWENLAB_MODEL_DIR", str(tiny_dir))
    monkeypatch.setenv("QWENLAB_CACHE_DIR", str(onnx_cache))
    monkeypatch.setenv("QWENLAB_CPU_ENGINE", "transformers")
    monkeypatch.delenv("QWENLAB_POOL_BUDGET_GB", raising=False)
    return tiny_dir


@pytest.fixture
def make_pool(tiny_env):
    """make_pool(budget_gb=4, device="cpu"): a fresh ModelPool on the tiny checkpoints; every
    pool made is emptied (its models evicted, their memory freed) when the test ends."""
    from qwenlab.pool import ModelPool

    pools = []

    def make(budget_gb: float = 4, device: str = "cpu") -> ModelPool:
        pools.append(ModelPool(budget_bytes=int(budget_gb * 1e9), device=device))
        return pools[-1]

    yield make
    for made in pools:
        made.evict_idle()


@pytest.fixture
def pool(make_pool):
    return make_pool()


@pytest.fixture(scope="session")
def qwen3_tokenizer(tiny_dir):
    """The real Qwen vocabulary with Qwen3's specials, from the tiny Qwen3 checkpoint."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_dir / "qwen3-0.6b")


@pytest.fixture
def qwenlab_cli(tiny_env):
    """qwenlab_cli(*args, env={...}): the `qwenlab` command as a user runs it, in a subprocess,
    on the tiny checkpoints (transformers path unless env says otherwise)."""

    def run(*args, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
        full_env = dict(os.environ, **(env or {}))
        return subprocess.run([sys.executable, "-m", "qwenlab.cli", *args], cwd=ROOT, env=full_env,
                              capture_output=True, text=True, timeout=timeout)

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(command: list[str], url: str, env: dict, name: str, cwd: Path = ROOT):
    """Start `command` in `cwd`, wait until `url` answers (90 s at most), stop it afterwards."""
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"{name}.log", "w")
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early; see {log.name}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.terminate()
                raise RuntimeError(f"{name} did not answer within 90 s; see {log.name}") from None
            time.sleep(0.3)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def app_url(tiny_dir, onnx_cache):
    port = free_port()
    # the demos' defaults stay on transformers; the edge lab and tests ask for int4 by name.
    # One torch thread: on two cores the browser tier's Chromium renderer takes one core, and
    # torch's two OpenMP threads then wait on each other (a tiny Qwen3.5 streamed 10-13
    # tokens/s in the browser with two threads, 59-64 with one; 80 with two and no browser).
    env = dict(os.environ, QWENLAB_MODEL_DIR=str(tiny_dir), GRADIO_SERVER_PORT=str(port),
               QWENLAB_CACHE_DIR=str(onnx_cache), QWENLAB_CPU_ENGINE="transformers",
               GRADIO_SERVER_NAME="127.0.0.1", QWENLAB_POOL_BUDGET_GB="2", QWENLAB_DEVICE="cpu",
               GRADIO_ANALYTICS_ENABLED="False", OMP_NUM_THREADS="1",
               # a random tiny model never stops early: answers of 64 tokens at most test the
               # same pages as answers of 1,024 and render in a fraction of the time
               QWENLAB_MAX_NEW_TOKENS="64")
    url = f"http://127.0.0.1:{port}/"
    with server([sys.executable, "app.py"], url, env, f"qwenlab-app-{port}"):
        yield url


@pytest.fixture(scope="session")
def serve_url(tiny_dir):
    """A real `transformers serve` on a free port; it loads a model when first asked for it."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("transformers")), "serve",
               "--host", "127.0.0.1", "--port", str(port)]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    with server(command, f"http://127.0.0.1:{port}/health", env, f"transformers-serve-{port}"):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture(scope="session")
def bad_images(tmp_path_factory) -> dict:
    """{case: path} for the awkward uploads in awkward_images.BAD_IMAGES."""
    from awkward_images import make_bad_images

    return make_bad_images(tmp_path_factory.mktemp("bad-images"))


@pytest.fixture
def stop_midway():
    """stop_midway(loaded, question, after, max_new_tokens): ask with thinking on, press Stop
    once `after` events have arrived, and return the last event (the Final)."""
    import threading

    from qwenlab.generation import stream_chat

    def ask(loaded, question: str, after: int, max_new_tokens: int):
        cancel, seen = threading.Event(), 0
        for event in stream_chat(loaded, [{"role": "user", "content": question}], thinking=True,
                                 max_new_tokens=max_new_tokens, cancel=cancel):
            seen += 1
            if seen == after:
                cancel.set()
        return event

    return ask


# -- a scripted engine, for the policy of lines, batches and failures (no model, no timing) ------
class Script:
    """What the fake batches do: with `hold()`, each step waits until `allow(n)` lets n more
    through; a step whose number is in `fail_at` raises; one in `hang_at` blocks until
    `release` is set."""

    def __init__(self):
        import threading

        self.gate = None          # a Semaphore each step takes, once hold() is called
        self.fail_at: set[int] = set()
        self.hang_at: set[int] = set()
        self.release = threading.Event()
        self.steps = 0
        self.batches = 0
        self.widest = 0
        self.closed = 0

    def hold(self) -> None:
        import threading

        self.gate = threading.Semaphore(0)

    def allow(self, steps: int = 10**6) -> None:
        self.gate.release(steps)


class FakeBatch:
    """A driver's batch whose answers are scripted: request.tokens, one a step."""

    def __init__(self, script: Script, width: int):
        script.batches += 1
        self.script, self.width, self.jobs = script, width, []

    def insert(self, offered):
        taken = offered[:self.width - len(self.jobs)]
        self.jobs += taken
        self.script.widest = max(self.script.widest, len(self.jobs))
        return taken

    def step(self):
        script = self.script
        if script.gate is not None:
            script.gate.acquire(timeout=30)
        script.steps += 1
        if script.steps in script.hang_at:
            script.release.wait(60)
        if script.steps in script.fail_at:
            raise RuntimeError(f"scripted failure at step {script.steps}")
        for job in list(self.jobs):
            token = job.request.tokens[len(job.written)]
            job.written.append(token)
            job.emit(token)
            if len(job.written) == len(job.request.tokens):
                self.jobs.remove(job)
                job.finish()

    def remove(self, job):
        self.jobs.remove(job)

    def close(self):
        self.script.closed += 1


class FakeRequest:
    def __init__(self, tokens):
        self.tokens = list(tokens)


def make_fake_engine(limit: int = 2, max_waiting: int = 8, stall_s: float | None = None):
    """An Engine over the real Driver with scripted batches; engine.script steers them."""
    from qwenlab.engines import Engine
    from qwenlab.engines.driver import Driver
    from qwenlab.engines.stream import STALL_S

    class FakeEngine(Engine):
        name = "fake"

        def __init__(self):
            self.script = Script()
            self.closes = 0
            self.driver = Driver("fake", lambda: FakeBatch(self.script, limit), limit, max_waiting,
                                 stall_s or STALL_S)

        def close(self):
            self.closes += 1
            super().close()

    return FakeEngine()


@pytest.fixture
def fake_engine():
    """fake_engine(limit=2, max_waiting=8, stall_s=None): engines closed when the test ends."""
    made = []

    def make(**options):
        made.append(make_fake_engine(**options))
        return made[-1]

    yield make
    for engine in made:
        if engine.script.gate is not None:
            engine.script.allow()
        engine.script.release.set()
        engine.close()


def drained(generator):
    """A plain iterator over a demo's stream, async (answers) or not (tables at once)."""
    from qwenlab.engines.stream import iterate

    return iterate(generator) if hasattr(generator, "__aiter__") else iter(generator)
