"""Lesson 1's checked task, as a learner does it: pick for hard reasoning on a 6 GB laptop GPU,
then ask the pick something."""

from browser_steps import pick
from playwright.sync_api import expect

TASK = "fits-6gb"


def steps(page):
    for field, value in (("#family-task", "hard reasoning"), ("#family-device", "Laptop GPU (6 GB)")):
        pick(page, field, value)
    page.locator("#family-pick-btn").click()
    summary = page.locator("#family-summary")
    expect(summary).to_contain_text("Laptop GPU (6 GB)", timeout=30_000)
    expect(summary).to_contain_text("multi-step reasoning")  # how the picker names the task
    page.locator("#family-input textarea").fill("Hello!")
    page.locator("#family-send").click()
    expect(page.locator("#family-stats")).to_contain_text("tokens/s", timeout=120_000)
