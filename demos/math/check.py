"""Check a boxed answer with SymPy where a problem's kind allows: a derivative, an integral, an
equation's roots, a simplification, arithmetic. Finding the box is demos/math/extract.py.

Plain logic over strings, no model and no Gradio: the math demo and its tests call it. A check
says what it ran (as SymPy code), so the learner can see why it holds or does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from tokenize import TokenError

import sympy
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    standard_transformations,
)

from demos.math.extract import _braced, boxed_answers, final_answer, missing_answer  # noqa: F401 (the demo's API)

X = sympy.Symbol("x")
_TRANSFORMS = standard_transformations + (implicit_multiplication_application, convert_xor)
_NAMES = {"x": X, "e": sympy.E, "pi": sympy.pi, "ln": sympy.log, "C": sympy.Symbol("C")}


class CheckError(ValueError):
    """Text that cannot be read as mathematics."""


@dataclass(frozen=True)
class Check:
    status: str          # holds | fails | unchecked
    kind: str            # derivative | critical points | integral | roots | simplification | arithmetic | none
    code: str = ""       # the SymPy it ran
    detail: str = ""

    def markdown(self) -> str:
        verdict = {"holds": "✅ SymPy agrees", "fails": "❌ SymPy disagrees",
                   "unchecked": "➖ Not checked"}[self.status]
        body = f"**{verdict}** ({self.kind}). {self.detail}".rstrip()
        return body + (f"\n\n```python\n{self.code}\n```" if self.code else "")


# -- LaTeX to SymPy ---------------------------------------------------------------------------
def _unfrac(text: str) -> str:
    """\\frac{a}{b} -> ((a)/(b)) and \\sqrt{a} -> sqrt(a), innermost groups first."""
    while (match := re.search(r"\\[dt]?frac\s*\{|\\sqrt\s*(\[[^\]]*\])?\s*\{", text)):
        first = _braced(text, match.end() - 1)
        if first is None:
            raise CheckError(f"unbalanced braces in {text!r}")
        inner, after = first
        if "frac" in match.group(0):
            second = _braced(text, after) if after < len(text) and text[after] == "{" else None
            if second is None:
                raise CheckError(f"\\frac needs two groups in {text!r}")
            replacement, end = f"(({inner})/({second[0]}))", second[1]
        else:
            root = match.group(1)
            replacement = f"(({inner})**(1/({root[1:-1]})))" if root else f"sqrt({inner})"
            end = after
        text = text[:match.start()] + replacement + text[end:]
    return text


def to_sympy(latex: str) -> sympy.Expr:
    """Read an answer or expression written in LaTeX or plain text."""
    text = latex.strip().strip("$").strip()
    text = re.sub(r"\\text\{[^}]*\}|\\[,;!: ]|\\left|\\right|\\displaystyle", " ", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,234 -> 1234
    text = _unfrac(text)
    for latex_name, plain in [(r"\cdot", "*"), (r"\times", "*"), (r"\div", "/"), (r"\pi", " pi "),
                              (r"\ln", " ln"), (r"\log", " log"), (r"\sin", " sin"), (r"\cos", " cos"),
                              (r"\tan", " tan"), (r"\exp", " exp"), ("×", "*"), ("÷", "/"), ("−", "-")]:
        text = text.replace(latex_name, plain)
    text = re.sub(r"\|([^|]+)\|", r"Abs(\1)", text).replace("{", "(").replace("}", ")")
    if "\\" in text:
        raise CheckError(f"cannot read {latex!r}")
    try:
        expr = parse_expr(text, local_dict=_NAMES, transformations=_TRANSFORMS)
    except (SyntaxError, TypeError, ValueError, sympy.SympifyError, TokenError) as exc:
        raise CheckError(f"cannot read {latex!r}: {exc}") from None
    if not isinstance(expr, sympy.Basic):
        raise CheckError(f"{latex!r} is several values, not one expression")
    return expr


def _rhs(answer: str) -> str:
    """'f'(x) = 6x + 2' -> '6x + 2'."""
    return answer.split("=")[-1]


def _values(answer: str) -> list[sympy.Expr]:
    """'x = 2 \\text{ or } x = 3', '\\{2, 3\\}', '2, 3' -> [2, 3]."""
    text = re.sub(r"\\text\{\s*(or|and)\s*\}", ",", answer)
    text = re.sub(r"\\[{}]|\\quad|\bor\b|\band\b", ",", text)
    parts = [p for p in re.split(r",|;", text) if p.strip()]
    return [to_sympy(_rhs(p)) for p in parts]


# -- recognising the problem ------------------------------------------------------------------
_STOP = r"(?=\s+(?:with respect to|and|at|for|from)\b|[?;]|,\s|\.\s|\.$|$)"
_EXPR = r"(?:the function\s+)?(?:[a-z]\(x\)\s*=\s*)?\$?(?P<e>[^?;$]+?)\$?"
PATTERNS = [
    ("derivative", re.compile(r"(?:derivative of|differentiate)\s+" + _EXPR + _STOP, re.I)),
    ("integral", re.compile(r"(?:integral of|integrate|antiderivative of)\s+" + _EXPR
                            + r"(?:\s*d\s*x)?" + _STOP, re.I)),
    ("roots", re.compile(r"(?:solve|roots of|zeros of)\s+(?:the equation\s+)?\$?(?P<e>[^?;$]+?=[^?;,$]+?)\$?"
                         r"(?=\s+for\b|[?;]|,\s|\.\s|\.$|$)", re.I)),
    ("simplification", re.compile(r"simplify\s+" + _EXPR + _STOP, re.I)),
    ("arithmetic", re.compile(r"(?:what is|compute|calculate|evaluate)\s+\$?(?P<e>[-\d\s+*/^().×÷,\\cdotimes]+?)\$?"
                              r"\s*(?:\?|\.?$)", re.I)),
]


