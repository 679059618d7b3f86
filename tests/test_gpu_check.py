"""bench/gpu_check.py works where no GPU is: it lists what it would run, exits 0, and its report
names each missed target; the Qwen2.5-VL-3B shape it builds on the GPU machine is the real one."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def test_without_cuda_it_lists_the_steps_and_exits_0():
    done = subprocess.run([sys.executable, "bench/gpu_check.py", "--dry-run"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for step in ("tests", "eviction", "edge", "streaming", "classroom", "vision"):
        assert f"  {step}" in done.stdout


def test_the_report_names_each_missed_target(tmp_path):
    import gpu_check

    results = {"device": "test", "tests": {"ok": True, "summary": "2 passed"},
               "classroom": {"ok": False, "batching on": [{"learners": 16, "tokens/s": 10.0}]}}
    missed = gpu_check.report(results, tmp_path / "report")
    assert missed == [gpu_check.TARGETS["classroom"]]
    text = (tmp_path / "report.md").read_text()
    assert "| classroom | MISSED |" in text and "| tests | met |" in text
    assert json.loads((tmp_path / "report.json").read_text())["tests"]["summary"] == "2 passed"


@pytest.mark.parametrize("key, low, high", [("qwen2.5-vl-3b", 3.6e9, 3.9e9),   # card: 3.75B
                                            ("qwen3.5-0.8b", 0.8e9, 0.9e9)])  # 0.85B counted
def test_the_benchmark_shapes_are_the_published_ones(key, low, high):
    import torch
    from shapes import real_config

    config, cls = real_config(key)
    with torch.device("meta"):
        model = cls(config)
    assert low < sum(p.numel() for p in model.parameters()) < high
