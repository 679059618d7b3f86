"""One lesson as a notebook-style page: prose, highlighted code with Run buttons, try-it
callouts, the quiz (checked here, remembered in the learner's browser), takeaways and links;
and, above its demo, the try-it panel whose checked tasks are marked done when met.

Pages are built once, from the English lesson; a LessonView keeps the components that carry
lesson text, so that a page opened in another language gets that language's lesson (same
cells in the same order, see tests/test_translations.py) when it loads. Quiz choices carry the
option's position as their value, so an answer means the same in every language.
The shell (app.py) arranges pages and demos; this module renders what a Lesson holds.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import threading
from dataclasses import dataclass, field

import gradio as gr

from qwenlab.errors import QwenLabError
from qwenlab.languages import language
from qwenlab.lessons import KATEX_DELIMITERS, Cell, Lesson, load_lessons
from qwenlab.quiz import Question, mark_all
from qwenlab.web import progress as prog
from qwenlab.web.demo import Demo
from qwenlab.web.i18n import N_, lang_of, t, table_entry

log = logging.getLogger(__name__)


def demo_of(name: str) -> Demo:
    """The demo of a lesson: qwenlab.demos.<name>.DEMO."""
    return importlib.import_module(f"qwenlab.demos.{name}").DEMO


def runner_for(run: dict):
    """The function behind a cell's Run button: the runner `<name>` of demo `<demo>`."""
    demo, _, name = run["runner"].partition(".")
    return demo_of(demo).runners[name]


@dataclass
class LessonView:
    """The components of one lesson's page (and demo panel) that hold lesson text."""

    lesson: Lesson
    header: gr.Markdown | None = None
    notice: gr.Markdown | None = None
    prose: dict = field(default_factory=dict)        # cell index -> Markdown
    callouts: dict = field(default_factory=dict)     # task id -> Markdown (on the page)
    prompts: list = field(default_factory=list)      # quiz question Markdown
    inputs: list = field(default_factory=list)
    feedback: list = field(default_factory=list)
    score: gr.Markdown | None = None
    tab: gr.Tab | None = None
    statuses: list = field(default_factory=list)     # task lines in the demo's panel
    download: gr.DownloadButton | None = None
    ui: dict = field(default_factory=dict)           # the demo's named components
    demo: Demo | None = None                         # the demo beside the page

    def components(self) -> list:
        """Every component whose text comes from the lesson file: its tab and its page."""
        return [c for c in [self.tab, *self.page()] if c is not None]

    def page(self) -> list:
        """The components localized() writes: the page's, without its tab (the shell names
        every tab when the page loads; a page is written when it is first opened)."""
        parts = [self.header, self.notice, *self.prose.values(), *self.callouts.values(),
                 *self.prompts, *self.inputs, *self.feedback, self.score, *self.statuses,
                 self.download]
        return [c for c in parts if c is not None]

    def localized(self, lesson: Lesson, state, lang: str, notebook: str | None) -> list:
        """Values for page(), for `lesson` (this lesson in `lang`) and saved progress.
        In English the page already says it all: only the learner's saved answers and tasks."""
        english = lang == "en"
        skip = [gr.skip()] * (2 + len(self.prose) + len(self.callouts))
        values = skip if english else self._text(lesson, lang)
        same = [c.kind for c in lesson.cells] == [c.kind for c in self.lesson.cells]
        values += _quiz_values(self, lesson if same else self.lesson, state, lang)
        tasks = {task.id: task for task in lesson.tasks}
        done = prog.normalise(state)["tasks"].get(self.lesson.id, [])
        values += [task_line(tasks.get(task.id, task), task.id in done, lang=lang)
                   for task in self.lesson.tasks][:len(self.statuses)]
        if self.download is not None:
            values.append(gr.skip() if english else gr.DownloadButton(
                label=t(N_("Download as notebook (.ipynb)"), lang), value=notebook))
        return values

    def _text(self, lesson: Lesson, lang: str) -> list:
        notice = notice_text(lesson, lang)
        titles = {item.id: tab_label(item) for item in lessons_in(lang).values()}
        values = [header_text(lesson, lang, titles), gr.Markdown(value=notice, visible=bool(notice))]
        same = [c.kind for c in lesson.cells] == [c.kind for c in self.lesson.cells]
        values += [(lesson if same else self.lesson).cells[index].html for index in self.prose]
        tasks = {task.id: task for task in lesson.tasks}
        return values + [callout_text(tasks.get(tid) or _task(self.lesson, tid), lang)
                         for tid in self.callouts]


