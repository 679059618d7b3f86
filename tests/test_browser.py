"""A learner in headless Chromium: every lesson page, one Run cell, one live demo; screenshots.

Screenshots land in screenshots/ (git-ignored) for a person to look at.
"""

import os
import re
from pathlib import Path

import pytest
from awkward_images import BAD_IMAGES, REFUSED
from browser_steps import set_number, short_answers

from qwenlab.demos.vision.samples import QUESTIONS
from qwenlab.lessons import load_lessons

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: scripts/setup.sh test installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


OPEN_PAGES = []


@pytest.fixture(autouse=True)
def close_pages():
    """A test that fails leaves no page behind: one left streaming slows every later test."""
    yield
    while OPEN_PAGES:
        page = OPEN_PAGES.pop()
        if not page.is_closed():
            page.close()


def open_app(browser, url, **context):
    page = browser.new_page(**context)
    OPEN_PAGES.append(page)
    page.goto(url)
    page.wait_for_selector("#lesson-nav", timeout=60_000)
    return page


def shot(page, name):
    """screenshots/<name>.png, for a person to look at: the window where the test ended (the
    last thing it clicked or read is scrolled into view), or the whole page with
    QWENLAB_SHOTS=full. A whole lesson page took ~4.4 s a shot on two cores, half of the time
    of test_every_lesson_page_opens."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), animations="disabled",
                    full_page=os.environ.get("QWENLAB_SHOTS") == "full")


def open_demo(browser, url, title=None, **context):
    """The app in a new page, on lesson `title` (the first when None), its Live demo tab open."""
    page = open_app(browser, url, **({"viewport": {"width": 1280, "height": 900}} | context))
    if title:
        open_lesson(page, title)
    show_demo(page)
    return page


def show_demo(page):
    """Switch the open lesson to its Live demo tab."""
    page.get_by_role("tab", name="Live demo").locator("visible=true").first.click()


def open_lesson(page, title):
    """Through the sidebar, as a learner would."""
    if not page.locator(".sidebar.open").count():
        page.get_by_role("button", name="Toggle Sidebar").click()
    page.locator("#lesson-nav label", has_text=title).click()
    from playwright.sync_api import expect

    # eleven pages of prose and code: on two busy cores a switch can take longer than 5 s
    expect(page.get_by_role("heading", name=re.compile(re.escape(title))).first).to_be_visible(
        timeout=30_000)


def test_every_lesson_page_opens(browser, app_url):
    from playwright.sync_api import expect

    page = open_app(browser, app_url, viewport={"width": 1280, "height": 900})
    for lesson in load_lessons():
        open_lesson(page, lesson.title)
        expect(page.locator(".code-cell:visible").first).to_be_visible()
        shot(page, f"lesson-{lesson.id}")
    page.close()


def test_run_cell_streams_model_output_under_the_cell(browser, app_url):
    from playwright.sync_api import expect

    page = open_app(browser, app_url, viewport={"width": 1280, "height": 900})
    run_buttons = page.locator("button.run-cell")
    expect(run_buttons).to_have_count(2)
    run_buttons.nth(1).click()  # the chat cell: loads qwen3.5-0.8b through the pool and streams
    output = page.locator("[data-testid='markdown'].run-output").nth(1)
    expect(output).to_contain_text(re.compile(r"tokens/s"), timeout=180_000)
    expect(output).to_contain_text("qwen3.5-0.8b bf16 on cpu")
    expect(page.locator("#pool-status")).to_contain_text("qwen3.5-0.8b", timeout=10_000)
    run_buttons.nth(0).click()  # the memory cell: the picker's ranked answer
    expect(page.locator("[data-testid='markdown'].run-output").nth(0)).to_contain_text("Best fit", timeout=30_000)
    shot(page, "lesson-family-run")
    page.close()


def test_live_demo_picks_then_chats_with_the_pick(browser, app_url):
    from playwright.sync_api import expect

    page = open_demo(browser, app_url)
    page.locator("#family-pick-btn").click()
    expect(page.locator("#family-summary")).to_contain_text("Best fit", timeout=30_000)
    expect(page.locator("#family-table")).to_contain_text("qwen")
    page.locator("#family-input textarea").fill("Say hello in one sentence.")
    page.locator("#family-send").click()
    top = page.locator("#family-table tbody tr").first.locator("td").nth(1).inner_text().strip()
    expect(page.locator("#family-stats")).to_contain_text("tokens/s", timeout=120_000)
    # the pick answers, at the precision the picker chose (4-bit on a CPU laptop -> nf4)
    expect(page.locator("#family-stats")).to_contain_text(re.compile(rf"{re.escape(top)} (bf16|nf4) on cpu"))
    expect(page.locator("#family-chat [data-testid='bot']").last).not_to_be_empty()
    shot(page, "demo-family")
    page.close()


def test_empty_question_gets_a_clear_message(browser, app_url):
    from playwright.sync_api import expect

    page = open_demo(browser, app_url)
    page.locator("#family-send").click()
    expect(page.get_by_text("Type a question first.")).to_be_visible(timeout=15_000)
    page.close()


def test_phone_width_and_dark_mode_render(browser, app_url):
    from playwright.sync_api import expect

    page = open_app(browser, app_url + "?__theme=dark", viewport={"width": 390, "height": 844},
                    device_scale_factor=2, color_scheme="dark")
    expect(page.locator(".code-cell:visible").first).to_be_visible()
    # nothing wider than the phone: no sideways scrolling of the page itself
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    shot(page, "phone-dark")
    page.close()


def test_math_demo_solves_and_checks_in_the_browser(browser, app_url):
    from playwright.sync_api import expect

    page = open_app(browser, app_url, viewport={"width": 1280, "height": 900})
    open_lesson(page, "Maths with Qwen2.5-Math")
    shot(page, "lesson-math")
    show_demo(page)
    short_answers(page, "math")
    page.locator("#math-problem textarea").fill("Solve x^2 - 5x + 6 = 0.")
    page.locator("#math-solve").click()
    expect(page.locator("#math-stats")).to_contain_text("tokens/s", timeout=180_000)
    expect(page.locator("#math-check")).to_contain_text(re.compile("Not checked|SymPy"))
    page.get_by_role("button", name=re.compile("Check your own answer")).click()
    page.locator("#math-mine textarea").fill("x = 2, 3")
    page.get_by_role("button", name="Check it").click()
    expect(page.locator("#math-mine-check")).to_contain_text("SymPy agrees", timeout=30_000)
    shot(page, "demo-math")
    page.close()


def test_code_demo_generates_in_the_browser(browser, app_url):
    from playwright.sync_api import expect

    page = open_demo(browser, app_url, "Code with Qwen2.5-Coder")
    short_answers(page, "code")
    page.locator("#code-go").click()
    expect(page.locator("#code-stats")).to_contain_text("tokens/s", timeout=180_000)
    expect(page.locator("#code-answer")).not_to_be_empty()
    shot(page, "demo-code")
    page.close()


def test_multilingual_demo_with_a_right_to_left_panel(browser, app_url):
    from playwright.sync_api import expect

    page = open_demo(browser, app_url, "Many languages")
    set_number(page, "#ml-tokens", 32)  # a random tiny model never stops early
    page.locator("#ml-go").click()
    expect(page.locator("#ml-stats")).to_contain_text("Swahili:", timeout=240_000)
    urdu = page.locator("#ml-urdu [data-testid='markdown']")
    expect(urdu).to_have_attribute("dir", "rtl")
    expect(urdu).not_to_be_empty()
    expect(page.locator("#ml-english [data-testid='markdown']")).to_have_attribute("dir", "ltr")
    page.locator("#ml-count").click()
    expect(page.locator("#ml-counts")).to_contain_text("Punjabi", timeout=60_000)
    shot(page, "demo-multilingual")
    page.close()


def test_thinking_demo_chats_and_compares(browser, app_url):
    from playwright.sync_api import expect

    page = open_app(browser, app_url, viewport={"width": 1280, "height": 900})
    open_lesson(page, "Thinking mode")
    shot(page, "lesson-thinking")
    show_demo(page)
    set_number(page, "#think-tokens", 64)  # a random tiny model never stops early
    page.locator("#think-input textarea").fill("Why is the sky blue? /no_think")
    page.locator("#think-send").click()
    expect(page.locator("#think-stats")).to_contain_text("tokens/s", timeout=180_000)
    page.locator("#think-compare").click()
    expect(page.locator("#think-table")).to_contain_text("thinking off", timeout=240_000)
    shot(page, "demo-thinking")
    page.close()


def test_vision_demo_asks_about_a_sample_then_follows_up(browser, app_url):
    from playwright.sync_api import expect

    page = open_demo(browser, app_url, "Vision with Qwen:")
    set_number(page, "#vision-tokens", 32)  # a random tiny model never stops early
    page.locator("#vision-samples [data-testid='dataset-cell-1-1']").click()  # the receipt
    expect(page.locator("#vision-plan")).to_contain_text("receipt.png", timeout=30_000)
    expect(page.locator("#vision-question textarea")).to_have_value(QUESTIONS["receipt"])
    expect(page.locator("#vision-plan")).to_contain_text("visual tokens")
    page.locator("#vision-ask").click()
    expect(page.locator("#vision-stats")).to_contain_text("visual tokens", timeout=120_000)
    expect(page.locator("#vision-question textarea")).to_have_value("")  # cleared for the next
    page.locator("#vision-question textarea").fill("And how much was the tax?")
    page.locator("#vision-ask").click()
    expect(page.locator("#vision-chat [data-testid='user']")).to_have_count(2, timeout=120_000)
    expect(page.locator("#vision-chat [data-testid='user']").last).to_contain_text("tax")
    expect(page.locator("#vision-stats")).to_contain_text("visual tokens", timeout=120_000)
    shot(page, "demo-vision")
    page.close()


@pytest.mark.parametrize("case", BAD_IMAGES)
def test_vision_demo_handles_each_awkward_upload(browser, app_url, bad_images, case):
    from playwright.sync_api import expect

    page = open_demo(browser, app_url, "Vision with Qwen:")
    set_number(page, "#vision-tokens", 32)
    page.locator("#vision-image input[type=file]").set_input_files(str(bad_images[case]))
    expect(page.locator("#vision-plan")).to_contain_text(BAD_IMAGES[case], timeout=30_000)
    page.locator("#vision-question textarea").fill("What is in this picture?")
    page.locator("#vision-ask").click()
    if case in REFUSED:
        expect(page.get_by_test_id("toast-body")).to_contain_text(BAD_IMAGES[case], timeout=30_000)
    else:
        expect(page.locator("#vision-stats")).to_contain_text("visual tokens", timeout=120_000)
    shot(page, f"demo-vision-{case}")
    page.close()


def test_edge_lab_compares_precisions_and_shows_the_pool(browser, app_url):
    from playwright.sync_api import expect

    page = open_app(browser, app_url, viewport={"width": 1280, "height": 900})
    open_lesson(page, "Edge deployment")
    shot(page, "lesson-edge")
    show_demo(page)
    page.locator("#edge-go").click()
    expect(page.locator("#edge-status")).to_contain_text("done", timeout=240_000)
    table = page.locator("#edge-table")
    for precision in ("bf16", "int8", "nf4"):
        expect(table).to_contain_text(precision)
    expect(page.locator("#edge-csv")).to_contain_text(".csv")
    expect(page.locator("#edge-plot-0 canvas, #edge-plot-0 svg").first).to_be_visible()
    shot(page, "demo-edge")
    page.get_by_role("tab", name="Memory calculator").click()
    page.locator("#edge-calc-precision label", has_text="nf4").click()
    expect(page.locator("#edge-calc")).to_contain_text("Qwen3-235B-A22B")
    page.get_by_role("tab", name="The pool, live").click()
    expect(page.locator("#edge-pool-counters")).to_contain_text("loads", timeout=10_000)
    expect(page.locator("#edge-pool-models")).to_contain_text("qwen3.5-0.8b", timeout=10_000)
    expect(page.locator("#edge-pool-events")).to_contain_text("ready")
    shot(page, "demo-edge-pool")
    page.close()


# -- every lesson: its quiz answered, one task the app checks done, its end looked at ----------
def answer_quiz(page, lesson):
    """Give every question of the lesson's quiz its right answer, as a learner clicks them."""
    for question in lesson.quiz:
        box = page.locator(f"#quiz-{lesson.id}-{question.id}")
        right = question.correct()
        if question.kind == "single":
            box.locator("label", has_text=right).first.click()
        elif question.kind == "multiple":
            for text in right:
                box.locator("label", has_text=text).first.click()
        else:
            box.locator("input, textarea").first.fill(str(right))
    page.locator(f"#quiz-{lesson.id}-check").click()


