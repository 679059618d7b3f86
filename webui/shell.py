"""The app a learner opens: a lesson list with progress marks, a live pool header, and for each
lesson a notebook-style page (prose, highlighted code, Run buttons) beside its live demo.

The shell only arranges: lessons come from qwenlab.lessons, demos from demos/<id> (each
exposing build(pool) and RUNNERS), models from one shared ModelPool. A demo that fails to
build shows an error panel instead of taking the app down. `serve_one` serves a single demo
the same way (python -m demos.<id>).
"""

from __future__ import annotations

import importlib
import logging
import tempfile
from pathlib import Path

import gradio as gr

from qwenlab.lessons import KATEX_DELIMITERS, Cell, Lesson, load_lessons, to_notebook
from qwenlab.pool import ModelPool
from webui.ui import pool_markdown

log = logging.getLogger(__name__)

CSS = """
.prose-cell { max-width: 860px; }
.code-cell { max-width: 860px; margin-left: 0 !important; }
button.run-cell { max-width: 160px; }
.run-output { border-left: 3px solid var(--color-accent); padding-left: 12px; max-width: 860px; }
#pool-status { font-size: 0.9em; opacity: 0.9; }
@media (max-width: 640px) { .prose-cell, .code-cell, .run-output { max-width: 100%; } }
"""


def demo_module(name: str):
    return importlib.import_module(f"demos.{name}")


def runner_for(run: dict):
    """The function behind a cell's Run button: demos.<module>.RUNNERS[<name>]."""
    module, _, name = run["runner"].partition(".")
    return demo_module(module).RUNNERS[name]


def notebook_file(lesson: Lesson, folder: Path) -> str:
    import nbformat

    path = folder / f"qwenlab-{lesson.id}.ipynb"
    nbformat.write(to_notebook(lesson), str(path))
    return str(path)


def render_cell(cell: Cell, pool: ModelPool) -> None:
    if cell.kind == "markdown":
        gr.Markdown(cell.html, latex_delimiters=KATEX_DELIMITERS, elem_classes=["prose-cell"])
        return
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


def render_lesson(lesson: Lesson, pool: ModelPool, folder: Path, progress: gr.BrowserState):
    outcomes = "\n".join(f"- {item}" for item in lesson.outcomes)
    gr.Markdown(f"# {lesson.title}\n\n**In this lesson you will learn to:**\n\n{outcomes}",
                elem_classes=["prose-cell"])
    for cell in lesson.cells:
        render_cell(cell, pool)
    with gr.Row():
        gr.DownloadButton("Download as notebook (.ipynb)", value=notebook_file(lesson, folder),
                          size="sm")
        done = gr.Button("Mark lesson done ✓", size="sm", elem_id=f"done-{lesson.id}")
    return done


def render_demo(lesson: Lesson, pool: ModelPool) -> None:
    try:
        demo_module(lesson.demo).build(pool)
    except Exception as exc:  # one broken demo must not take the app down
        log.exception("demo %s failed to build", lesson.demo)
        gr.Markdown(f"⚠️ **This demo could not be built**: {exc}")


def nav_choices(lessons: list[Lesson], done: list[str]) -> list[tuple[str, str]]:
    return [(("✓ " if lesson.id in done else "○ ") + f"{lesson.order}. {lesson.title}", lesson.id)
            for lesson in lessons]


def build_app(pool: ModelPool | None = None) -> gr.Blocks:
    pool = pool or ModelPool()
    lessons = load_lessons()
    folder = Path(tempfile.mkdtemp(prefix="qwenlab-notebooks-"))
    with gr.Blocks(title="Qwen Lab") as app:
        progress = gr.BrowserState([], storage_key="qwenlab-progress")
        # Closed at first: on a phone an open sidebar covers the lesson; the tabs navigate too.
        with gr.Sidebar(label="Lessons", open=False):
            gr.Markdown("## Qwen Lab\nLearn the Qwen family by doing: read, run, then try it live.")
            nav = gr.Radio(nav_choices(lessons, []), value=lessons[0].id, label="Lessons",
                           elem_id="lesson-nav")
        status = gr.Markdown(pool_markdown(pool.stats()), elem_id="pool-status")
        with gr.Tabs(selected=lessons[0].id, elem_id="lesson-tabs") as tabs:
            for lesson in lessons:
                # short labels keep every lesson on one row; the sidebar has the full titles
                with gr.Tab(f"{lesson.order}. {lesson.id.capitalize()}", id=lesson.id):
                    with gr.Tabs():
                        with gr.Tab("Lesson", id=f"{lesson.id}-page"):
                            done = render_lesson(lesson, pool, folder, progress)
                        with gr.Tab("Live demo", id=f"{lesson.id}-demo"):
                            render_demo(lesson, pool)
                done.click(lambda d, key=lesson.id: sorted(set(d or []) | {key}), progress, progress,
                           api_visibility="private")

        gr.Timer(3).tick(lambda: pool_markdown(pool.stats()), None, status,
                         api_visibility="private", show_progress="hidden")
        def pool_status() -> dict:
            """The shared model pool: device, budget, loaded models with measured bytes, counters."""
            return pool.stats()

        gr.api(pool_status, api_name="pool_status")
        nav.change(lambda key: gr.Tabs(selected=key), nav, tabs, api_visibility="private")
        progress.change(lambda d: gr.Radio(choices=nav_choices(lessons, d or [])), progress, nav,
                        api_visibility="private")
        app.load(lambda d: gr.Radio(choices=nav_choices(lessons, d or [])), progress, nav,
                 api_visibility="private")
    return app


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