def _task(lesson: Lesson, task_id: str):
    return next(task for task in lesson.tasks if task.id == task_id)


def tab_label(lesson: Lesson) -> str:
    return f"{lesson.order}. {lesson.short or lesson.id.capitalize()}"


def header_text(lesson: Lesson, lang: str, titles: dict[str, str] | None = None) -> str:
    """The title, how long and what comes first, and the outcomes; `titles` names the lessons
    by id in the learner's language."""
    outcomes = "\n".join(f"- {item}" for item in lesson.outcomes)
    plan = []
    if lesson.minutes:
        plan.append(t(N_("About {minutes} minutes"), lang, minutes=lesson.minutes))
    if lesson.before:
        names = ", ".join((titles or {}).get(item, item) for item in lesson.before)
        plan.append(t(N_("Before this: {lessons}"), lang, lessons=names))
    elif lesson.minutes:
        plan.append(t(N_("No earlier lesson needed"), lang))
    line = f"*{' · '.join(plan)}*\n\n" if plan else ""
    return (f"# {lesson.title}\n\n{line}**{t(N_('In this lesson you will learn to:'), lang)}**"
            f"\n\n{outcomes}")


def notice_text(lesson: Lesson, lang: str) -> str:
    name = language(lang).native
    if lesson.fallback and lang != "en":
        return "ℹ️ " + t(N_("This lesson is not translated into {language} yet: here it is in "
                            "English."), lang, language=name)
    if lesson.stale:
        return "ℹ️ " + t(N_("Translated from an earlier version of this lesson: the English "
                            "version may say more. [Read it in English](?lang=en)"), lang)
    return ""


# -- the page ------------------------------------------------------------------------------------
def render_page(lesson: Lesson, pool, progress: gr.BrowserState) -> LessonView:
    view = LessonView(lesson)
    titles = {item.id: tab_label(item) for item in lessons_in("en").values()}
    view.header = gr.Markdown(header_text(lesson, "en", titles), elem_classes=["prose-cell"])
    view.notice = gr.Markdown(visible=False, elem_classes=["prose-cell", "notice"],
                              elem_id=f"notice-{lesson.id}")
    for index, cell in enumerate(lesson.cells):
        if cell.kind == "quiz":
            render_quiz(view, progress)
        elif cell.kind == "task":
            for task in (t_ for t_ in lesson.tasks if f"id: {t_.id}" in cell.source):
                view.callouts[task.id] = gr.Markdown(
                    callout_text(task, "en"), elem_classes=["prose-cell", "task-cell"],
                    latex_delimiters=KATEX_DELIMITERS)
        elif cell.kind == "markdown":
            view.prose[index] = gr.Markdown(cell.html, latex_delimiters=KATEX_DELIMITERS,
                                            elem_classes=["prose-cell"])
        else:
            render_code(cell, pool)
    return view


def render_code(cell: Cell, pool) -> None:
    language_ = cell.language if cell.language in gr.Code.languages else None
    gr.Code(cell.source, language=language_, interactive=False, buttons=["copy"],
            elem_classes=["code-cell"], show_label=False)
    if not cell.run:
        return
    arguments = {k: v for k, v in cell.run.items() if k != "runner"}
    runner = runner_for(cell.run)
    button = gr.Button("▶ Run", size="sm", elem_classes=["run-cell"])
    output = gr.Markdown(elem_classes=["run-output"], latex_delimiters=KATEX_DELIMITERS)

    takes_lang = "lang" in inspect.signature(runner).parameters

    async def run(request: gr.Request):
        lang = lang_of(request)  # the page's language: the runner writes its output in it
        extra = {"lang": lang} if takes_lang else {}
        async for shown in outputs(runner(pool, **arguments, **extra)):
            yield shown

    button.click(run, None, output, api_visibility="private")


