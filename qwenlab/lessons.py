"""Lesson files -> Lesson objects made of notebook cells, quiz, tasks, takeaways and links.

A lesson is `lessons/en/NN-<id>.md`: YAML front matter (id, title, order, demo, models,
outcomes), then markdown. A translation is `lessons/<lang>/NN-<id>.md`, whose front matter also
records `source:`, the hash of the English file it was made from: when the English changes the
translation is *stale*, and a language without the file falls back to English (`load_lessons`). Fenced code becomes a code cell; a fence may carry a run binding,
`python {run=family.chat model=qwen2.5-0.5b prompt="..."}`, which the app turns into a Run
button served by that demo's runner. A ```task block (YAML) is a try-it task and a ```quiz
block the lesson's quiz (quiz.py). Headings may carry a section marker that survives
translation, `## Key takeaways {#takeaways}`: the bullets under {#takeaways} are the key
takeaways and the links under {#reading} the further reading. Everything else becomes prose
cells, rendered here with raw HTML off and math left for KaTeX as \\(...\\) / \\[...\\]
(dollarmath decides what is math, so "$5 and $10" stays money). This module knows nothing of
Gradio or of the demos.
"""

from __future__ import annotations

import hashlib
import html
import re
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from qwenlab.errors import N_, LessonError
from qwenlab.quiz import Question, Task, parse_quiz, parse_tasks


def _lesson_root() -> Path:
    """Where the lesson files are: lessons/ beside this package in a checkout (an editable
    install reads them in place), qwenlab/course/ inside an installed wheel."""
    here = Path(__file__).resolve().parent
    return here / "course" if (here / "course" / "en").is_dir() else here.parent / "lessons"


LESSON_ROOT = _lesson_root()
LESSON_DIR = LESSON_ROOT / "en"
LESSON_FILE = "[0-9][0-9]-*.md"   # not GLOSSARY.md
REQUIRED = ("id", "title", "order", "demo", "models", "outcomes")
KATEX_DELIMITERS = [{"left": "\\(", "right": "\\)", "display": False},
                    {"left": "\\[", "right": "\\]", "display": True}]


SECTION = re.compile(r"^(#{2,6}) (.*?)\s*\{#([\w-]+)\}\s*$", re.M)
LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


@dataclass(frozen=True)
class Cell:
    kind: str                          # markdown | code | task | quiz
    source: str                        # markdown or code as written in the lesson
    html: str = ""                     # markdown cells: safe HTML for the page
    language: str = ""
    run: dict | None = None            # {"runner": "family.chat", **arguments}
    section: str = ""                  # the {#marker} of the section it sits in, if any
    in_notebook: bool = True           # False ({notebook=skip}): it needs a running Qwen Lab


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
    quiz: list[Question] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    takeaways: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)    # (text, URL) under {#reading}
    gpu: str = ""                      # where a GPU is needed, if anywhere (the notebook says so)
    short: str = ""                    # the tab's label (default: the id, capitalised)
    minutes: int = 0                   # about how long it takes, reading and running
    before: list[str] = field(default_factory=list)  # ids of the lessons to do first
    lang: str = "en"                   # the language its text is in
    source: str = ""                   # a translation: hash of the English file it came from
    stale: bool = False                # a translation of an earlier version of the English
    fallback: bool = False             # English shown because the language has no translation

    def counts(self) -> dict:
        """What the lesson holds, for `qwenlab lessons` (teachers) and the tests."""
        code = [c for c in self.cells if c.kind == "code"]
        return {"cells": len([c for c in self.cells if c.kind in ("markdown", "code")]),
                "code_cells": len(code), "run_bindings": sum(bool(c.run) for c in code),
                "quiz_questions": len(self.quiz), "takeaways": len(self.takeaways),
                "links": len(self.links), "tasks": len(self.tasks),
                "checked_tasks": sum(bool(t.check) for t in self.tasks)}


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
        raise LessonError(N_("{file}: a lesson starts with YAML front matter between --- lines"),
                          file=name)
    meta = _yaml(tokens[0].content, f"{name} front matter") or {}
    missing = [key for key in REQUIRED if key not in meta]
    if missing:
        raise LessonError(N_("{file}: front matter lacks {keys}"), file=name,
                          keys=", ".join(missing))
    lines = text.splitlines(keepends=True)
    cells: list[Cell] = []
    cursor = tokens[0].map[1]
    for token in tokens:
        if token.type != "fence" or token.level != 0:
            continue
        start, end = token.map
        _add_prose(cells, "".join(lines[cursor:start]))
        cells.append(_fenced(token, name, _section_at(lines, start)))
        cursor = end
    _add_prose(cells, "".join(lines[cursor:]))
    return Lesson(id=str(meta["id"]), title=str(meta["title"]), order=int(meta["order"]),
                  demo=str(meta["demo"]), models=list(meta["models"]),
                  outcomes=list(meta["outcomes"]), cells=cells, path=path,
                  quiz=[q for c in cells if c.kind == "quiz" for q in parse_quiz(_yaml(c.source, name), name)],
                  tasks=[t for c in cells if c.kind == "task" for t in parse_tasks(_yaml(c.source, name), name)],
                  takeaways=_bullets(cells, "takeaways"), links=_links(cells, "reading"),
                  gpu=str(meta.get("gpu", "")), source=str(meta.get("source", "")),
                  short=str(meta.get("short", "")), minutes=int(meta.get("minutes", 0)),
                  before=[str(item) for item in meta.get("before") or []])


