"""The vision lesson's try-it tasks that the app checks itself (lessons/en/04-vision.md, "Try
it"): each checker reads the Live demo's components and decides from what is really there, the
image processor's own count included, never from the model's answer (tiny test checkpoints
answer noise). Laying out the tab is demos/vision/__init__.py's job.
"""

from __future__ import annotations

import re
from pathlib import Path

from qwenlab.demos.vision.images import open_image, plan
from qwenlab.demos.vision.samples import make_samples
from qwenlab.languages import LANGUAGES
from qwenlab.prompts import prepare_messages
from qwenlab.web.demo import Check
from qwenlab.web.i18n import N_, table_entry

IMAGE_STATS = N_("image {width}×{height} = {tokens} visual tokens of the {prompt}-token prompt")


def _stats_pattern(template: str) -> re.Pattern:
    """A regex over a (translated) stats template: numbers for its placeholders."""
    pattern = re.escape(template)
    for name in ("width", "height", "tokens", "prompt"):
        group = rf"(?P<{name}>\d+)" if name in ("tokens", "prompt") else r"\d+"
        pattern = pattern.replace(re.escape("{" + name + "}"), group, 1)
    return re.compile(pattern)


def stats_numbers(stats: str | None) -> tuple[str, str] | None:
    """(visual tokens, prompt tokens) from the vision tab's stats line, in any language the
    string table has."""
    templates = dict.fromkeys(table_entry(IMAGE_STATS, code) for code in LANGUAGES)
    for template in templates:
        found = _stats_pattern(template).search(stats or "")
        if found:
            return found["tokens"], found["prompt"]
    return None


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
        return False, N_("Pick the *{sample}* sample under the upload box first.").format(
            sample=sample)
    p = plan(open_image(path), min_tokens, max_tokens, model)
    values = dict(tokens=p.tokens, width=p.width, height=p.height, columns=p.width // p.block,
                  rows=p.height // p.block, block=p.block)
    if p.tokens < low:
        return False, N_("{tokens} visual tokens ({width}×{height}, {columns}×{rows} blocks of "
                         "{block}×{block}): too few for the small print. Raise the "
                         "maximum.").format(**values)
    if p.tokens > high:
        return False, N_("{tokens} visual tokens ({width}×{height}, {columns}×{rows} blocks of "
                         "{block}×{block}): more than you need. Lower the minimum or the "
                         "maximum.").format(**values)
    return True, N_("{tokens} visual tokens ({width}×{height}, {columns}×{rows} blocks of "
                    "{block}×{block}) at {low} to {high}, as {model}'s image processor counts "
                    "them.").format(
                        **values, low=int(min_tokens), high=int(max_tokens), model=model)


def followed_up(path, history, stats, sample: str) -> tuple[bool, str]:
    """The `sample` is in the upload box and the chat about it holds a question, its answer, a
    follow-up and its answer (whatever the words: the tiny test models answer noise)."""
    if not is_sample(path, sample):
        return False, N_("Pick the *{sample}* sample under the upload box first.").format(
            sample=sample)
    turns = [t for t in prepare_messages(list(history or []), vision=False)
             if t["role"] in ("user", "assistant")]
    asked = sum(t["role"] == "user" for t in turns)
    last = turns[-1] if turns else {"role": "", "content": ""}
    if asked < 2:
        return False, (N_("Ask about the chart, then ask a follow-up question.") if not asked else
                       N_("Now ask a follow-up question about the same chart."))
    if last["role"] != "assistant" or last["content"].startswith("⏳"):
        return False, N_("Wait for the answer to your follow-up.")
    found = stats_numbers(stats)
    if not found:
        return True, N_("A follow-up about the same image: the whole chat went back, image "
                        "included.")
    return True, N_("Your follow-up sent the chart's {tokens} visual tokens again, in a "
                    "{prompt}-token prompt: nothing is remembered between turns.").format(
                        tokens=found[0], prompt=found[1])


CHECKS = {
    "budget_in_range": Check(("image", "min_tokens", "max_tokens", "model"), budget_in_range),
    "followed_up": Check(("image", "chat", "stats"), followed_up),
}
