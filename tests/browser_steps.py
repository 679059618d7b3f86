"""What browser tests do the same way in many places."""

from playwright.sync_api import expect


def set_number(page, field: str, value: float) -> None:
    """Type `value` into a slider's or a Number's box, as a learner does, and wait for it to take."""
    box = page.locator(f"{field} input[type='number']")
    for attempt in range(3):
        box.fill(str(value))
        box.press("Enter")
        try:
            expect(box).to_have_value(str(value), timeout=5_000)
            return
        except AssertionError:
            # On a loaded machine the page may still be settling (its load event re-renders
            # the tab) and drop the first value typed; a learner would type it again.
            if attempt == 2:
                raise


def short_answers(page, prefix: str, tokens: int = 64) -> None:
    """Open the demo's Sampling accordion and lower its token limit. A random tiny model never
    stops early, and hundreds of streamed tokens cost minutes of rendering on a 2-core machine
    without testing anything more."""
    page.locator(f"#{prefix}-sampling").get_by_role("button").first.click()
    set_number(page, f"#{prefix}-tokens", tokens)


def pick(page, dropdown: str, value: str) -> None:
    """Choose `value` in a dropdown by clicking its option, as a learner does (typing and Enter
    did not always take on a busy machine)."""
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option", name=value, exact=True).click()
    expect(page.locator(f"{dropdown} input")).to_have_value(value)
