"""The vision lesson's try-it tasks that the app checks itself (lessons/en/04-vision.md, "Try
it"): each checker reads the Live demo's components and decides from what is really there, the
image processor's own count included, never from the model's answer (tiny test checkpoints
answer noise). Laying out the tab is demos/vision/__init__.py's job.
"""

from __future__ import annotations

import re
from pathlib import Path

from demos.vision.images import FACTOR, open_image, plan
from demos.vision.samples import make_samples
from qwenlab.prompts import prepare_messages
from webui.ui import Check

_STATS = re.compile(r"= (\d+) visual tokens of the (\d+)-token prompt")


def is_sample(path: str | None, sample: str) -> bool:
    """Whether the image in the upload box is the sample the app drew: Gradio hands the handler
    a copy in its cache, so the bytes are compared, not the path."""
    if not path:
        return False
    try:
        return Path(path).read_bytes() == Path(make_samples()[sample]).read_bytes()
    except OSError:
        return False


def budget_in_range(path, min_tokens, max_tokens, model, sample: str, low: int,
                    high: int) -> tuple[bool, str]:
    """The `sample` is in the upload box and, under the sliders' budget, `model`'s image
    processor turns it into `low` to `high` visual tokens (the count the preview shows)."""
    if not is_sample(path, sample):
        return False, f"Pick the *{sample}* sample under the upload box first."
    p = plan(open_image(path), min_tokens, max_tokens, model)
    size = f"{p.width}×{p.height}, {p.width // FACTOR}×{p.height // FACTOR} blocks of 28×28"
    if p.tokens < low:
        return False, (f"{p.tokens} visual tokens ({size}): too few for the small print. "
                       "Raise the maximum.")
    if p.tokens > high:
        return False, (f"{p.tokens} visual tokens ({size}): more than you need. Lower the "
                       "minimum or the maximum.")
    return True, (f"{p.tokens} visual tokens ({size}) at {int(min_tokens)} to {int(max_tokens)}, "
                  f"as {model}'s image processor counts them.")


def followed_up(path, history, stats, sample: str) -> tuple[bool, str]:
    """The `sample` is in the upload box and the chat about it holds a question, its answer, a
    follow-up and its answer (whatever the words: the tiny test models answer noise)."""
    if not is_sample(path, sample):
        return False, f"Pick the *{sample}* sample under the upload box first."
    turns = [t for t in prepare_messages(list(history or []), vision=False)
             if t["role"] in ("user", "assistant")]
    asked = sum(t["role"] == "user" for t in turns)
    last = turns[-1] if turns else {"role": "", "content": ""}
    if asked < 2:
        return False, ("Ask about the chart, then ask a follow-up question." if not asked else
                       "Now ask a follow-up question about the same chart.")
    if last["role"] != "assistant" or last["content"].startswith("⏳"):
        return False, "Wait for the answer to your follow-up."
    found = _STATS.search(stats or "")
    if not found:
        return True, "A follow-up about the same image: the whole chat went back, image included."
    return True, (f"Your follow-up sent the chart's {found[1]} visual tokens again, in a "
                  f"{found[2]}-token prompt: nothing is remembered between turns.")


CHECKS = {
    "budget_in_range": Check(("image", "min_tokens", "max_tokens", "model"), budget_in_range),
    "followed_up": Check(("image", "chat", "stats"), followed_up),
}
