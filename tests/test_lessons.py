"""Lessons are tested like code: they parse, name real demos, runners and models, and compile."""

import ast
import importlib

import nbformat
import pytest

from qwenlab.errors import LessonError
from qwenlab.lessons import load_lessons, parse_lesson, render_markdown
from qwenlab.notebook import to_notebook
from qwenlab.registry import MODELS

pytestmark = pytest.mark.pure
LESSONS = load_lessons()


def test_there_are_lessons_in_order():
    assert LESSONS and [lesson.order for lesson in LESSONS] == sorted(lesson.order for lesson in LESSONS)
    assert LESSONS[0].id == "family"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_lesson_names_a_real_demo_real_models_and_says_what_you_will_learn(lesson):
    demo = importlib.import_module(f"qwenlab.demos.{lesson.demo}").DEMO
    assert callable(demo.build)
    assert set(lesson.models) <= set(MODELS)
    assert len(lesson.outcomes) >= 2


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_python_cells_compile_and_run_bindings_resolve(lesson):
    code = [cell for cell in lesson.cells if cell.kind == "code"]
    assert code, "a lesson teaches by doing: it needs code cells"
    for cell in code:
        if cell.language == "python":
            ast.parse(cell.source)
        if cell.run:
            module, _, name = cell.run["runner"].partition(".")
            assert name in importlib.import_module(f"qwenlab.demos.{module}").DEMO.runners
            if "model" in cell.run:
                assert cell.run["model"] in MODELS
    assert any(cell.run for cell in code), "at least one cell runs against the live model"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_notebook_export_validates(lesson):
    notebook = to_notebook(lesson)
    nbformat.validate(notebook)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert any("from_pretrained" in source for source in sources)


def test_raw_html_is_escaped_and_math_is_left_for_katex():
    html = render_markdown("Cost: $5 and $10. Area $\\pi r^2$.\n\n$$x^2$$\n\n<script>alert(1)</script>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "\\(\\pi r^2\\)" in html and "\\[x^2\\]" in html
    assert "$5 and $10" in html  # money is not math


def test_front_matter_problems_are_named():
    with pytest.raises(LessonError, match="front matter"):
        parse_lesson("# no front matter\n")
    with pytest.raises(LessonError, match="lacks demo"):
        parse_lesson("---\nid: x\ntitle: X\norder: 1\nmodels: []\noutcomes: []\n---\ntext\n")


def test_fence_info_carries_a_run_binding():
    lesson = parse_lesson('---\nid: x\ntitle: X\norder: 1\ndemo: family\nmodels: []\noutcomes: []\n---\n'
                          'Intro\n\n```python {run=family.chat prompt="Hi there" model=qwen3-0.6b}\nprint(1)\n```\n')
    code = lesson.cells[1]
    assert code.language == "python" and code.source == "print(1)"
    assert code.run == {"runner": "family.chat", "prompt": "Hi there", "model": "qwen3-0.6b"}


def test_the_thinking_lessons_early_stop_text_is_the_apps():
    from qwenlab.thinking import EARLY_STOP

    thinking = next(lesson for lesson in LESSONS if lesson.id == "thinking")
    assigned = [node.value for cell in thinking.cells if cell.kind == "code"
                for node in ast.walk(ast.parse(cell.source))
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EARLY_STOP"]
    assert assigned and all(ast.literal_eval(value) == EARLY_STOP for value in assigned)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_every_lesson_teaches_and_checks(lesson):
    counts = lesson.counts()
    assert 4 <= counts["quiz_questions"] <= 6 and 3 <= counts["takeaways"] <= 6
    assert counts["links"] >= 3 and all(url.startswith("https://") for _, url in lesson.links)
    assert counts["tasks"] >= 2 and counts["checked_tasks"] >= 1
    for question in lesson.quiz:
        assert all(option.why for option in question.options) or question.why


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_every_checked_task_names_a_check_its_demo_offers(lesson):
    import gradio as gr

    from qwenlab.pool import ModelPool

    demo = importlib.import_module(f"qwenlab.demos.{lesson.demo}").DEMO
    with gr.Blocks():
        ui = demo.build(ModelPool(budget_bytes=int(1e9), device="cpu")) or {}
    for task in lesson.tasks:
        if task.check:
            check = demo.checks[task.check]
            assert set(check.reads) <= set(ui), f"{task.id} reads {check.reads}; build gives {list(ui)}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_every_lesson_says_how_long_it_takes_and_what_comes_first(lesson):
    from qwenlab.web.shell.page import header_text

    ids = {other.id for other in LESSONS}
    assert 10 <= lesson.minutes <= 90
    assert set(lesson.before) <= ids and lesson.id not in lesson.before
    assert all(ids and next(o for o in LESSONS if o.id == item).order < lesson.order
               for item in lesson.before)
    header = header_text(lesson, "en", {other.id: f"{other.order}. {other.id}" for other in LESSONS})
    assert f"About {lesson.minutes} minutes" in header
