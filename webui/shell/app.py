"""The app a learner opens: a lesson list with progress marks, a live pool header, and for each
lesson a notebook-style page (prose, highlighted code, Run buttons) beside its live demo.

The shell only arranges: lessons come from qwenlab.lessons, demos from qwenlab.demos.<id>
(each a `Demo` record), models from one shared ModelPool. A demo that fails to build shows an
error panel instead of taking the app down. `build_demo` serves a single demo the same way
(`qwenlab serve --demo <id>`).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import gradio as gr

from qwenlab.languages import language
from qwenlab.lessons import Lesson
from qwenlab.notebook import WORDS as NOTEBOOK_WORDS
from qwenlab.notebook import to_notebook
from qwenlab.pool import ModelPool
from qwenlab.quiz import mark_all
from qwenlab.web import progress as prog
from qwenlab.web.i18n import N_, font_css, head_js, lang_of, picker_choices, t
from qwenlab.web.localize import collect, updates
from qwenlab.web.shell.page import (
    LessonView,
    demo_of,
    lessons_in,
    marker_words,
    render_page,
    render_try_it,
    tab_label,
)
from qwenlab.web.ui import learner_error, pool_markdown, user_errors

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


_NOTEBOOKS: dict[tuple[str, str], str] = {}


def notebook_file(lesson: Lesson, folder: Path) -> str:
    """The lesson as a .ipynb in its own language, written once per lesson and language."""
    import nbformat

    key = (lesson.id, lesson.lang)
    if key not in _NOTEBOOKS:
        path = folder / lesson.lang / f"qwenlab-{lesson.id}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        words = {k: t(v, lesson.lang) for k, v in NOTEBOOK_WORDS.items()}
        nbformat.write(to_notebook(lesson, notebook_files(lesson), words), str(path))
        _NOTEBOOKS[key] = str(path)
    return _NOTEBOOKS[key]


def notebook_files(lesson: Lesson) -> dict[str, bytes]:
    """The sample files a lesson's cells read, from its demo (Demo.notebook_files)."""
    files = demo_of(lesson.demo).notebook_files
    return {name: Path(path).read_bytes() for name, path in (files() if files else {}).items()}


def render_lesson(view: LessonView, pool: ModelPool, folder: Path, progress) -> gr.Button:
    """The page, built into `view`; returns its Mark-done button."""
    with gr.Row():
        view.download = gr.DownloadButton("Download as notebook (.ipynb)", size="sm",
                                          value=notebook_file(view.lesson, folder))
        done = gr.Button("Mark lesson done ✓", size="sm", elem_id=f"done-{view.lesson.id}")
    return done


def render_demo(view: LessonView, pool: ModelPool, progress: gr.BrowserState) -> None:
    """The live demo, with its try-it panel on top."""
    slot = gr.Column()  # the try-it panel goes first on the page, though it is made last
    try:
        demo = demo_of(view.lesson.demo)
        ui = demo.build(pool) or {}
    except Exception as exc:  # one broken demo must not take the app down
        log.exception("demo %s failed to build", view.lesson.demo)
        gr.Markdown(f"⚠️ **This demo could not be built**: {exc}")
        return
    view.ui, view.demo = ui, demo
    with slot:
        render_try_it(view, demo, ui, progress)


def nav_choices(lessons, state) -> list[tuple[str, str]]:
    return [(prog.nav_label(state, lesson), lesson.id) for lesson in lessons]


def build_app(pool: ModelPool | None = None) -> gr.Blocks:
    return build_shell(pool)[0]


def build_shell(pool: ModelPool | None = None) -> tuple[gr.Blocks, set[int]]:
    """The app, and the ids of its components whose text comes from lesson files or is built
    per request (the string table does not translate those; keys.py skips them)."""
    pool = pool or ModelPool()
    lessons = list(lessons_in("en").values())
    folder = Path(tempfile.mkdtemp(prefix="qwenlab-notebooks-"))
    with gr.Blocks(title="Qwen Lab") as app:
        progress = gr.BrowserState(prog.empty(), storage_key=prog.STORAGE_KEY)
        # Closed at first: on a phone an open sidebar covers the lesson; the tabs navigate too.
        with gr.Sidebar(label="Lessons", open=False):
            gr.Markdown("## Qwen Lab\nLearn the Qwen family by doing: read, run, then try it live.")
            nav = gr.Radio(nav_choices(lessons, None), value=lessons[0].id, label="Lessons",
                           elem_id="lesson-nav")
        with gr.Row(equal_height=True):
            status = gr.Markdown(pool_markdown(pool.stats()), elem_id="pool-status")
            picker = gr.Dropdown(picker_choices(), value="en", show_label=False, scale=0,
                                 min_width=140, elem_id="language", interactive=True)
        with gr.Tabs(selected=lessons[0].id, elem_id="lesson-tabs") as tabs:
            views = [_lesson_tab(lesson, pool, folder, progress) for lesson in lessons]
        bound = _wire_header(app, pool, views, progress, nav, tabs, status, picker, folder)
    return app, bound


