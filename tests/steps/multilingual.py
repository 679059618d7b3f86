"""Lesson 3's checked task, as a learner does it: ask with Urdu, lower the token limit, ask
again; the second Urdu answer uses fewer tokens than the first."""

from playwright.sync_api import expect

TASK = "cheaper-urdu"


def set_limit(page, tokens: int):
    box = page.locator("#ml-tokens input[type=number]")
    box.fill(str(tokens))
    box.press("Enter")
    expect(box).to_have_value(str(tokens))


def steps(page):
    for other in ("English", "Chinese", "Marathi", "Swahili"):  # Urdu alone keeps it quick
        page.locator("#ml-languages label", has_text=other).click()
    set_limit(page, 64)
    page.locator("#ml-go").click()
    expect(page.locator("#ml-runs")).to_contain_text("Run 1: Urdu", timeout=120_000)
    set_limit(page, 32)
    page.locator("#ml-go").click()
    expect(page.locator("#ml-runs")).to_contain_text("Run 2: Urdu", timeout=120_000)
