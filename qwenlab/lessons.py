"""Lesson files -> Lesson objects made of notebook cells, and their .ipynb export.

A lesson is `lessons/en/NN-<id>.md`: YAML front matter (id, title, order, demo, models,
outcomes), then markdown. Fenced code becomes a code cell; a fence may carry a run binding,
`python {run=family.chat model=qwen2.5-0.5b prompt="..."}`, which the app turns into a Run
button served by that demo's runner. Everything else becomes prose cells, rendered here with
raw HTML off and math left for KaTeX as \\(...\\) / \\[...\\] (dollarmath decides what is math,
so "$5 and $10" stays money). This module knows nothing of Gradio or of the demos.
"""

from __future__ import annotations

import html
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from qwenlab.errors import LessonError

LESSON_DIR = Path(__file__).resolve().parent.parent / "lessons" / "en"
REQUIRED = ("id", "title", "order", "demo", "models", "outcomes")
KATEX_DELIMITERS = [{"left": "\\(", "right": "\\)", "display": False},
                    {"left": "\\[", "right": "\\]", "display": True}]


@dataclass(frozen=True)
class Cell:
    kind: str                          # markdown | code
    source: str                        # markdown or code as written in the lesson
    html: str = ""                     # markdown cells: safe HTML for the page
    language: str = ""
    run: dict | None = None            # {"runner": "family.chat", **arguments}


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    order: int
    demo: str
    models: list[str]
    outcomes: list[str]
    cells: list[Cell] = field(default_factory=list)
    path: Path | None = None


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")
    md.use(front_matter_plugin).use(dollarmath_plugin, allow_space=False, allow_digits=False)
    md.add_render_rule("math_inline", lambda self, tokens, i, o, env:
                       "\\(" + html.escape(tokens[i].content) + "\\)")
    md.add_render_rule("math_block", lambda self, tokens, i, o, env:
                       "<p>\\[" + html.escape(tokens[i].content) + "\\]</p>\n")
    return md


_MD = _markdown()


def render_markdown(text: str) -> str:
    """Markdown -> HTML with raw HTML escaped and math kept for KaTeX."""
    return _MD.render(text)


def parse_lesson(text: str, path: Path | None = None) -> Lesson:
    name = path.name if path else "<lesson>"
    tokens = _MD.parse(text)
    if not tokens or tokens[0].type != "front_matter":
        raise LessonError(f"{name}: a lesson starts with YAML front matter between --- lines")
    try:
        meta = yaml.safe_load(tokens[0].content) or {}
    except yaml.YAMLError as exc:
        raise LessonError(f"{name}: front matter is not valid YAML: {exc}") from None
    missing = [key for key in REQUIRED if key not in meta]
    if missing:
        raise LessonError(f"{name}: front matter lacks {', '.join(missing)}")
    lines = text.splitlines(keepends=True)
    cells: list[Cell] = []
    cursor = tokens[0].map[1]
    for token in tokens:
        if token.type != "fence" or token.level != 0:
            continue
        start, end = token.map
        _add_prose(cells, "".join(lines[cursor:start]))
        language, run = parse_info(token.info, name)
        cells.append(Cell("code", token.content.rstrip("\n"), language=language, run=run))
        cursor = end
    _add_prose(cells, "".join(lines[cursor:]))
    return Lesson(id=str(meta["id"]), title=str(meta["title"]), order=int(meta["order"]),
                  demo=str(meta["demo"]), models=list(meta["models"]),
                  outcomes=list(meta["outcomes"]), cells=cells, path=path)


def _add_prose(cells: list[Cell], source: str) -> None:
    if source.strip():
        cells.append(Cell("markdown", source.strip("\n"), html=render_markdown(source)))


def parse_info(info: str, name: str = "<lesson>") -> tuple[str, dict | None]:
    """'python {run=family.chat prompt="Hi there"}' -> ('python', {'runner': ..., 'prompt': ...})."""
    info = info.strip()
    if "{" not in info:
        return info.split()[0] if info else "", None
    language, _, rest = info.partition("{")
    if not rest.rstrip().endswith("}"):
        raise LessonError(f"{name}: unclosed {{...}} in code fence info {info!r}")
    args = {}
    for item in shlex.split(rest.rstrip()[:-1]):
        key, sep, value = item.partition("=")
        if not sep:
            raise LessonError(f"{name}: expected key=value in fence info, got {item!r}")
        args[key] = value
    if "run" not in args:
        return language.strip(), None
    args["runner"] = args.pop("run")
    return language.strip(), args


def load_lessons(folder: Path = LESSON_DIR) -> list[Lesson]:
    lessons = [parse_lesson(p.read_text(encoding="utf-8"), p) for p in sorted(folder.glob("*.md"))]
    return sorted(lessons, key=lambda lesson: lesson.order)


def to_notebook(lesson: Lesson):
    """The lesson as a Jupyter notebook whose code cells run as written where the Hub is reachable."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    outcomes = "\n".join(f"- {item}" for item in lesson.outcomes)
    cells = [
        new_markdown_cell(f"# {lesson.title}\n\n**You will be able to:**\n\n{outcomes}\n\n"
                          "*From Qwen Lab. Code cells download checkpoints from the Hugging Face Hub.*"),
        new_code_cell("%pip install -q \"transformers>=5\" accelerate"),
    ]
    for cell in lesson.cells:
        if cell.kind == "markdown":
            cells.append(new_markdown_cell(cell.source))
        elif cell.language in ("python", "py"):
            cells.append(new_code_cell(cell.source))
        else:
            cells.append(new_markdown_cell(f"```{cell.language}\n{cell.source}\n```"))
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.validate(notebook)
    return notebook
