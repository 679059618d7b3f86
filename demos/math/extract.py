"""Find the final \\boxed{} answer in a model's solution, as Qwen2.5-Math's prompt asks for it.

Plain string logic (no SymPy, so the demo can call it while a solution streams). Reading the
boxed text as mathematics is demos/math/latex.py; checking it is demos/math/check.py.
"""

from __future__ import annotations

import re

from qwenlab.errors import N_, Message

_BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])\s*")
CUT_OFF = Message(N_("No {box} answer: the solution stops inside its last {open}, so there is "
                     "no complete final answer."), box="\\boxed{}", open="\\boxed{...}")
NO_BOX = Message(N_("No {box} answer in the solution."), box="\\boxed{}")


def _braced(text: str, start: int) -> tuple[str, int] | None:
    """The contents of the {...} group opening at text[start], nested braces respected."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif text[i] == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1
    return None


def _boxes(text: str) -> list[str | None]:
    """Every box in order; None for one cut off before it closes (a stream stopped inside it)."""
    boxes: list[str | None] = []
    index = 0
    while match := _BOX.search(text, index):
        end = match.end()
        if end < len(text) and text[end] == "{":
            group = _braced(text, end)
            if group is None:
                return boxes + [None]
            boxes.append(group[0].strip())
            index = group[1]
            continue
        # \boxed 42: no braces, as models sometimes write it; the answer runs to a space or $
        token = re.match(r"[^\s$]+", text[end:])
        if token is None:
            return boxes + [None]
        value = re.sub(r"(\\[\])]|[.,;:])+$", "", token.group(0))
        boxes.append(value or None)
        index = end + len(token.group(0))
    return boxes


def boxed_answers(text: str) -> list[str]:
    """Every complete \\boxed{...} in order; an unclosed box (cut-off output) is left out."""
    return [box for box in _boxes(text) if box is not None]


def final_answer(text: str) -> str | None:
    """The last box is the final answer; None if there is none, or if the last one is cut off
    (an earlier box is then a step on the way, not the answer)."""
    boxes = _boxes(text)
    return boxes[-1] if boxes else None


def missing_answer(text: str) -> str:
    """Why final_answer(text) is None, in words for the learner."""
    boxes = _boxes(text)
    return CUT_OFF if boxes and boxes[-1] is None else NO_BOX
