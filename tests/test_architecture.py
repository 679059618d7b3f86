"""The shape of the code, checked: arrows point one way (shell -> demos -> kit -> core) across
qwenlab/, webui/ and demos/, no import cycles anywhere (imports under `if TYPE_CHECKING:` and
inside functions count too), a cheap first page, and every demo's GPU-only branches built on a
pool that reports CUDA, so a GPU path cannot fail on its first real use."""

import ast
import subprocess
import sys
from pathlib import Path

import gradio as gr
import pytest

from qwenlab.lessons import load_lessons

pytestmark = pytest.mark.pure
ROOT = Path(__file__).resolve().parent.parent
# Where each folder of the repository lives in the installed package (pyproject.toml).
FOLDERS = {"qwenlab": "qwenlab", "webui": "qwenlab.web", "demos": "qwenlab.demos"}
LAYERS = ("core", "kit", "demos", "shell")  # each may import its own layer and those before it


def layer(module: str) -> str:
    if module.startswith("qwenlab.web.shell"):
        return "shell"
    if module.startswith("qwenlab.demos"):
        return "demos"
    if module.startswith("qwenlab.web"):
        return "kit"
    return "core"


def modules() -> dict[str, Path]:
    """Every module of the three folders, by the name it is imported as."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            found[".".join((package, *parts)).removesuffix(".__init__")] = path
    return found


def imports_of(path: Path, name: str) -> set[str]:
    """Every module a file imports, at any depth, `if TYPE_CHECKING:` blocks included."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imports_of(path, name) if m in known and m != name}
            for name, path in known.items()}


def test_arrows_point_one_way_shell_demos_kit_core():
    wrong = [f"{name} ({layer(name)}) imports {target} ({layer(target)})"
             for name, targets in graph().items() for target in sorted(targets)
             if LAYERS.index(layer(target)) > LAYERS.index(layer(name))]
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_repository_folders_by_their_folder_names():
    """`demos` and `webui` are folders of the repository, installed as qwenlab.demos and
    qwenlab.web; importing them by folder name works only from a checkout, and twice over."""
    sources = [*modules().items()] + [(f"tests.{p.stem}", p) for p in (ROOT / "tests").rglob("*.py")]
    sources += [(f"bench.{p.stem}", p) for p in (ROOT / "bench").glob("*.py")]
    for name, path in sources:
        text = path.read_text()
        bad = {m for m in imports_of(path, name) if m.split(".")[0] in ("demos", "webui")}
        needle = "import_module(f" + '"demos.'  # written apart, so this line does not match
        bad |= {line.strip() for line in text.splitlines() if needle in line}
        assert not bad, f"{path.relative_to(ROOT)}: {sorted(bad)}"


def test_the_core_never_imports_gradio():
    for name, path in modules().items():
        if layer(name) == "core":
            bad = {m for m in imports_of(path, name) if m.split(".")[0] == "gradio"}
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_no_import_cycles_in_any_folder():
    edges, state = graph(), {}

    def visit(name, trail):
        if state.get(name) == "open":
            raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(name):] + [name]))
        if state.get(name) != "done":
            state[name] = "open"
            for target in sorted(edges[name]):
                visit(target, trail + [name])
            state[name] = "done"

    for name in sorted(edges):
        visit(name, [])


def test_the_cycle_check_sees_type_checking_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from qwenlab.loading import Loaded\n")
    assert "qwenlab.loading" in imports_of(source, "qwenlab.m")


def test_modules_stay_short():
    """At most 400 lines a module (STYLE.md): a longer one is split along its concerns."""
    long = {str(path.relative_to(ROOT)): n for path in modules().values()
            if (n := len(path.read_text().splitlines())) > 400}
    assert not long, long


def test_errors_is_a_leaf_every_user_error_derives_from():
    from qwenlab import errors

    assert graph()["qwenlab.errors"] == set()
    user_facing = [obj for obj in vars(errors).values()
                   if isinstance(obj, type) and issubclass(obj, Exception)]
    assert all(issubclass(cls, errors.QwenLabError) for cls in user_facing)


def test_building_the_app_imports_no_model_code(tiny_dir):
    """The first page needs Gradio and the lessons, not torch or bitsandbytes (seconds each)."""
    code = ("import sys; from qwenlab.web.shell.app import build_app; build_app(); "
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
    from qwenlab.web.shell.page import demo_of

    with gr.Blocks():
        demo_of(demo).build(cuda_pool)


def test_gpu_defaults_are_the_gpu_choices(cuda_pool, monkeypatch):
    from qwenlab.demos import code, multilingual, thinking, vision

    assert vision.default_model(cuda_pool.device) == "qwen3-vl-4b"
    assert vision.default_limits(cuda_pool.device) == vision.GPU_LIMITS
    monkeypatch.delenv("QWENLAB_MODEL_DIR")  # sizes of the real checkpoint, not the tiny one
    # Qwen2.5-VL-3B at bf16 (7.5 GB) is more than half of this 8 GB pool: nf4
    assert vision.default_precision(cuda_pool, "qwen2.5-vl-3b") == "nf4"
    cuda_pool.budget = int(40e9)
    assert vision.default_precision(cuda_pool, "qwen2.5-vl-3b") == "bf16"
    assert code.default_model(cuda_pool.device) == "qwen2.5-coder-1.5b"
    assert thinking.default_model(cuda_pool.device) == "qwen3-1.7b"
    assert multilingual.default_model(cuda_pool.device) == "qwen3.5-2b"


def test_the_whole_app_builds_on_a_gpu_pool(cuda_pool):
    from qwenlab.web.shell.app import build_app

    assert isinstance(build_app(cuda_pool), gr.Blocks)
