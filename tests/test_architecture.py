"""The shape of the code, checked: arrows point one way (app -> demos -> qwenlab), no import
cycles in the core, a cheap first page, and every demo's GPU-only branches built on a pool
that reports CUDA, so a GPU path cannot fail on its first real use."""

import ast
import subprocess
import sys
from pathlib import Path

import gradio as gr
import pytest

from qwenlab.lessons import load_lessons

pytestmark = pytest.mark.pure
ROOT = Path(__file__).resolve().parent.parent


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth, except under `if TYPE_CHECKING:`."""
    tree, found = ast.parse(path.read_text()), set()
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and getattr(node.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def core_graph() -> dict[str, set[str]]:
    modules = {}
    for path in (ROOT / "qwenlab").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    return {name: {m for m in imports_of(path) if m in modules and m != name}
            for name, path in modules.items()}


def test_the_core_never_imports_the_app_or_gradio():
    for path in (ROOT / "qwenlab").rglob("*.py"):
        bad = {m for m in imports_of(path) if m.split(".")[0] in ("demos", "webui", "gradio")}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_core_has_no_import_cycles():
    graph, state = core_graph(), {}

    def visit(name, trail):
        if state.get(name) == "open":
            raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(name):] + [name]))
        if state.get(name) != "done":
            state[name] = "open"
            for target in sorted(graph[name]):
                visit(target, trail + [name])
            state[name] = "done"

    for name in sorted(graph):
        visit(name, [])


def test_errors_is_a_leaf_every_user_error_derives_from():
    from qwenlab import errors

    assert core_graph()["qwenlab.errors"] == set()
    user_facing = [obj for obj in vars(errors).values()
                   if isinstance(obj, type) and issubclass(obj, Exception)]
    assert all(issubclass(cls, errors.QwenLabError) for cls in user_facing)


def test_building_the_app_imports_no_model_code(tiny_dir):
    """The first page needs Gradio and the lessons, not torch or bitsandbytes (seconds each)."""
    code = ("import sys; from webui.shell import build_app; build_app(); "
            "print(sorted(m for m in ('torch', 'bitsandbytes', 'transformers', "
            "'onnxruntime_genai', 'sympy', 'matplotlib') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env={"QWENLAB_MODEL_DIR": str(tiny_dir), "PATH": "/usr/bin:/bin",
                                 "HOME": str(Path.home())}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.fixture
def cuda_pool(tiny_env, monkeypatch):
    """A pool that reports an H100-like CUDA device, on a machine without one."""
    import torch

    from qwenlab import system
    from qwenlab.pool import ModelPool

    monkeypatch.setattr(system, "cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    return ModelPool(budget_bytes=int(8e9), device="cuda")


@pytest.mark.parametrize("demo", sorted({lesson.demo for lesson in load_lessons()}))
def test_every_demo_builds_with_its_gpu_defaults(cuda_pool, demo):
    from webui.shell import demo_module

    with gr.Blocks():
        demo_module(demo).build(cuda_pool)


def test_gpu_defaults_are_the_gpu_choices(cuda_pool, monkeypatch):
    from demos import code, multilingual, thinking, vision

    assert vision.default_model(cuda_pool.device) == "qwen2.5-vl-3b"
    assert vision.default_limits(cuda_pool.device) == vision.GPU_LIMITS
    monkeypatch.delenv("QWENLAB_MODEL_DIR")  # sizes of the real checkpoint, not the tiny one
    # Qwen2.5-VL-3B at bf16 (7.5 GB) is more than half of this 8 GB pool: nf4
    assert vision.default_precision(cuda_pool, "qwen2.5-vl-3b") == "nf4"
    cuda_pool.budget = int(40e9)
    assert vision.default_precision(cuda_pool, "qwen2.5-vl-3b") == "bf16"
    assert code.default_model(cuda_pool.device) == "qwen2.5-coder-1.5b"
    assert thinking.default_model(cuda_pool.device) == "qwen3-1.7b"
    assert multilingual.default_model(cuda_pool.device) == "qwen3-1.7b"


def test_the_whole_app_builds_on_a_gpu_pool(cuda_pool):
    from webui.shell import build_app

    assert isinstance(build_app(cuda_pool), gr.Blocks)
