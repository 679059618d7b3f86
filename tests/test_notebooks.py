"""Every lesson, exported as the notebook a learner downloads, runs top to bottom in a fresh
Jupyter kernel: the code learners copy is the code that ran. The checkpoints are the tiny ones,
laid out as a Hugging Face cache under their real Hub ids, with HF_HUB_OFFLINE=1, so the
notebooks' from_pretrained("Qwen/...") calls run unchanged."""

import nbformat
import pytest

from qwenlab.lessons import load_lessons
from qwenlab.notebook import imports, to_notebook
from qwenlab.web.shell.app import notebook_files

pytestmark = pytest.mark.notebook
LESSONS = load_lessons()


# Run in the kernel after the install cell, by the test only (the exported notebook has no such
# cell): a random tiny model never stops early, so each generate() writes at most 48 new tokens
# however many the lesson asks for. The lesson's code runs unchanged, top to bottom; the thinking
# notebook asks for about 5,000 tokens in all, 84 s here on two cores against a few seconds.
SHORT_ANSWERS = """\
from transformers.generation.utils import GenerationMixin as _Mixin

_generate = _Mixin.generate


def _short(self, *args, **kwargs):
    if kwargs.get("max_new_tokens"):
        kwargs["max_new_tokens"] = min(kwargs["max_new_tokens"], 48)
    return _generate(self, *args, **kwargs)


_Mixin.generate = _short
"""


@pytest.fixture(scope="session")
def hub_cache(tiny_dir, tmp_path_factory):
    from qwenlab.tiny import install_hub_cache

    folder = tmp_path_factory.mktemp("hf-hub")
    install_hub_cache(tiny_dir, folder)
    return folder


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_the_exported_notebook_runs_top_to_bottom(lesson, hub_cache, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("QWENLAB_MODEL_DIR", raising=False)
    notebook = to_notebook(lesson, notebook_files(lesson))
    notebook.cells.insert(2, nbformat.v4.new_code_cell(SHORT_ANSWERS))
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type in ("stream", "execute_result") for o in outputs[1:])


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_the_notebook_installs_what_it_imports(lesson):
    install = to_notebook(lesson).cells[1].source
    assert all(f"{name!r}" in install for name in imports(lesson))
    assert "transformers" in install and "%pip" not in install