def task_steps() -> dict:
    """{lesson id: (task id, steps(page))} from tests/steps/<lesson>.py: for each lesson, what a
    learner does in its Live demo to meet one task the app checks."""
    import importlib.util

    found = {}
    for path in sorted((Path(__file__).parent / "steps").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"steps_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[path.stem] = (module.TASK, module.steps)
    return found


CHECKED_TASKS = task_steps()


@pytest.mark.parametrize("lesson", [lesson for lesson in load_lessons()
                                    if lesson.id in CHECKED_TASKS], ids=lambda lesson: lesson.id)
def test_a_lessons_quiz_and_checked_task(browser, app_url, lesson):
    from playwright.sync_api import expect

    page = open_app(browser, app_url, viewport={"width": 1280, "height": 900})
    open_lesson(page, lesson.title)
    answer_quiz(page, lesson)
    total = len(lesson.quiz)
    expect(page.locator(f"#quiz-{lesson.id}-score")).to_contain_text(f"{total} / {total}",
                                                                     timeout=20_000)
    page.locator(f"#quiz-{lesson.id}-score").scroll_into_view_if_needed()
    shot(page, f"lesson-{lesson.id}-end")
    task, steps = CHECKED_TASKS[lesson.id]
    show_demo(page)
    steps(page)
    page.locator(f"#task-{lesson.id}-{task}-check").click()
    expect(page.locator(f"#task-{lesson.id}-{task}")).to_contain_text("✅", timeout=30_000)
    shot(page, f"demo-{lesson.id}-task")
    # both are remembered in the browser: a reload shows them again
    page.reload()
    page.wait_for_selector("#lesson-nav", timeout=60_000)
    expect(page.locator("#lesson-nav")).to_contain_text(f"quiz {total}/{total}", timeout=20_000)
    page.close()
