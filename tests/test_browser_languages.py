"""Qwen Lab in each of its languages, in headless Chromium: the page in the language the URL
names, a translated lesson and demo, an error message in that language, the script drawn by
its own font, Urdu laid out right to left, and the header's picker remembered by the browser.

Screenshots land in screenshots/lang-<code>-*.png for a person to look at.
"""

import pytest
from test_browser import (  # noqa: F401 (fixtures below)
    ARGS,
    CHROMIUM,
    OPEN_PAGES,
    browser,  # noqa: F401
    close_pages,  # noqa: F401 (autouse here too: a failed test's page is closed)
    open_app,
    shot,
)

from qwenlab.languages import LANGUAGES
from qwenlab.lessons import load_lessons
from qwenlab.web.i18n import t

pytestmark = pytest.mark.browser
TRANSLATED = [code for code in LANGUAGES if code != "en"]



def fonts_drawing(page, selector: str) -> set[str]:
    """The fonts Chromium really used to draw the text of the first element matching
    `selector` (DevTools' CSS.getPlatformFontsForNode): proof that the script is drawn by a
    font made for it, not as boxes or by a stand-in."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    text = cdp.send("DOM.describeNode", {"nodeId": node, "depth": 1})["node"]
    target = next((c for c in text.get("children", []) if c.get("nodeType") == 3), None)
    used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": target["nodeId"] if target else node})
    return {font["familyName"] for font in used["fonts"] if font["glyphCount"]}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_app_in_each_language(browser, app_url, lang):  # noqa: F811
    from playwright.sync_api import expect

    first = load_lessons(lang)[0]
    assert not first.fallback, f"{lang} has no translation of {first.path.name}"
    page = open_app(browser, f"{app_url}?lang={lang}", viewport={"width": 1280, "height": 900})
    root = page.locator("html")
    expect(root).to_have_attribute("lang", lang)
    expect(root).to_have_attribute("dir", "rtl" if LANGUAGES[lang].rtl else "ltr")
    expect(page.get_by_role("heading", name=first.title).first).to_be_visible(timeout=30_000)
    expect(page.locator("#language input")).to_have_value(LANGUAGES[lang].native)
    if LANGUAGES[lang].fonts:  # the script's own font draws the lesson's heading
        wanted = {name.strip(' "') for name in LANGUAGES[lang].fonts.split(",")}
        used = fonts_drawing(page, "#lesson-tabs .prose h1")
        assert used & wanted, f"{lang} heading drawn by {used}, none of {wanted}"
    if LANGUAGES[lang].rtl:
        prose = page.locator(".prose").first
        assert prose.evaluate("e => getComputedStyle(e).direction") == "rtl"
        code = page.locator(".code-cell pre, .code-cell .cm-content").first
        assert code.evaluate("e => getComputedStyle(e).direction") == "ltr"  # code stays LTR
    shot(page, f"lang-{lang}-lesson")

    page.get_by_role("tab", name=t("Live demo", lang)).locator("visible=true").first.click()
    page.locator("#family-send").click()  # an empty question
    expect(page.get_by_text(t("Type a question first.", lang))).to_be_visible(timeout=15_000)
    # Gradio draws the toast's title and the chat's error badge itself: in our words too
    expect(page.locator(".toast-title").first).to_contain_text(t("Error", lang))
    expect(page.locator(".toast-title").first).not_to_contain_text("Error")
    expect(page.locator("#family-chat span.error")).to_have_text(t("Error", lang))
    # the picker's table headers are in the learner's language before the first pick
    expect(page.locator("#family-table")).to_contain_text(t("Model", lang))
    expect(page.locator("footer")).to_contain_text(t("Use via API", lang))  # Gradio's footer
    shot(page, f"lang-{lang}-demo-error")
    page.close()


def test_the_picker_switches_language_and_the_browser_remembers(browser, app_url):  # noqa: F811
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    OPEN_PAGES.append(page)
    page.goto(app_url)
    page.wait_for_selector("#lesson-nav", timeout=60_000)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("#language input").click()
    page.get_by_role("option", name=LANGUAGES["sw"].native).click()
    page.wait_for_url("**lang=sw**", timeout=30_000)
    page.wait_for_selector("#lesson-nav", timeout=60_000)
    expect(page.locator("html")).to_have_attribute("lang", "sw")
    expect(page.get_by_role("heading", name=load_lessons("sw")[0].title).first).to_be_visible(
        timeout=30_000)
    page.goto(app_url)  # no ?lang=: the stored choice wins over the browser's English
    page.wait_for_selector("#lesson-nav", timeout=60_000)
    expect(page.locator("html")).to_have_attribute("lang", "sw")
    context.close()


def test_the_upload_box_and_the_samples_in_swahili(browser, app_url):  # noqa: F811
    """Gradio's own upload-box words and tooltips, and the vision samples' table: its column
    names and its questions, which a click puts in the question box."""
    from playwright.sync_api import expect

    from qwenlab.demos.vision.samples import QUESTIONS

    lang = "sw"
    page = open_app(browser, f"{app_url}?lang={lang}&lesson=vision",
                    viewport={"width": 1280, "height": 900})
    page.get_by_role("tab", name=t("Live demo", lang)).locator("visible=true").first.click()
    upload = page.locator("#vision-image [data-testid=upload-text]")
    expect(upload).to_contain_text(t("Click to Upload", lang), timeout=30_000)
    expect(upload).not_to_contain_text("Click to Upload")
    expect(page.locator(f"#vision-image [aria-label='{t('Paste from clipboard', lang)}']")).to_have_count(1)
    # what a screen reader says for a slider's number box: Gradio's words around our label
    spoken = t("number input for {label}", lang, label=t("Max new tokens", lang))
    expect(page.locator("#vision-tokens input[type=number]")).to_have_attribute("aria-label", spoken)
    samples = page.locator("#vision-samples")
    expect(samples.locator("thead")).to_contain_text(t("Question", lang))
    expect(samples).to_contain_text(t(QUESTIONS["scene"], lang))
    samples.locator("[data-testid='dataset-cell-2-1']").click()  # the scene
    expect(page.locator("#vision-question textarea")).to_have_value(t(QUESTIONS["scene"], lang))
    # the click fills values only: the boxes keep their labels in the learner's language
    expect(page.locator("#vision-question")).to_contain_text(t("Question", lang))
    expect(page.locator("#vision-question")).not_to_contain_text("Question")
    expect(page.locator("#vision-image")).not_to_contain_text("Image")
    expect(page.locator("#vision-plan")).to_contain_text("scene.png", timeout=30_000)
    shot(page, f"lang-{lang}-vision")
    page.close()
