"""Lesson 6's checked task, as a learner does it: in the quantization lab, measure
Qwen2.5-0.5B at bf16 and nf4 only, then compare the weights."""

from browser_steps import pick
from playwright.sync_api import expect

TASK = "bf16-vs-nf4"


def steps(page):
    expect(page.locator("#edge-model input")).to_have_value("qwen3.5-0.8b", timeout=30_000)
    pick(page, "#edge-model", "qwen2.5-0.5b")  # the task names it; the list starts at Qwen3.5
    precisions = page.locator("#edge-precisions")
    for name in ("bf16", "nf4"):
        expect(precisions.locator("label", has_text=name).locator("input")).to_be_checked()
    for name in ("int8", "int4"):  # fewer loads: this task compares two precisions
        box = precisions.locator("label", has_text=name).locator("input")
        if box.count() and box.is_checked():
            box.uncheck()
    page.locator("#edge-go").click()
    expect(page.locator("#edge-status")).to_contain_text("done", timeout=240_000)
    expect(page.locator("#edge-table")).to_contain_text("nf4")
