"""A problem's words with its mathematics cut out: 'find the derivative of @0 at @1' and the
pieces ['f(x) = x^2', 'x = 3'], so that demos/math/problem.py can read what is asked from the
words alone.

Owns telling words from mathematics: $...$, \\(...\\) and \\[...\\] in LaTeX problems, runs of
symbols in plain-text ones ("Solve 2x^2 - 8 = 0."), and operators written as words ("5 times
3", "five squared"). No SymPy here.
"""

from __future__ import annotations

import re

_TYPED = (("\u2212", "-"), ("×", r"\times "), ("÷", r"\div "), ("·", r"\cdot "), ("π", r"\pi "),
          ("√", r"\sqrt "), ("²", "^2"), ("³", "^3"), ("∞", r"\infty "), ("±", r"\pm "))


def untyped(text: str) -> str:
    """Symbols a learner types (x², √2, 3×4, π) as LaTeX; √16 is the root of 16."""
    text = re.sub(r"√\s*(\d+(?:\.\d+)?|[a-zA-Z]|\([^()]*\))", r"\\sqrt{\1}", text)
    for typed, tex in _TYPED:
        text = text.replace(typed, tex)
    return text


_DELIMITED = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\[(.+?)\\\]|\\\((.+?)\\\)", re.S)
_OPERATOR_WORDS = [(r"multiplied by|times", "*"), (r"plus", "+"), (r"minus", "-"),
                   (r"divided by|over", "/"), (r"to the power of|raised to the power of", "^")]
_FUNCTION_WORDS = {"sin", "cos", "tan", "sec", "csc", "cot", "ln", "log", "exp", "sqrt"}
_SHORT_WORDS = {"of", "to", "is", "in", "at", "by", "if", "or", "an", "as", "be", "it", "on", "we",
                "so", "no", "do", "up", "us", "my", "he", "me", "go", "and", "the"}


_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())} | {
    w: str(10 * i) for i, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), start=3)}


def _numbers_from_words(text: str) -> str:
    """'five times three' -> '5 times 3', 'twenty-one squared' -> '21 squared': number words next
    to an operator word only ("(Two points.)" and "one of the roots" stay words)."""
    words = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    number = rf"\b(?P<n>(?P<tens>{words})(?:-(?P<ones>{words}))?)\b"
    operator = r"(?:times|plus|minus|divided by|multiplied by|over|squared|cubed|to the power of)\b"

    def digits(match: re.Match) -> str:
        value = int(_NUMBER_WORDS[match.group("tens").lower()]) + int(_NUMBER_WORDS.get(
            (match.group("ones") or "").lower(), 0))
        return match.group(0).replace(match.group("n"), str(value))
    text = re.sub(rf"{number}(?=\s+{operator})", digits, text, flags=re.I)
    return re.sub(rf"(?<=\s)(?:times|plus|minus|by|over|power of)\s+{number}", digits, text, flags=re.I)


def _operators_from_words(text: str) -> str:
    """'5 times 3' -> '5 * 3', '7 squared' -> '7^2', only between numbers, symbols or $...$."""
    text = _numbers_from_words(text)
    left, right = r"(?<=[\w)$}])", r"(?=\s+(?:[-\d(\\$]|[a-zA-Z]\b))"
    for words, symbol in _OPERATOR_WORDS:
        text = re.sub(rf"{left}\s+(?:{words}){right}", f" {symbol}", text)
    text = re.sub(r"(?<=[\d)$}%])\s+of(?=\s+[-\d($\\])", " *", text)  # "$\frac{2}{3}$ of $5$", not "root of x"
    text = re.sub(r"(?<=[\w)$}])\s+squared\b", "^2", text)
    return re.sub(r"(?<=[\w)$}])\s+cubed\b", "^3", text)


def _is_math(token: str, previous_math: bool) -> bool:
    core = token.strip(".,?!:;")
    if not core:
        return False
    if core.lower() in _FUNCTION_WORDS or core.startswith("\\"):  # sin, \times
        return True
    if re.fullmatch(r"d[a-z]", core) and previous_math:  # x^2 dx
        return True
    if len(core) == 1 and core.isalpha():
        return core not in "aAI" or token != core  # "solve for a." but not "a number"
    runs = re.findall(r"[a-zA-Z]{2,}", core)
    if any(len(r) > 2 and r.lower() not in _FUNCTION_WORDS or r.lower() in _SHORT_WORDS for r in runs):
        return False
    return bool(re.search(r"[\d^*/+=()|<>\\'-]", core))


def _delimit_prose(prose: str) -> list[tuple[bool, str]]:
    """Plain-text problems have no $: each run of mathematical tokens is one piece."""
    pieces: list[tuple[bool, str]] = []
    for token in prose.split():
        core = token.rstrip(".,?!:;") if not re.fullmatch(r"[.,?!:;]+", token) else ""
        math = _is_math(token, bool(pieces) and pieces[-1][0])
        if math and core:
            if pieces and pieces[-1][0]:
                pieces[-1] = (True, pieces[-1][1] + " " + core)
            else:
                pieces.append((True, core))
            if token != core:
                pieces.append((False, token[len(core):]))
        else:
            pieces.append((False, token))
    return pieces


def skeleton(problem: str) -> tuple[str, list[str]]:
    """('find the derivative of @0 and its critical points.', ['f(x) = 3x^2 + 2x - 5'])."""
    text = _operators_from_words(" ".join(untyped(problem).split()))
    pieces: list[tuple[bool, str]] = []
    position = 0
    for match in _DELIMITED.finditer(text):
        pieces += _delimit_prose(text[position:match.start()])
        math = next(g for g in match.groups() if g is not None).strip()
        pieces.append((True, math.lstrip(" :").rstrip(" ,.;:?")))  # "$x = 2,$", "$56.78-43.6?$"; 5! stays
        position = match.end()
    pieces += _delimit_prose(text[position:])
    maths: list[str] = []
    words: list[str] = []
    for is_math, piece in _merged(pieces):
        if is_math:
            maths.append(piece)
            words.append(f"@{len(maths) - 1}")
        else:
            words.append(piece.lower())
    prose = " ".join(words)
    prose = re.sub(r"\s+([.,?!:;])", r"\1", prose)
    return prose.strip(), maths


def _merged(pieces: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    """'$5$ * $3$' is one expression: join pieces an operator stands between."""
    out: list[tuple[bool, str]] = []
    for is_math, piece in pieces:
        if is_math and out and out[-1][0] and (re.search(r"[-+*/^=]$", out[-1][1].strip())
                                               or re.match(r"[-+*/^=]", piece.strip())):
            out[-1] = (True, out[-1][1] + " " + piece)
        else:
            out.append((is_math, piece))
    return out