async def outputs(result):
    """What a runner yields, whether it streams an answer (an async generator) or computes a
    table at once (a plain one)."""
    if hasattr(result, "__aiter__"):
        async for shown in result:
            yield shown
    else:
        for shown in result:
            yield shown


def callout_text(task, lang: str) -> str:
    checked = f" *({t(N_('the Live demo checks this one'), lang)})*" if task.check else ""
    return f"🧪 **{t(N_('Try it:'), lang)}** {task.text}{checked}"


# -- the quiz -------------------------------------------------------------------------------------
def render_quiz(view: LessonView, progress: gr.BrowserState) -> None:
    lesson = view.lesson
    with gr.Column(elem_classes=["prose-cell", "quiz"], elem_id=f"quiz-{lesson.id}"):
        for number, question in enumerate(lesson.quiz, 1):
            view.prompts.append(gr.Markdown(prompt_text(number, question),
                                            latex_delimiters=KATEX_DELIMITERS))
            view.inputs.append(_answer_input(lesson, question))
            view.feedback.append(gr.Markdown(elem_id=f"quiz-{lesson.id}-{question.id}-feedback",
                                             latex_delimiters=KATEX_DELIMITERS))
        check = gr.Button("Check my answers", variant="primary", size="sm",
                          elem_id=f"quiz-{lesson.id}-check")
        view.score = gr.Markdown(elem_id=f"quiz-{lesson.id}-score")

    def checked(request: gr.Request, state, *values):  # Gradio puts the request first
        lang = lang_of(request)
        result = mark_in(lessons_in(lang)[lesson.id], list(values), lang)
        return (*feedback_of(result), score_line(result, lang),
                prog.record_quiz(state, lesson.id, raw_answers(lesson, values), result))

    check.click(checked, [progress, *view.inputs], [*view.feedback, view.score, progress],
                api_visibility="private")


_LESSONS: dict[str, dict] = {}
_LOCK = threading.Lock()


def lessons_in(lang: str) -> dict:
    """{lesson id: Lesson} in `lang` (translations, stale ones marked, English where missing),
    read once per language."""
    with _LOCK:
        if lang not in _LESSONS:
            _LESSONS[lang] = {lesson.id: lesson for lesson in load_lessons(lang)}
        return _LESSONS[lang]


def prompt_text(number: int, question: Question) -> str:
    return f"**{number}.** {question.prompt}"


def _answer_input(lesson: Lesson, question: Question):
    elem_id = f"quiz-{lesson.id}-{question.id}"
    choices = [(o.text, str(i)) for i, o in enumerate(question.options)]
    if question.kind == "single":
        return gr.Radio(choices, value=None, show_label=False, elem_id=elem_id)
    if question.kind == "multiple":
        return gr.CheckboxGroup(choices, value=[], show_label=False, elem_id=elem_id,
                                info="Tick every right answer.")
    if question.kind == "number":
        return gr.Number(value=None, show_label=False, elem_id=elem_id)
    return gr.Textbox(show_label=False, placeholder="Your answer", elem_id=elem_id)


def raw_answers(lesson: Lesson, values) -> dict:
    """{question id: what the learner gave}, option positions for choices: what is saved."""
    return {q.id: (None if v in ("", None, []) else v) for q, v in zip(lesson.quiz, values)}


def mark_in(lesson: Lesson, values: list, lang: str) -> dict:
    """Mark raw inputs (option positions, numbers, text) against `lesson`'s quiz in its words."""
    answers = {}
    for question, value in zip(lesson.quiz, values):
        if question.kind == "single" and value not in (None, ""):
            value = question.options[int(value)].text
        elif question.kind == "multiple" and value:
            value = [question.options[int(v)].text for v in value]
        answers[question.id] = None if value in ("", None, []) else value
    return mark_all(lesson.quiz, answers, marker_words(lang))


def marker_words(lang: str) -> dict:
    """What the quiz marker says around the lesson's explanations, in the learner's language
    ({answer} is filled in by the marker)."""
    return {"unanswered": t(N_("Not answered yet."), lang),
            "not_a_number": t(N_("Give a number."), lang), "right": t(N_("✅ Right."), lang),
            "wrong": table_entry(N_("❌ Not quite: the answer is {answer}."), lang)}