def _lesson_tab(lesson: Lesson, pool: ModelPool, folder: Path, progress) -> LessonView:
    # short labels keep every lesson on one row; the sidebar has the full titles
    with gr.Tab(tab_label(lesson), id=lesson.id) as tab:
        with gr.Tabs():
            with gr.Tab("Lesson", id=f"{lesson.id}-page"):
                view = render_page(lesson, pool, progress)
                done = render_lesson(view, pool, folder, progress)
            with gr.Tab("Live demo", id=f"{lesson.id}-demo"):
                render_demo(view, pool, progress)
    view.tab = tab
    done.click(lambda state, key=lesson.id: prog.mark_done(state, key), progress, progress,
               api_visibility="private")
    return view


def _wire_header(app, pool, views, progress, nav, tabs, status, picker, folder) -> set[int]:
    gr.Timer(3).tick(_pool_line(pool), None, status, api_visibility="private",
                     show_progress="hidden")
    _apis(pool)
    nav.change(lambda key: gr.Tabs(selected=key), nav, tabs, api_visibility="private")
    def renamed(state, request: gr.Request):
        return gr.Radio(choices=nav_choices(lessons_in(lang_of(request)).values(), state))

    progress.change(renamed, progress, nav, api_visibility="private")
    picker.input(None, picker, None, js="(code) => window.qwenlabSetLanguage(code)")
    skip = {id(c) for view in views for c in view.components()} | {id(nav), id(picker), id(status)}
    slots = collect(app, skip=skip)
    hooks = _demo_hooks(views, pool)  # [(component, view, name)]: what demos set for a language
    owners = {id(view.tab): view for view in views}
    by_lesson = {view.lesson.id: [] for view in views}
    shell = []  # the slots outside every lesson: the sidebar's, the header's
    for slot in slots:
        view = _owner(slot.component, owners)
        (by_lesson[view.lesson.id] if view else shell).append(slot)

    def localized(state, request: gr.Request):
        lang = lang_of(request)
        lessons = lessons_in(lang)
        wanted = dict(request.query_params).get("lesson")  # ?lesson=ID opens that lesson
        wanted = wanted if wanted in lessons else None
        values = [gr.Radio(choices=nav_choices(lessons.values(), state), label=t("Lessons", lang),
                           **({"value": wanted} if wanted else {})),
                  gr.Dropdown(value=lang), pool_markdown(pool.stats(), lang),
                  gr.Tabs(selected=wanted) if wanted else gr.skip()]
        values += [gr.skip() if lang == "en" else gr.Tab(label=tab_label(lessons[view.lesson.id]))
                   for view in views]
        return values + _merged(shell, [], lang, pool)

    outputs = [nav, picker, status, tabs, *(view.tab for view in views),
               *(s.component for s in shell)]
    app.load(localized, progress, outputs, api_visibility="private").then(
        None, nav, None, js=OPEN_LESSON)
    nav.change(None, nav, None, js=OPEN_LESSON)
    for view in views:
        _wire_lesson_text(view, by_lesson[view.lesson.id], [h for h in hooks if h[1] is view],
                          progress, folder, pool)
    return skip


# A lesson's text, its demo's labels and the learner's saved answers are put in when the lesson
# is first opened, by a hidden button per lesson, not all at page load: Gradio's page keeps a
# loading status for every component an event has ever written to and walks them all on each
# later event, so one load event writing the 764 components of eleven lessons made every later
# event (the header's pool line every 3 s, each streamed piece of an answer) cost about a second
# of the browser's time on a 2-core EPYC; with only the open lessons' components, about 0.1 s.
OPEN_LESSON = """(key) => {
  const trigger = document.getElementById("localize-" + key);
  if (trigger && !trigger.dataset.done) { trigger.dataset.done = "1"; trigger.click(); }
}"""


def _owner(block, owners: dict):
    """The lesson view whose tab holds `block`, or None for the shell's own blocks."""
    while block is not None:
        if id(block) in owners:
            return owners[id(block)]
        block = getattr(block, "parent", None)
    return None