def check(problem: str, answer: str | None) -> Check:
    """Does `answer` (the boxed text) solve `problem`? holds, fails, or unchecked with why."""
    if answer is None:
        return Check("unchecked", "none", detail="There is no \\boxed{} answer to check.")
    for kind, pattern in PATTERNS:
        match = pattern.search(problem)
        if not match:
            continue
        try:
            return _CHECKS[kind](to_sympy(match.group("e")) if kind != "roots" else match.group("e"),
                                 answer, problem)
        except CheckError as exc:
            return Check("unchecked", kind, detail=f"SymPy could not read it: {exc}")
        except (TypeError, ValueError, NotImplementedError, ZeroDivisionError, RecursionError) as exc:
            return Check("unchecked", kind, detail=f"SymPy could not decide: {exc}")
    return Check("unchecked", "none",
                 detail="SymPy checks derivatives, integrals, equations, simplifications and "
                        "arithmetic; a word problem needs a person to set up the equation first.")


def _same(a: sympy.Expr, b: sympy.Expr) -> bool:
    return sympy.simplify(a - b) == 0


def _derivative(f, answer, problem) -> Check:
    expected = sympy.diff(f, X)
    points = _values(answer) if "critical" in problem.lower() else []
    if points and not any(X in p.free_symbols for p in points):
        holds = all(sympy.simplify(expected.subs(X, p)) == 0 for p in points)
        code = f"fprime = diff({sympy.sstr(f)}, x)   # {sympy.sstr(expected)}\n" + "\n".join(
            f"fprime.subs(x, {sympy.sstr(p)}) == 0   # {sympy.simplify(expected.subs(X, p)) == 0}"
            for p in points)
        return Check("holds" if holds else "fails", "critical points", code,
                     f"f'(x) = {sympy.sstr(expected)} is zero at x = {sympy.sstr(sympy.solve(expected, X))}.")
    given = to_sympy(_rhs(answer))
    holds = _same(expected, given)
    code = (f"expected = diff({sympy.sstr(f)}, x)   # {sympy.sstr(expected)}\n"
            f"simplify(expected - ({sympy.sstr(given)})) == 0   # {holds}")
    return Check("holds" if holds else "fails", "derivative", code,
                 f"The derivative is {sympy.sstr(expected)}.")


def _integral(f, answer, problem) -> Check:
    number = r"\$?(-?[\w/\\{}^]+(?:\.\d+)?)\$?"  # no trailing full stop
    bounds = re.search(rf"from\s+{number}\s+to\s+{number}", problem, re.I)
    if bounds:
        a, b = to_sympy(bounds.group(1)), to_sympy(bounds.group(2))
        expected, given = sympy.integrate(f, (X, a, b)), to_sympy(_rhs(answer))
        holds = _same(expected, given)
        code = (f"expected = integrate({sympy.sstr(f)}, (x, {a}, {b}))   # {sympy.sstr(expected)}\n"
                f"simplify(expected - ({sympy.sstr(given)})) == 0   # {holds}")
        return Check("holds" if holds else "fails", "definite integral", code,
                     f"The integral is {sympy.sstr(expected)}.")
    given = to_sympy(_rhs(answer))
    holds = _same(sympy.diff(given, X), f)  # any antiderivative differs by a constant
    code = (f"antiderivative = {sympy.sstr(given)}\n"
            f"simplify(diff(antiderivative, x) - ({sympy.sstr(f)})) == 0   # {holds}")
    return Check("holds" if holds else "fails", "integral", code,
                 "An antiderivative is right when its derivative gives back the integrand.")


def _roots(equation: str, answer, problem) -> Check:
    left, right = equation.split("=", 1)
    lhs, rhs = to_sympy(left), to_sympy(right)
    expected = sorted(set(sympy.solve(sympy.Eq(lhs, rhs), X)), key=sympy.default_sort_key)
    given = sorted(set(_values(answer)), key=sympy.default_sort_key)
    holds = len(expected) == len(given) and all(_same(a, b) for a, b in zip(expected, given))
    code = (f"expected = solve(Eq({sympy.sstr(lhs)}, {sympy.sstr(rhs)}), x)   # {expected}\n"
            f"sorted(expected) == sorted({given})   # {holds}")
    return Check("holds" if holds else "fails", "roots", code, f"The solutions are {expected}.")


def _simplification(expr, answer, problem) -> Check:
    given = to_sympy(_rhs(answer))
    holds = _same(expr, given)
    code = f"simplify(({sympy.sstr(expr)}) - ({sympy.sstr(given)})) == 0   # {holds}"
    return Check("holds" if holds else "fails", "simplification", code,
                 f"Simplified, it is {sympy.sstr(sympy.simplify(expr))}.")


def _arithmetic(expr, answer, problem) -> Check:
    given = to_sympy(_rhs(answer))
    holds = _same(expr, given)
    code = f"({sympy.sstr(expr)}) - ({sympy.sstr(given)}) == 0   # {holds}"
    return Check("holds" if holds else "fails", "arithmetic", code, f"It is {sympy.sstr(expr)}.")


_CHECKS = {"derivative": _derivative, "integral": _integral, "roots": _roots,
           "simplification": _simplification, "arithmetic": _arithmetic}