def feedback_of(result: dict) -> list[str]:
    return [m["feedback"] if m["answered"] else "" for m in result["marks"]]


def score_line(result: dict, lang: str = "en") -> str:
    verdict = (t(N_("🎉 All right!"), lang) if result["score"] == result["total"]
               else t(N_("Read the notes above, then try again."), lang))
    score = t(N_("Score: {score} / {total}."), lang, score=result["score"], total=result["total"])
    return f"**{score}** {verdict}"


def _quiz_values(view: LessonView, lesson: Lesson, state, lang: str) -> list:
    """Prompts, inputs (choices in `lang`, saved answers), feedback and score for the page;
    in English, only what saved answers change."""
    if view.score is None:
        return []
    saved = (prog.normalise(state)["quiz"].get(view.lesson.id) or {}).get("answers") or {}
    raw = [saved.get(q.id) for q in view.lesson.quiz]
    english, answered = lang == "en", any(v is not None for v in raw)
    prompts = ([gr.skip()] * len(raw) if english else
               [prompt_text(n, q) for n, q in enumerate(lesson.quiz, 1)])
    if english and not answered:
        return [*prompts, *[gr.skip()] * (len(raw) * 2 + 1)]
    inputs = [_localized_input(q, value, lang) for q, value in zip(lesson.quiz, raw)]
    try:
        result = mark_in(lesson, raw, lang) if answered else None
    except (QwenLabError, IndexError, ValueError):  # saved for an older quiz: start afresh
        result = None
    if result is None:
        return [*prompts, *inputs, *[""] * len(raw), ""]
    return [*prompts, *inputs, *feedback_of(result), score_line(result, lang)]


def _localized_input(question: Question, value, lang: str):
    if question.kind in ("single", "multiple"):
        choices = [(o.text, str(i)) for i, o in enumerate(question.options)]
        info = {"info": t(N_("Tick every right answer."), lang)} if question.kind == "multiple" else {}
        return gr.update(choices=choices, value=value if value is not None else
                         ([] if question.kind == "multiple" else None), **info)
    if question.kind == "text":
        return gr.update(placeholder=t("Your answer", lang), value=value or "")
    return gr.update(value=value)


# -- try it, in the Live demo -----------------------------------------------------------------------
def render_try_it(view: LessonView, demo: Demo, ui: dict, progress: gr.BrowserState) -> None:
    """The lesson's tasks above its demo; checked ones get a button."""
    lesson = view.lesson
    if not lesson.tasks:
        return
    checks = demo.checks
    with gr.Accordion("🧪 Try it", open=True, elem_id=f"try-{lesson.id}"):
        for task in lesson.tasks:
            with gr.Row(equal_height=True):
                status = gr.Markdown(task_line(task, False), elem_id=f"task-{lesson.id}-{task.id}",
                                     latex_delimiters=KATEX_DELIMITERS)
                view.statuses.append(status)
                if task.check:
                    _wire_check(lesson, task, checks[task.check], ui, status, progress)


def task_line(task, done: bool, message: str = "", lang: str = "en") -> str:
    mark = "✅" if done else "○"
    hint = f"  \n*{t(N_('Hint:'), lang)} {task.hint}*" if task.hint and not done else ""
    return f"{mark} {task.text}{hint}" + (f"  \n{t(message, lang)}" if message else "")


def _wire_check(lesson, task, check, ui: dict, status, progress) -> None:
    button = gr.Button("Check", size="sm", scale=0, min_width=90,
                       elem_id=f"task-{lesson.id}-{task.id}-check")

    def run(request: gr.Request, state, *values):  # Gradio puts the request first
        lang = lang_of(request)
        try:
            done, message = check.fn(*values, **task.args)
        except QwenLabError as exc:
            done, message = False, exc.message  # task_line translates it as a template
        state = prog.record_task(state, lesson.id, task.id) if done else prog.normalise(state)
        shown = next((x for x in lessons_in(lang)[lesson.id].tasks if x.id == task.id), task)
        return task_line(shown, done, message, lang), state

    button.click(run, [progress, *[ui[name] for name in check.reads]], [status, progress],
                 api_visibility="private")
