"""Lesson 4's checked task, as a learner does it: pick the receipt sample, then lower or raise
the maximum until the preview counts between 300 and 400 visual tokens."""

from browser_steps import set_number
from playwright.sync_api import expect

TASK = "receipt-budget"


def steps(page):
    page.locator("#vision-samples [data-testid='dataset-cell-1-1']").click()  # the receipt
    expect(page.locator("#vision-plan")).to_contain_text("receipt.png", timeout=30_000)
    set_number(page, "#vision-max", 400)
    # 540×780 scaled down to 512×768: 16×24 blocks of 32×32 (Qwen3.5), as its processor counts
    expect(page.locator("#vision-plan")).to_contain_text("384 visual tokens", timeout=30_000)
