"""Every script in bench/ runs, at a tiny setting: the same code as the real measurement, on the
tiny checkpoints, with few tokens and learners. A benchmark nobody runs rots (bench/cpu.py once
handed the C API's model to the Python module's generator, and nothing noticed); here each must
exit 0 and print its figure. A new script without a smoke run here fails the first test."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qwenlab.system import cpu_flags

pytestmark = pytest.mark.bench
ROOT = Path(__file__).resolve().parent.parent
# script -> (arguments after the script, a line its output must contain: the figure's row)
SMOKE = {
    "classroom.py": (["--learners", "1", "2", "--tokens", "4", "--stagger", "0.2"], "| 2 |"),
    "cpu.py": (["--keys", "qwen3-0.6b", "--tokens", "4", "--repeats", "1"], "| qwen3-0.6b | int4"),
    "edge.py": (["--precisions", "bf16", "int4", "--tokens", "4"], "| qwen2.5-0.5b | int4"),
    "finetune.py": (["--precisions", "fp32", "--steps", "2", "--batch", "1", "--length", "96"],
                    "| fp32 |"),
    "lanes.py": (["--learners", "1", "2", "--tokens", "4"], "| 2 |"),
    "pool.py": (["--tokens", "4", "--repeats", "1"], "pool.stats() while the pool evicts"),
    "startup.py": (["--runs", "1"], "the app's own start"),
    "gpu_check.py": (["--dry-run"], "tests"),
    # what a program sees through the mask: PyTorch picks its AVX2 kernels
    "avx2only.py": ([], "| AVX2 |\n"),
    "math_agreement.py": ([], "correct answers called 'fails': 0"),
    "retrieval.py": (["--queries", "2"], "| query, search + rerank"),
}


def scripts() -> set[str]:
    """The bench files that run as scripts (shapes.py is the others' library)."""
    return {path.name for path in (ROOT / "bench").glob("*.py")
            if "__main__" in path.read_text() and ast.parse(path.read_text())}


def test_every_bench_script_has_a_smoke_run():
    assert scripts() == set(SMOKE)


@pytest.mark.parametrize("script", sorted(SMOKE))
def test_a_bench_script_runs_at_a_tiny_setting(script, tiny_dir, onnx_cache, tmp_path):
    arguments, expected = SMOKE[script]
    if script == "math_agreement.py":
        problems = tmp_path / "problems.jsonl"
        problems.write_text("\n".join(json.dumps(row) for row in [
            {"problem": "Solve 2x^2 - 8 = 0.", "answer": "x = 2, -2"},
            {"problem": "What is 3 + 4?", "answer": "7"},
            {"problem": "Differentiate x^3.", "answer": "3x^2"}]))
        arguments = [str(problems), "--jobs", "1"]
    elif script == "avx2only.py" and not {"avx2", "cpuid_fault"} <= cpu_flags():
        pytest.skip("this CPU has no AVX2 or no CPUID faulting, so it cannot be masked")
    elif script not in ("gpu_check.py", "avx2only.py"):
        arguments = arguments + ["--tiny", str(tiny_dir)]
    env = dict(os.environ, QWENLAB_CACHE_DIR=str(onnx_cache), GRADIO_ANALYTICS_ENABLED="False",
               TMPDIR=str(tmp_path))
    env.pop("QWENLAB_MODEL_DIR", None)
    done = subprocess.run([sys.executable, f"bench/{script}", *arguments], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert expected in done.stdout, done.stdout[-3000:]
