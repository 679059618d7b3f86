"""A lesson as a Jupyter notebook that runs top to bottom in a fresh kernel.

The notebook opens with what the lesson teaches and where it runs (CPU or GPU), installs the
packages its code imports that the kernel lacks, writes the sample files its cells read (the
app hands them over: `files`), then has the lesson's prose and code in order. Quizzes become a
list of questions with their answers folded away; try-it tasks point back to the app. CI runs
every exported notebook with nbclient against tiny checkpoints under their real Hub ids
(tests/test_notebooks.py), so the code a learner copies is the code that ran.
Nothing here knows of Gradio or the demos.
"""

from __future__ import annotations

import ast
import base64
import sys

from qwenlab.errors import N_
from qwenlab.lessons import Lesson

# import name -> what pip installs; "device_map" and the VL processors pull in the last two
PIP = {"transformers": "transformers>=5", "torch": "torch", "accelerate": "accelerate",
       "qwen_vl_utils": "qwen-vl-utils", "bitsandbytes": "bitsandbytes>=0.48",
       "sympy": "sympy", "PIL": "pillow", "peft": "peft", "openai": "openai",
       "matplotlib": "matplotlib", "torchvision": "torchvision", "datasets": "datasets",
       "fastapi": "transformers[serving]>=5"}
# The notebook's own words, in English; the app passes them translated (`words`).
WORDS = {"app_only": N_("This cell talks to a running Qwen Lab server, so it is not run here:"),
         "learn": N_("You will be able to:"), "from": N_("From Qwen Lab"), "quiz": N_("Answer"),
         "tasks": N_("Try these in the Qwen Lab app's Live demo:"),
         "installs": N_("Installs what this notebook imports, skipping what the kernel already "
                        "has."),
         "cpu": N_("Every cell runs on a CPU, slowly for the larger models; with an NVIDIA GPU, "
                   "`device_map=\"auto\"` puts the model on it.")}
CPU_NOTE = WORDS["cpu"]


def imports(lesson: Lesson) -> list[str]:
    """The top-level modules the lesson's Python cells import, plus what they need implicitly."""
    found = set()
    for cell in lesson.cells:
        if cell.kind == "code" and cell.language in ("python", "py") and cell.in_notebook:
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Import):
                    found |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module.split(".")[0])
            if "device_map" in cell.source:
                found.add("accelerate")
            if "AutoProcessor" in cell.source or "qwen_vl_utils" in cell.source:
                found.add("torchvision")  # the Qwen-VL processors' video half imports it
            if "BitsAndBytesConfig" in cell.source:
                found.add("bitsandbytes")  # transformers imports it only when the config is used
            if '"serve"' in cell.source:
                found.add("fastapi")  # `transformers serve` needs transformers[serving]
    return sorted(name for name in found if name in PIP)


def install_cell(modules: list[str]) -> str:
    wanted = ", ".join(f"{name!r}: {PIP[name]!r}" for name in modules)
    return (f"# {WORDS['installs']}\n"
            "import importlib.util, subprocess, sys\n\n"
            f"wanted = {{{wanted}}}\n"
            "missing = [spec for module, spec in wanted.items() if importlib.util.find_spec(module) is None]\n"
            "if missing:\n"
            "    subprocess.check_call([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", *missing])\n"
            "print(\"ready:\", \", \".join(wanted))")


def files_cell(files: dict[str, bytes]) -> str:
    """A cell that writes the sample files the lesson's code reads, embedded as base64."""
    lines = ["# The sample files this lesson's cells read, written next to the notebook",
             "import base64", "", "FILES = {"]
    for name, data in sorted(files.items()):
        encoded = base64.b64encode(data).decode()
        chunks = [encoded[i:i + 96] for i in range(0, len(encoded), 96)]
        lines.append(f"    {name!r}: (")
        lines += [f"        {chunk!r}" for chunk in chunks]
        lines.append("    ),")
    lines += ["}", "for name, data in FILES.items():",
              "    with open(name, \"wb\") as f:", "        f.write(base64.b64decode(data))",
              "print(\"wrote\", \", \".join(FILES))"]
    return "\n".join(lines)


def to_notebook(lesson: Lesson, files: dict[str, bytes] | None = None, words: dict | None = None):
    """The lesson as an nbformat v4 notebook (validated)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    words = {**WORDS, **(words or {})}
    outcomes = "\n".join(f"- {item}" for item in lesson.outcomes)
    cells = [new_markdown_cell(f"# {lesson.title}\n\n**{words['learn']}**\n\n{outcomes}\n\n"
                               f"*{words['from']}. {lesson.gpu or words['cpu']}*"),
             new_code_cell(install_cell(imports(lesson)))]
    if files:
        cells.append(new_code_cell(files_cell(files)))
    for cell in lesson.cells:
        if cell.kind == "markdown":
            cells.append(new_markdown_cell(cell.source))
        elif cell.kind == "code" and cell.language in ("python", "py") and cell.in_notebook:
            cells.append(new_code_cell(cell.source))
        elif cell.kind == "code" and cell.language in ("python", "py"):
            cells.append(new_markdown_cell(f"*{words['app_only']}*\n\n```python\n{cell.source}\n```"))
        elif cell.kind == "code":
            cells.append(new_markdown_cell(f"```{cell.language}\n{cell.source}\n```"))
        elif cell.kind == "task":
            cells.append(new_markdown_cell(_tasks(lesson, cell, words)))
        elif cell.kind == "quiz":
            cells.append(new_markdown_cell(_quiz(lesson, words)))
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python", "version": ".".join(map(str, sys.version_info[:2]))}})
    nbformat.validate(notebook)
    return notebook


def _tasks(lesson: Lesson, cell, words: dict) -> str:
    tasks = [t for t in lesson.tasks if f"id: {t.id}" in cell.source]
    return "\n".join(f"- {t.text}" for t in tasks) if tasks else ""


def _quiz(lesson: Lesson, words: dict) -> str:
    out = []
    for number, q in enumerate(lesson.quiz, 1):
        options = "".join(f"\n   - {o.text}" for o in q.options)
        answer = q.correct()
        answer = ", ".join(answer) if isinstance(answer, list) else answer
        why = q.why or " ".join(o.why for o in q.options if o.correct)
        out.append(f"{number}. {q.prompt}{options}\n\n   <details><summary>{words['quiz']}"
                   f"</summary>\n\n   {answer}. {why}\n   </details>")
    return "\n\n".join(out)
