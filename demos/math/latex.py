"""Read an answer or an expression, written in LaTeX or plain text, as SymPy.

Owns the reading only, as text (units, thousands separators, degrees, %) and then as structure
(demos/math/structure.py); what a problem asks is demos/math/problem.py, whether an answer holds
demos/math/check.py. A misreading must never turn a right answer into a wrong one, so anything
this reader is not sure of either raises CheckError (the answer goes unchecked) or, where one
reading is far likelier than the others, is read that way and noted (see `Reading.notes`): a
check that fails under a noted reading is reported as not checked, with the note as the reason,
unless it fails read the other way too (`reread`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from tokenize import TokenError

import sympy
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    rationalize,
    standard_transformations,
)

from qwenlab.demos.math.skeleton import untyped
from qwenlab.demos.math.structure import FUNCTIONS, GREEK, LOG_BASE, CheckError, converted
from qwenlab.errors import N_

__all__ = ["CheckError", "DEGREES", "LOG_BASE", "Reading", "read", "reread", "to_sympy"]


def _evaluated(function):
    """gcd, lcm and roots are Python functions, not SymPy ones: they act at once, on the unevaluated
    arguments parse_expr(evaluate=False) gives them (gcd(6**2*10**2, 15**4) came out 1)."""
    return lambda *args: function(*(sympy.sympify(a).doit() for a in args))


def _real_root(radicand: sympy.Expr, n: sympy.Expr) -> sympy.Expr:
    """The cube root of -8 is -2; of x, SymPy's x**(1/3) (the same for positive x, where checks
    decide, and far faster to compare than a Piecewise)."""
    return sympy.real_root(radicand, n) if radicand.is_number else sympy.root(radicand, n)


# rationalize: 0.1 is 1/10 exactly, so a decimal answer compares exactly
_TRANSFORMS = standard_transformations + (implicit_multiplication_application, convert_xor, rationalize)
# Every letter is a plain symbol (so that S, N, Q, O are not SymPy's objects of those names);
# e and i are Euler's number and the imaginary unit, as in the answers of MATH and college-math.
_NAMES = {**{c: sympy.Symbol(c) for c in "abcdfghjklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"},
          **{g: sympy.Symbol(g) for g in GREEK}, "e": sympy.E, "i": sympy.I, "pi": sympy.pi,
          "oo": sympy.oo, "ln": sympy.log, "log": sympy.log, "exp": sympy.exp, "sqrt": sympy.sqrt,
          "Abs": sympy.Abs, "floor": sympy.floor, "ceiling": sympy.ceiling, "binomial": sympy.binomial,
          **{name: _evaluated(f) for name, f in (("gcd", sympy.gcd), ("lcm", sympy.lcm), ("root", sympy.root),
                                                  ("realroot", _real_root))}}
DEGREES = "a degree sign (read as π/180)"  # sure in a problem's expression, a guess in an answer
# Guesses that have one other reading, as a rewrite of the text: a check that fails under both
# readings is sure after all (\log x as ln x and as log10 x; 2\frac{1}{2} as 5/2 and as 2 * 1/2).
REREADINGS = {LOG_BASE: (r"\\log(?![_a-zA-Z])", r"\\log_{10}"),
              "read as a mixed number": (r"(\d)\s*\\([dt]?frac)", r"\1\\cdot\\\2"),
              "TeX takes only the first digit": (r"\\(sqrt|frac)\s*(\d)(\d+)", lambda m: (  # \sqrt{16}
                  rf"\sqrt{{{m[2]}{m[3]}}}" if m[1] == "sqrt" else rf"\frac{{{m[2]}}}{{{m[3]}}}")),
              "read as ^{": (r"\^(\d)(?=\d)", r"^{\1}")}


def reread(text: str, notes: list[str]) -> str | None:
    """`text` read the other way for every guess in `notes`; None if one of them has no other way."""
    for note in dict.fromkeys(notes):
        key = next((k for k in REREADINGS if k in note), None)
        if key is None:
            return None
        pattern, replacement = REREADINGS[key]
        text = re.sub(pattern, replacement, text)
    return text
MAX_EXPONENT = 10_000  # 2^(10^10) would hang the app: refuse rather than compute


@dataclass
class Reading:
    """An expression and how sure the reading is: each note names a guess it made."""

    expr: sympy.Expr
    notes: list[str] = field(default_factory=list)
    places: int | None = None  # decimal places of the most precise decimal written, if any


def to_sympy(latex: str) -> sympy.Expr:
    """Read an answer or expression written in LaTeX or plain text."""
    return read(latex).expr


def read(latex: str, functions: dict | None = None) -> Reading:
    """The expression and the guesses made reading it; CheckError where it cannot be read.
    `functions`: letters that name functions (f -> Lambda(x, x**2)), so that f(g(2)) works out."""
    notes: list[str] = []
    prepared = _prepared(latex, notes)
    text = converted(prepared, notes)
    decimals = [len(d) for d in re.findall(r"\d\.(\d+)", text)]
    if re.search(r"/\s*(?:\d+(?:\.\d+)?(?![\d.])|[a-zA-Z](?![a-zA-Z]))\s*(?=[a-zA-Z(\d])", text):
        notes.append("a/bc: where the denominator ends")
    try:
        expr = parse_expr(text, local_dict={**_NAMES, **(functions or {})}, transformations=_TRANSFORMS,
                          evaluate=False)
    except (SyntaxError, TypeError, ValueError, AttributeError, sympy.SympifyError, TokenError) as exc:
        raise CheckError(N_("cannot read {expression}: {error}"), expression=repr(latex), error=type(exc).__name__) from None
    if isinstance(expr, tuple):
        raise CheckError(N_("{expression} is several values, not one expression"), expression=repr(latex))
    if not isinstance(expr, sympy.Expr):
        raise CheckError(N_("{expression} is not one expression"), expression=repr(latex))
    _refuse_huge(expr, latex)
    # 3e is Euler's number; among other letters (a + b + e) e may be a variable too
    if re.search(r"(?<![a-zA-Z\\])e(?![a-zA-Z^])", prepared) and expr.free_symbols:
        notes.append("e read as Euler's number")
    try:
        return Reading(expr.doit(), notes, max(decimals) if decimals else None)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        raise CheckError(N_("cannot evaluate {expression}: {error}"), expression=repr(latex), error=str(exc)) from None


def _refuse_huge(expr: sympy.Expr, latex: str) -> None:
    """2^(10^10) or (10^6)! would hold the app for minutes: refuse them before evaluating."""
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Pow) and node.exp.is_number and node.base.is_number \
                and node.base not in (0, 1, -1) and abs(sympy.N(node.exp, 5)) > MAX_EXPONENT:
            raise CheckError(N_("{expression} is too large to work out"), expression=repr(latex))
        if isinstance(node, sympy.factorial) and node.args[0].is_Integer and node.args[0] > 2000:
            raise CheckError(N_("{expression} is too large to work out"), expression=repr(latex))


# -- text-level clean-up, before the structure is read ----------------------------------------
def _prepared(latex: str, notes: list[str]) -> str:
    """Spacing, \\left/\\right, units, thousands separators, degrees and % dealt with as text."""
    text = untyped(latex).replace("$", " ")
    text = re.sub(r"\\left\s*\.|\\right\s*\.", " ", text)  # \left. f \right|_{...} has no bar
    text = re.sub(r"\\(?:left|right|displaystyle|textstyle|limits|[bB]igg?[lr]?)(?![a-zA-Z])", " ", text)
    text = text.replace("\\!", "")  # a negative thin space: 1,\!000 is 1,000
    text = re.sub(r"\\[dt](frac|binom)", r"\\\1", text)
    text = re.sub(r"\\(?:lvert|rvert|vert|mid)(?![a-zA-Z])", "|", text)
    for bracket, mark in ((r"\lfloor", "⌊"), (r"\rfloor", "⌋"), (r"\lceil", "⌈"), (r"\rceil", "⌉")):
        text = text.replace(bracket, mark)  # one character each, so that the reader can pair them
    text = _units_removed(text, notes)
    text = _thousands_joined(text, notes)
    text = re.sub(r"\\[,;:> ]|\\q?quad(?![a-zA-Z])|~", " ", text)
    if re.search(r"\^\s*\{?\s*\\circ\s*\}?|°", text):
        notes.append(DEGREES)
        text = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°", r"*(pi/180)", text)
    if re.search(r"\\?%", text):
        notes.append("a percent sign (read as /100)")
        text = re.sub(r"\\?%", "*(1/100)", text)
    text = text.replace(r"\$", " ").strip().rstrip(".").strip()
    if not text:
        raise CheckError(N_("{expression} holds no mathematics"), expression=repr(latex))
    return text


def _units_removed(text: str, notes: list[str]) -> str:
    """\\text{ cm}^2, \\mbox{dollars}: words in text are units or prose and go, at the start or
    the end only ('6x + 2 \\text{ for all } x' is not 6x + 2x); one letter is a variable;
    \\mathbf{391} is 391. \\mathrm{ab} or \\operatorname{arccot} must be read, never dropped: an
    unknown name is refused."""
    text = re.sub(r"\\(?:mathbf|textbf|boldsymbol|bm|mathit)\s*\{([^{}]*[\d+\-*/^=][^{}]*)\}", r"{\1}", text)

    def replace(match: re.Match) -> str:
        command, inner, power = match.group(1), match.group(2).strip(), match.group(3) or ""
        if re.fullmatch(r"[a-zA-Z]", inner):
            return f" {inner}{power}"
        if inner in FUNCTIONS:
            return f"\\{inner}{power} "
        if command.startswith(("text", "mbox")) and re.fullmatch(r"[a-zA-Z .,']*", inner):
            before, after = text[:match.start()].strip(), text[match.end():].strip(" .,;")
            if before and after and inner.strip(" .,"):
                raise CheckError(N_("words in the middle of the answer: {inner}"), inner=repr(inner))
            return " "
        raise CheckError(N_("\\{command}{{{inner}}} is not something this checker reads"), command=command, inner=inner)
    text = re.sub(r"\\(textbf|textit|textrm|text|mbox|mathrm|mathit|mathbf|operatorname|rm)\s*\{([^{}]*)\}"
                  r"(\s*\^\s*(?:\{\s*\d\s*\}|\d))?", replace, text)
    if text.strip() == "":
        raise CheckError(N_("the answer is words, not mathematics"))
    return text


def _thousands_joined(text: str, notes: list[str]) -> str:
    r"""1\,234, 1{,}234 and 1\ 234 are one number in LaTeX; so is a bare 1,234 when nothing
    else in the text is a list; two numbers with only a space between are never a product."""
    text = re.sub(r"(?<=\d)(?:\\,|\{,\}|\\ |\\;|~)(?=\d{3}(?!\d))", "", text)
    bare = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")
    if bare.search(text):
        rest = bare.sub("", text)
        if "," in rest or re.search(r"[(\[{]", rest):
            notes.append("1,234 read as a number, not a list")
        text = bare.sub(lambda m: m.group(0).replace(",", ""), text)
    if re.search(r"(?<![\d.])[1-9]\d{0,2}(?:\.\d{3})+(?![\d.])", text):
        notes.append("1.234 read as a decimal (a thousands point in some countries)")
    spaced = re.search(r"(?<![\d.^_])(\d+)\s+(?=\d)", text)
    if spaced:
        if not re.fullmatch(r"\d{1,3}(?: \d{3})+", re.search(r"\d+(?: \d+)*", text[spaced.start():]).group(0)):
            raise CheckError(N_("two numbers with only a space between them in {source}"), source=repr(text))
        text = re.sub(r"(?<=\d) (?=\d{3}(?!\d))", "", text)
    return text


