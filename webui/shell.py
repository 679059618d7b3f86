"""The app a learner opens: a lesson list with progress marks, a live pool header, and for each
lesson a notebook-style page (prose, highlighted code, Run buttons) beside its live demo.

The shell only arranges: lessons come from qwenlab.lessons, demos from demos/<id> (each
exposing build(pool) and RUNNERS), models from one shared ModelPool. A demo that fails to
build shows an error panel instead of taking the app down. `serve_one` serves a single demo
the same way (python -m demos.<id>).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import gradio as gr

from qwenlab.lessons import Lesson, load_lessons
from qwenlab.notebook import to_notebook
from qwenlab.pool import ModelPool
from qwenlab.quiz import mark_all
from webui import progress as prog
from webui.page import demo_module, render_cells, render_try_it, restore_quiz, task_line
from webui.ui import pool_markdown, user_errors

log = logging.getLogger(__name__)

CSS = """
.prose-cell { max-width: 860px; }
.code-cell { max-width: 860px; margin-left: 0 !important; }
button.run-cell { max-width: 160px; }
.run-output { border-left: 3px solid var(--color-accent); padding-left: 12px; max-width: 860px; }
#pool-status { font-size: 0.9em; opacity: 0.9; }
.quiz { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 12px; }
.task-cell { background: var(--background-fill-secondary); border-radius: 6px; padding: 4px 10px; }
@media (max-width: 640px) { .prose-cell, .code-cell, .run-output { max-width: 100%; } }
"""


def notebook_file(lesson: Lesson, folder: Path) -> str:
    import nbformat

    path = folder / f"qwenlab-{lesson.id}.ipynb"
    nbformat.write(to_notebook(lesson, notebook_files(lesson)), str(path))
    return str(path)


def notebook_files(lesson: Lesson) -> dict[str, bytes]:
    """The sample files a lesson's cells read, from its demo (demos/<id> NOTEBOOK_FILES)."""
    try:
        files = getattr(demo_module(lesson.demo), "notebook_files", None)
    except ImportError:
        return {}
    return {name: Path(path).read_bytes() for name, path in (files() if files else {}).items()}


def render_lesson(lesson: Lesson, pool: ModelPool, folder: Path, progress: gr.BrowserState):
    """The page; returns its quiz view and the Mark-done button."""
    outcomes = "\n".join(f"- {item}" for item in lesson.outcomes)
    gr.Markdown(f"# {lesson.title}\n\n**In this lesson you will learn to:**\n\n{outcomes}",
                elem_classes=["prose-cell"])
    quiz = render_cells(lesson, pool, progress)
    with gr.Row():
        gr.DownloadButton("Download as notebook (.ipynb)", value=notebook_file(lesson, folder),
                          size="sm")
        done = gr.Button("Mark lesson done ✓", size="sm", elem_id=f"done-{lesson.id}")
    return quiz, done


def render_demo(lesson: Lesson, pool: ModelPool, progress: gr.BrowserState) -> list:
    """The live demo and its try-it panel; returns the panel's task status components."""
    slot = gr.Column()  # the try-it panel goes first on the page, though it is made last
    try:
        module = demo_module(lesson.demo)
        ui = module.build(pool) or {}
    except Exception as exc:  # one broken demo must not take the app down
        log.exception("demo %s failed to build", lesson.demo)
        gr.Markdown(f"⚠️ **This demo could not be built**: {exc}")
        return []
    with slot:
        return render_try_it(lesson, module, ui, progress)


def nav_choices(lessons: list[Lesson], state) -> list[tuple[str, str]]:
    return [(prog.nav_label(state, lesson), lesson.id) for lesson in lessons]


def build_app(pool: ModelPool | None = None) -> gr.Blocks:
    pool = pool or ModelPool()
    lessons = load_lessons()
    folder = Path(tempfile.mkdtemp(prefix="qwenlab-notebooks-"))
    views = {}
    with gr.Blocks(title="Qwen Lab") as app:
        progress = gr.BrowserState(prog.empty(), storage_key=prog.STORAGE_KEY)
        # Closed at first: on a phone an open sidebar covers the lesson; the tabs navigate too.
        with gr.Sidebar(label="Lessons", open=False):
            gr.Markdown("## Qwen Lab\nLearn the Qwen family by doing: read, run, then try it live.")
            nav = gr.Radio(nav_choices(lessons, None), value=lessons[0].id, label="Lessons",
                           elem_id="lesson-nav")
        status = gr.Markdown(pool_markdown(pool.stats()), elem_id="pool-status")
        with gr.Tabs(selected=lessons[0].id, elem_id="lesson-tabs") as tabs:
            for lesson in lessons:
                views[lesson.id] = _lesson_tab(lesson, pool, folder, progress)
        _wire_header(app, pool, lessons, views, progress, nav, tabs, status)
    return app