def _wire_lesson_text(view, slots, hooks, progress, folder, pool) -> None:
    trigger = gr.Button(visible="hidden", elem_id=f"localize-{view.lesson.id}")

    def localized(state, request: gr.Request):
        lang = lang_of(request)
        lesson = lessons_in(lang)[view.lesson.id]
        return (view.localized(lesson, state, lang, notebook_file(lesson, folder))
                + _merged(slots, hooks, lang, pool))

    outputs = [*view.page(), *(s.component for s in slots)]
    outputs += [c for c, _, _ in hooks if id(c) not in {id(s.component) for s in slots}]
    trigger.click(localized, progress, outputs, api_visibility="private", show_progress="hidden")
    view.tab.select(None, None, None, js=OPEN_LESSON.replace("(key) =>", f"(key = {view.lesson.id!r}) =>"))


def _demo_hooks(views, pool) -> list:
    """(component, view, name) for what each demo's on_load(pool, lang) sets."""
    hooks = []
    for view in views:
        on_load = view.demo.on_load if view.demo else None
        if on_load:
            hooks += [(view.ui[name], view, name) for name in on_load(pool, "en")]
    return hooks


def _merged(slots, hooks, lang: str, pool) -> list:
    """The table's updates for the page's slots, with the demos' own load updates merged in
    (one update per component), then the updates of hooked components that are not slots."""
    own, loaded = {}, {}
    for component, view, name in hooks:
        if id(view) not in loaded:
            loaded[id(view)] = view.demo.on_load(pool, lang)
        own[id(component)] = loaded[id(view)][name]
    values = []
    for slot, value in zip(slots, updates(slots, lang)):
        extra = own.pop(id(slot.component), None)
        if extra is not None and isinstance(value, dict):
            value = {**value, **extra}
        elif extra is not None:
            value = extra
        values.append(value)
    return values + [own[id(c)] for c, _, _ in hooks if id(c) in own]


def _pool_line(pool):
    async def line(request: gr.Request):  # quick and on the loop: no thread for each open page
        return pool_markdown(pool.stats(), lang_of(request))

    return line


def _apis(pool) -> None:
    async def pool_status() -> dict:  # what each open page asks: answered on the loop
        """The shared model pool: device, budget, loaded models with measured bytes, counters."""
        return pool.stats()

    def quiz_check(lesson: str, answers: dict, lang: str = "en") -> dict:
        """Mark a learner's answers to a lesson's quiz: {"score", "total", "marks": [{"id",
        "correct", "answered", "feedback"}]}. answers: {question id: option text (in `lang`),
        list of option texts, number or text}; lang: en, mr, ur, my, pa or sw."""
        lang = language(lang).code
        found = lessons_in(lang).get(lesson)
        if found is None:
            raise learner_error(lang, t(N_("No lesson {lesson}; lessons: {lessons}"), lang,
                             lesson=repr(lesson), lessons=", ".join(lessons_in("en"))))
        with user_errors(lang):
            return mark_all(found.quiz, dict(answers or {}), marker_words(lang))

    gr.api(pool_status, api_name="pool_status")
    gr.api(quiz_check, api_name="quiz_check")


MAX_UPLOAD = "50mb"  # a 50-megapixel phone photo fits; the vision demo shrinks it on arrival


def launch(app: gr.Blocks, pool: ModelPool | None = None, **kwargs) -> None:
    """Serve the app. Gradio's queue sets no limit on events running at once: every handler
    that answers is async, so a learner waiting in a model's line (seeing their place) or for
    its next token holds no thread, and the model's engine, not Gradio, decides who is written
    now (engines/driver.py); the other handlers are quick and share Gradio's default 40
    threads."""
    from qwenlab.demos.vision.samples import FOLDER  # the sample images the vision demo draws

    app.queue(default_concurrency_limit=None).launch(
        css=CSS + font_css(), head=head_js(), theme=gr.themes.Soft(),
        footer_links=["api", "gradio"], show_error=True, max_file_size=MAX_UPLOAD,
        allowed_paths=[str(FOLDER)], **kwargs)


def main(host: str | None = None, port: int | None = None, demo: str | None = None) -> None:
    """Serve the whole app, or with `demo` one lesson's demo on a page of its own."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    kwargs = {k: v for k, v in {"server_name": host, "server_port": port}.items() if v}
    pool = ModelPool()
    launch(build_demo(demo, pool) if demo else build_app(pool), pool, **kwargs)


def build_demo(name: str, pool: ModelPool) -> gr.Blocks:
    """One demo on its own page, with the app's pool, queue and styles (`qwenlab serve --demo`)."""
    with gr.Blocks(title=f"Qwen Lab: {name}") as app:
        demo_of(name).build(pool)
    return app
