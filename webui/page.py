"""One lesson as a notebook-style page: prose, highlighted code with Run buttons, try-it
callouts, the quiz (checked here, remembered in the learner's browser), takeaways and links;
and, beside the demo, the try-it panel whose checked tasks are marked done when met.

The shell (shell.py) arranges pages and demos; this module renders what a Lesson holds.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field

import gradio as gr

from qwenlab.errors import QwenLabError
from qwenlab.lessons import KATEX_DELIMITERS, Cell, Lesson
from qwenlab.quiz import Question, mark_all
from webui import progress as prog

log = logging.getLogger(__name__)


def demo_module(name: str):
    return importlib.import_module(f"demos.{name}")


def runner_for(run: dict):
    """The function behind a cell's Run button: demos.<module>.RUNNERS[<name>]."""
    module, _, name = run["runner"].partition(".")
    return demo_module(module).RUNNERS[name]


@dataclass
class QuizView:
    """The quiz's components, for checking and for restoring a learner's answers."""

    lesson: Lesson
    inputs: list = field(default_factory=list)
    feedback: list = field(default_factory=list)
    score: gr.Markdown | None = None


def render_cells(lesson: Lesson, pool, progress: gr.BrowserState) -> QuizView:
    quiz = QuizView(lesson)
    for cell in lesson.cells:
        if cell.kind == "quiz":
            render_quiz(quiz, progress)
        elif cell.kind == "task":
            render_task_callout(lesson, cell)
        elif cell.kind == "markdown":
            gr.Markdown(cell.html, latex_delimiters=KATEX_DELIMITERS, elem_classes=["prose-cell"])
        else:
            render_code(cell, pool)
    return quiz


def render_code(cell: Cell, pool) -> None:
    language = cell.language if cell.language in gr.Code.languages else None
    gr.Code(cell.source, language=language, interactive=False, buttons=["copy"],
            elem_classes=["code-cell"], show_label=False)
    if not cell.run:
        return
    arguments = {k: v for k, v in cell.run.items() if k != "runner"}
    runner = runner_for(cell.run)
    button = gr.Button("▶ Run", size="sm", elem_classes=["run-cell"])
    output = gr.Markdown(elem_classes=["run-output"], latex_delimiters=KATEX_DELIMITERS)

    def run():
        yield from runner(pool, **arguments)

    button.click(run, None, output, api_visibility="private")


def render_task_callout(lesson: Lesson, cell: Cell) -> None:
    for task in (t for t in lesson.tasks if f"id: {t.id}" in cell.source):
        checked = " *(the Live demo checks this one)*" if task.check else ""
        gr.Markdown(f"🧪 **Try it:** {task.text}{checked}", elem_classes=["prose-cell", "task-cell"],
                    latex_delimiters=KATEX_DELIMITERS)


# -- the quiz -------------------------------------------------------------------------------------
def render_quiz(view: QuizView, progress: gr.BrowserState) -> None:
    lesson = view.lesson
    with gr.Column(elem_classes=["prose-cell", "quiz"], elem_id=f"quiz-{lesson.id}"):
        for number, question in enumerate(lesson.quiz, 1):
            gr.Markdown(f"**{number}.** {question.prompt}", latex_delimiters=KATEX_DELIMITERS)
            view.inputs.append(_answer_input(lesson, question))
            view.feedback.append(gr.Markdown(elem_id=f"quiz-{lesson.id}-{question.id}-feedback",
                                             latex_delimiters=KATEX_DELIMITERS))
        check = gr.Button("Check my answers", variant="primary", size="sm",
                          elem_id=f"quiz-{lesson.id}-check")
        view.score = gr.Markdown(elem_id=f"quiz-{lesson.id}-score")

    def checked(state, *values):
        answers = {q.id: _plain_value(v) for q, v in zip(lesson.quiz, values)}
        result = mark_all(lesson.quiz, answers)
        return (*[m["feedback"] if m["answered"] else "" for m in result["marks"]], score_line(result),
                prog.record_quiz(state, lesson.id, answers, result))

    check.click(checked, [progress, *view.inputs], [*view.feedback, view.score, progress],
                api_visibility="private")


def _answer_input(lesson: Lesson, question: Question):
    elem_id = f"quiz-{lesson.id}-{question.id}"
    texts = [o.text for o in question.options]
    if question.kind == "single":
        return gr.Radio(texts, value=None, show_label=False, elem_id=elem_id)
    if question.kind == "multiple":
        return gr.CheckboxGroup(texts, value=[], show_label=False, info="Tick every right answer.",
                                elem_id=elem_id)
    if question.kind == "number":
        return gr.Number(value=None, show_label=False, elem_id=elem_id)
    return gr.Textbox(show_label=False, placeholder="Your answer", elem_id=elem_id)


def _plain_value(value):
    return None if value in ("", None) else value


def score_line(result: dict) -> str:
    verdict = "🎉 All right!" if result["score"] == result["total"] else "Read the notes above, then try again."
    return f"**Score: {result['score']} / {result['total']}.** {verdict}"


def restore_quiz(view: QuizView, state) -> list:
    """The values a learner's saved answers put back into the quiz (inputs, feedback, score)."""
    saved = prog.normalise(state)["quiz"].get(view.lesson.id)
    if not saved:
        return [gr.skip()] * (len(view.inputs) * 2 + 1)
    answers = saved["answers"]
    try:
        result = mark_all(view.lesson.quiz, {k: v for k, v in answers.items()
                                             if k in {q.id for q in view.lesson.quiz}})
    except QwenLabError:  # the lesson changed since: show nothing rather than old marks
        return [gr.skip()] * (len(view.inputs) * 2 + 1)
    values = [answers.get(q.id) for q in view.lesson.quiz]
    return [*values, *[m["feedback"] if m["answered"] else "" for m in result["marks"]],
            score_line(result)]


# -- try it, in the Live demo -----------------------------------------------------------------------
def render_try_it(lesson: Lesson, module, ui: dict, progress: gr.BrowserState) -> list:
    """The lesson's tasks under its demo; checked ones get a button. Returns the status
    components, which the shell refreshes from the learner's saved progress."""
    if not lesson.tasks:
        return []
    checks = getattr(module, "CHECKS", {})
    statuses = []
    with gr.Accordion("🧪 Try it", open=True, elem_id=f"try-{lesson.id}"):
        for task in lesson.tasks:
            with gr.Row(equal_height=True):
                status = gr.Markdown(task_line(task, False), elem_id=f"task-{lesson.id}-{task.id}",
                                     latex_delimiters=KATEX_DELIMITERS)
                statuses.append(status)
                if task.check:
                    _wire_check(lesson, task, checks[task.check], ui, status, progress)
    return statuses


def task_line(task, done: bool, message: str = "") -> str:
    mark = "✅" if done else "○"
    hint = f"  \n*Hint: {task.hint}*" if task.hint and not done else ""
    return f"{mark} {task.text}{hint}" + (f"  \n{message}" if message else "")


def _wire_check(lesson, task, check, ui: dict, status, progress) -> None:
    button = gr.Button("Check", size="sm", scale=0, min_width=90,
                       elem_id=f"task-{lesson.id}-{task.id}-check")

    def run(state, *values):
        try:
            done, message = check.fn(*values, **task.args)
        except QwenLabError as exc:
            done, message = False, str(exc)
        state = prog.record_task(state, lesson.id, task.id) if done else prog.normalise(state)
        return task_line(task, done, message), state

    button.click(run, [progress, *[ui[name] for name in check.reads]], [status, progress],
                 api_visibility="private")