# libyaml's safe loader where PyYAML was built with it (its wheels are): the front matter,
# quizzes and tasks of every lesson are read at start, and the pure-Python one takes 5x longer
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

def _yaml(source: str, where: str):
    try:
        return yaml.load(source, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise LessonError(N_("{where}: not valid YAML: {error}"), where=where,
                          error=str(exc)) from None


def _fenced(token, name: str, section: str) -> Cell:
    language, run = parse_info(token.info, name)
    skip = run is not None and run.pop("notebook", "") == "skip"
    kind = language if language in ("quiz", "task") else "code"
    return Cell(kind, token.content.rstrip("\n"), language=language, run=run, section=section,
                in_notebook=not skip)


def _add_prose(cells: list[Cell], source: str) -> None:
    """Prose between fences, one cell per section so that markers tag what sits under them."""
    section = cells[-1].section if cells else ""
    parts = SECTION.split(source)  # [text, hashes, title, marker, text, ...]
    chunks = [(section, parts[0])] + [
        (parts[i + 2], f"{parts[i]} {parts[i + 1]}\n{parts[i + 3]}") for i in range(1, len(parts), 4)]
    for marker, chunk in chunks:
        if chunk.strip():
            cells.append(Cell("markdown", chunk.strip("\n"), html=render_markdown(chunk),
                              section=marker))


def _section_at(lines: list[str], line: int) -> str:
    """The {#marker} of the last marked heading above `line`, or ""."""
    found = SECTION.findall("".join(lines[:line]))
    return found[-1][2] if found else ""


def _bullets(cells: list[Cell], section: str) -> list[str]:
    """The items of the section's bulleted lists, each as one line."""
    text = "\n".join(c.source for c in cells if c.kind == "markdown" and c.section == section)
    tokens = _MD.parse(text)
    return [" ".join(tokens[i + 2].content.split()) for i, t in enumerate(tokens)
            if t.type == "list_item_open" and tokens[i + 2].type == "inline"]


def _links(cells: list[Cell], section: str) -> list[tuple[str, str]]:
    text = "\n".join(c.source for c in cells if c.kind == "markdown" and c.section == section)
    return LINK.findall(text)


def parse_info(info: str, name: str = "<lesson>") -> tuple[str, dict | None]:
    """'python {run=family.chat prompt="Hi there"}' -> ('python', {'runner': ..., 'prompt': ...})."""
    info = info.strip()
    if "{" not in info:
        return info.split()[0] if info else "", None
    language, _, rest = info.partition("{")
    if not rest.rstrip().endswith("}"):
        raise LessonError(N_("{file}: unclosed {{...}} in code fence info {info}"), file=name,
                          info=repr(info))
    args = {}
    for item in shlex.split(rest.rstrip()[:-1]):
        key, sep, value = item.partition("=")
        if not sep:
            raise LessonError(N_("{file}: expected key=value in fence info, got {item}"),
                              file=name, item=repr(item))
        args[key] = value
    if "run" not in args and "notebook" not in args:
        return language.strip(), None
    if "run" in args:
        args["runner"] = args.pop("run")
    return language.strip(), args


def load_lessons(lang: str = "en", root: Path = LESSON_ROOT) -> list[Lesson]:
    """Every lesson in `lang`, in order: the translation where there is one (marked stale when
    its English source has changed since), else the English one marked as a fallback."""
    english = [(p, parse_lesson(p.read_text(encoding="utf-8"), p))
               for p in sorted((root / "en").glob(LESSON_FILE))]
    lessons = []
    for path, lesson in english:
        translated = root / lang / path.name
        if lang == "en":
            lessons.append(lesson)
        elif translated.is_file():
            found = parse_lesson(translated.read_text(encoding="utf-8"), translated)
            lessons.append(replace(found, lang=lang, stale=found.source != source_hash(path)))
        else:
            lessons.append(replace(lesson, fallback=True))
    return sorted(lessons, key=lambda lesson: lesson.order)


def source_hash(path: Path) -> str:
    """What a translation records of the English file it was made from."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]