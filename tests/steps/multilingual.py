"""Lesson 3's checked task, as a learner does it: ask with Urdu, lower the token limit, ask
again; the second Urdu answer uses fewer tokens than the first."""

from browser_steps import set_number
from playwright.sync_api import expect

TASK = "cheaper-urdu"


def steps(page):
    for other in ("English", "Chinese", "Marathi", "Swahili"):  # Urdu alone keeps it quick
        page.locator("#ml-languages label", has_text=other).click()
    set_number(page, "#ml-tokens", 64)
    page.locator("#ml-go").click()
    expect(page.locator("#ml-runs")).to_contain_text("Run 1: Urdu", timeout=120_000)
    set_number(page, "#ml-tokens", 32)
    page.locator("#ml-go").click()
    expect(page.locator("#ml-runs")).to_contain_text("Run 2: Urdu", timeout=120_000)
