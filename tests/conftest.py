"""Shared fixtures. Tiny checkpoints are built once per test session through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """DIR with a tiny checkpoint per registry key, made by `qwenlab tiny DIR`."""
    cached = os.environ.get("QWENLAB_TEST_TINY_DIR")  # reuse across local runs if you like
    if cached and (Path(cached) / "qwen3-0.6b" / "config.json").is_file():
        return Path(cached)
    out = tmp_path_factory.mktemp("tiny")
    subprocess.run([sys.executable, "-m", "qwenlab.cli", "tiny", str(out)], check=True,
                   stdout=subprocess.DEVNULL, cwd=ROOT)
    return out


@pytest.fixture
def tiny_env(tiny_dir, monkeypatch) -> Path:
    monkeypatch.setenv("QWENLAB_MODEL_DIR", str(tiny_dir))
    monkeypatch.delenv("QWENLAB_POOL_BUDGET_GB", raising=False)
    return tiny_dir


@pytest.fixture
def pool(tiny_env):
    from qwenlab.pool import ModelPool

    pool = ModelPool(budget_bytes=int(4e9), device="cpu")
    yield pool
    pool.evict_idle()