def _lesson_tab(lesson: Lesson, pool: ModelPool, folder: Path, progress) -> dict:
    # short labels keep every lesson on one row; the sidebar has the full titles
    with gr.Tab(f"{lesson.order}. {lesson.id.capitalize()}", id=lesson.id):
        with gr.Tabs():
            with gr.Tab("Lesson", id=f"{lesson.id}-page"):
                quiz, done = render_lesson(lesson, pool, folder, progress)
            with gr.Tab("Live demo", id=f"{lesson.id}-demo"):
                tasks = render_demo(lesson, pool, progress)
    done.click(lambda state, key=lesson.id: prog.mark_done(state, key), progress, progress,
               api_visibility="private")
    return {"quiz": quiz, "tasks": tasks}


def _wire_header(app, pool, lessons, views, progress, nav, tabs, status) -> None:
    gr.Timer(3).tick(lambda: pool_markdown(pool.stats()), None, status,
                     api_visibility="private", show_progress="hidden")

    def pool_status() -> dict:
        """The shared model pool: device, budget, loaded models with measured bytes, counters."""
        return pool.stats()

    def quiz_check(lesson: str, answers: dict) -> dict:
        """Mark a learner's answers to a lesson's quiz: {"score", "total", "marks": [{"id",
        "correct", "answered", "feedback"}]}. answers: {question id: option text, list of
        option texts, number or text}."""
        found = next((item for item in lessons if item.id == lesson), None)
        if found is None:
            raise gr.Error(f"No lesson {lesson!r}; lessons: {', '.join(x.id for x in lessons)}")
        with user_errors():
            return mark_all(found.quiz, dict(answers or {}))

    gr.api(pool_status, api_name="pool_status")
    gr.api(quiz_check, api_name="quiz_check")
    nav.change(lambda key: gr.Tabs(selected=key), nav, tabs, api_visibility="private")
    progress.change(lambda state: gr.Radio(choices=nav_choices(lessons, state)), progress, nav,
                    api_visibility="private")
    restore = [c for v in views.values() for c in (*v["quiz"].inputs, *v["quiz"].feedback,
                                                  v["quiz"].score, *v["tasks"]) if c is not None]

    def restored(state):
        values = []
        for lesson in lessons:
            view = views[lesson.id]
            if view["quiz"].score is not None:
                values += restore_quiz(view["quiz"], state)
            done = prog.normalise(state)["tasks"].get(lesson.id, [])
            values += [task_line(t, t.id in done) for t in lesson.tasks][:len(view["tasks"])]
        return [gr.Radio(choices=nav_choices(lessons, state)), *values]

    app.load(restored, progress, [nav, *restore], api_visibility="private")


MAX_UPLOAD = "50mb"  # a 50-megapixel phone photo fits; the vision demo shrinks it on arrival


def launch(app: gr.Blocks, pool: ModelPool | None = None, **kwargs) -> None:
    """Serve with Gradio's queue sized to the pool's limits: each event runs up to twice the
    answers a model writes at once (the rest of those wait in the model's line, seeing their
    place), and Gradio refuses new requests once the operator's line is full."""
    from demos.vision.samples import FOLDER  # the sample images the vision demo draws

    limits = pool.admission if pool is not None else None
    concurrency = max(4, 2 * limits.per_model) if limits else 4
    app.queue(default_concurrency_limit=concurrency,
              max_size=limits.max_waiting if limits else None).launch(
        css=CSS, theme=gr.themes.Soft(), footer_links=["api", "gradio"], show_error=True,
        max_file_size=MAX_UPLOAD, allowed_paths=[str(FOLDER)], **kwargs)


def main(host: str | None = None, port: int | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    kwargs = {k: v for k, v in {"server_name": host, "server_port": port}.items() if v}
    pool = ModelPool()
    launch(build_app(pool), pool, **kwargs)


def serve_one(name: str, build, **launch_kwargs) -> None:
    """One demo on its own page, with the app's pool, queue and styles (python -m demos.<name>)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    pool = ModelPool()
    with gr.Blocks(title=f"Qwen Lab: {name}") as app:
        build(pool)
    launch(app, pool, **launch_kwargs)
