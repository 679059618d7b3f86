"""Lesson 2's checked task, as a learner does it: type the exercise into the Problem box and
one's own answer into "Check your own answer", and let SymPy check it."""

import re

from playwright.sync_api import expect

TASK = "own-derivative"


def steps(page):
    page.locator("#math-problem textarea").fill(
        "Find the derivative of x^3 - 6x^2 + 9x + 1 and its critical points.")
    page.get_by_role("button", name=re.compile("Check your own answer")).click()
    page.locator("#math-mine textarea").fill("3x^2 - 12x + 9, x = 1, 3")
    page.locator("#math-mine-go").click()
    expect(page.locator("#math-mine-check")).to_contain_text("SymPy agrees", timeout=30_000)
