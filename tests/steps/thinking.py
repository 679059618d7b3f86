"""Lesson 7's checked task, as a learner does it: a 32-token thinking budget, 256 new tokens at
most, Thinking left ticked, one question; the reasoning is cut and the answer follows."""

from browser_steps import set_number
from playwright.sync_api import expect

TASK = "budget-cut"


def steps(page):
    set_number(page, "#think-budget", 32)
    set_number(page, "#think-tokens", 256)
    expect(page.locator("#think-enable input")).to_be_checked()
    page.locator("#think-input textarea").fill("How many prime numbers are there between 1 and 50?")
    page.locator("#think-send").click()
    expect(page.locator("#think-stats")).to_contain_text("tokens/s", timeout=180_000)
