"""Lesson 8's checked task, as a learner does it: train for at least 10 steps (here with the
learning rate raised, as the hint says) and see the loss fall."""

from browser_steps import set_number
from playwright.sync_api import expect

TASK = "loss-falls"


def steps(page):
    set_number(page, "#ft-steps", 12)
    set_number(page, "#ft-lr", 0.005)
    page.locator("#ft-go").click()
    expect(page.locator("#ft-status")).to_contain_text("Adapter saved", timeout=300_000)
    expect(page.locator("#ft-compare")).to_contain_text("What is the capital of Japan?")
