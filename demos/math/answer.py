"""The shape of a boxed answer: one value, a list of values (`x = 1, 3`, `\\{1, 3\\}`, `\\pm`), or
several labelled parts (`f'(x) = 6x + 2, x = -\\frac{1}{3}`).

Splits the text and reads each piece with demos/math/latex.py; what the pieces should be is
demos/math/check.py's business. Shapes it cannot tell apart, such as `(1, 3)` (a point, an
open interval, or two values), raise CheckError rather than being guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qwenlab.demos.math.latex import CheckError, Reading, read
from qwenlab.errors import N_

_EMPTY = re.compile(r"^\s*(?:\\(?:emptyset|varnothing)|\\\{\s*\\\}|\{\s*\}|(?:\\text\{)?\s*(?:there (?:are|is) )?"
                    r"(?:no (?:real |complex )?(?:solutions?|roots?|zeros?)|none)\.?\s*\}?)\s*$", re.I)
_SEPARATOR = re.compile(r"\\(?:text|textrm|mbox|mathrm)\{[^{}]*\b(?:or|and)\b[^{}]*\}|\\text\{\s*,\s*\}"
                        r"|\s(?:or|and)\s|\\q?quad(?![a-z])|\\\\|[,;]")
_LABEL = re.compile(r"^\s*(?P<label>[^=]*?)\s*=(?!=)\s*(?P<body>.*)$", re.S)


@dataclass(frozen=True)
class Part:
    label: str  # what stood before "=", "" when nothing did
    body: str


def cleaned(answer: str) -> str:
    """Without $ signs, \\left/\\right, a final full stop or a leading 'x \\in'."""
    text = answer.replace("$", " ").strip()
    text = re.sub(r"\\(?:left|right)(?=[(\[|.]|\\[{}|])", "", text)
    text = re.sub(r"\\(?:displaystyle|[,; ])", " ", text).replace("\\!", "").strip()
    text = re.sub(r"^[a-zA-Z]\s*\\in\s*", "", text)
    return re.sub(r"\s*\.$", "", text).strip()


def split_top(text: str) -> list[str]:
    """Split at commas, semicolons, 'or'/'and' that are not inside brackets; 1,234 stays whole."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c in "{([" and not text[max(0, i - 1):i] == "\\":
            depth += 1
        elif c in "})]" and not text[max(0, i - 1):i] == "\\":
            depth -= 1
        elif depth == 0 and (match := _SEPARATOR.match(text, i)):
            thousands = c == "," and re.match(r",\d{3}(?!\d)", text[i:])
            if not (thousands and re.search(r"(?<![\d.])\d{1,3}$", text[start:i])):
                pieces.append(text[start:i])
                start = i = match.end()
                continue
        i += 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def parts(answer: str) -> list[Part]:
    """Every comma- or 'and'-separated piece, with the label before its '=' split off."""
    result = []
    for piece in split_top(cleaned(answer)):
        match = _LABEL.match(piece)
        result.append(Part(_label(match.group("label")), match.group("body")) if match else Part("", piece))
    return result


def _label(text: str) -> str:
    """'\\text{critical point } x' -> 'x': words around a label are prose."""
    text = re.sub(r"\\(?:text|mbox|textrm)\{[^{}]*\}|(?<![\\a-zA-Z])[a-zA-Z]{3,}\b|:", " ", text)
    return text.strip()


def is_set_or_tuple(text: str) -> str | None:
    """'set' for \\{...\\}, 'bracketed' for (a, b) or [a, b] (which could be a point, an interval
    or a list), None for a bare value or list."""
    text = cleaned(text)
    if re.fullmatch(r"\\\{.*\\\}", text, re.S):
        return "set"
    if text[:1] in "([" and text[-1:] in ")]" and len(split_top(text[1:-1])) > 1 and _closes_at_end(text):
        return "bracketed"
    return None


def _closes_at_end(text: str) -> bool:
    depth = 0
    for i, c in enumerate(text):
        depth += (c in "([{") - (c in ")]}")
        if depth == 0 and i < len(text) - 1:
            return False
    return True


def values(answer: str, variable: str = "x") -> list[Reading]:
    """`x = 1, 3`, `x=2 \\text{ or } x=3`, `\\{1, 3\\}`, `1 \\pm \\sqrt{2}`, `\\emptyset` -> the values.
    (1, 3) and [1, 3] raise CheckError: a point, an interval and two roots look alike."""
    text = cleaned(answer)
    if _EMPTY.match(text):
        return []
    shape = is_set_or_tuple(text)
    if shape == "bracketed":
        raise CheckError(N_("{source} could be a point, an interval or a list of values"), source=repr(text))
    if shape == "set":
        text = text[2:-2]
    readings = []
    for part in parts(text):
        if part.label and not re.fullmatch(rf"{re.escape(variable)}(?:_\{{?\d+\}}?)?", part.label.strip()):
            raise CheckError(N_("{label} = ...: the answer names something other than {variable}"), label=repr(part.label), variable=variable)
        readings += [read(body) for body in with_plus_minus(part.body)]
    return readings


def with_plus_minus(body: str) -> list[str]:
    """'1 \\pm \\sqrt{2}' -> ['1 + \\sqrt{2}', '1 - \\sqrt{2}']; one \\pm at most."""
    marks = re.findall(r"\\pm(?![a-z])|\\mp(?![a-z])|±|∓|\+-|\+/-", body)
    if not marks:
        return [body]
    if len(marks) > 1:
        raise CheckError(N_("more than one ± in {expression}"), expression=repr(body))
    return [re.sub(r"\\pm(?![a-z])|\\mp(?![a-z])|±|∓|\+-|\+/-", sign, body) for sign in ("+", "-")]
