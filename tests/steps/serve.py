"""Lesson 9's checked task, as a learner does it: find an input that the chapter's deletion of
"<script>" leaves dangerous."""

from playwright.sync_api import expect

TASK = "beat-the-sanitiser"


def steps(page):
    page.get_by_role("tab", name="Security").click()
    page.locator("#serve-escape-text textarea").fill("<SCRIPT>alert('hi')</SCRIPT>")
    page.locator("#serve-escape").click()
    expect(page.locator("#serve-escaped")).to_contain_text("Still dangerous", timeout=30_000)
