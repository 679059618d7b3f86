"""Lesson 5's checked task, as a learner does it: ask for the binary search in TypeScript with
two requirements, and let the answer finish."""

from browser_steps import pick, short_answers
from playwright.sync_api import expect

TASK = "binary-search-ts"


def steps(page):
    page.locator("#code-task textarea").fill(
        "Write a function binarySearch(arr, target) that does a binary search of the sorted array "
        "arr and returns the index of target.")
    pick(page, "#code-language", "TypeScript")
    page.locator("#code-constraints textarea").fill("Return -1 when target is missing\nNo recursion")
    short_answers(page, "code")
    page.locator("#code-go").click()
    expect(page.locator("#code-stats")).to_contain_text("tokens/s", timeout=180_000)
