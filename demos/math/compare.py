"""Are two SymPy values the same? True, False only when sure, or None: SymPy cannot tell.

Owns the comparison (check.py decides what to compare). Evaluation at sample points does most
of the work: it is fast, and it can be sure of a difference where simplify() would only fail
to find zero. Each answer carries the code that decided it, to show the learner.
"""

from __future__ import annotations

import sympy

from qwenlab.demos.math.latex import Reading

# Sample points with no special values. Two expressions that agree at all of them are the same
# function. They surely differ if they differ at a positive point where both are real; where
# they differ only at negative points, roots and logarithms of negative numbers may be the cause
# (the problem may mean positive variables), so that is not sure.
POSITIVE = tuple(sympy.Rational(p) for p in ("0.37", "1.23", "2.71", "4.1", "6.3", "0.83", "1.7", "3.3"))
NEGATIVE = tuple(sympy.Rational(p) for p in ("-0.58", "-1.9", "-3.4", "-0.21"))
SURE, SAME = 1e-9, 1e-20  # relative differences: over SURE is a difference, under SAME is equal


def number(expr: sympy.Expr) -> complex | None:
    try:
        value = complex(sympy.N(expr, 40))
    except (TypeError, ValueError, AttributeError, ZeroDivisionError, OverflowError):
        return None
    return value if value == value and abs(value) != float("inf") else None


def points(symbols: list[sympy.Symbol]) -> list[tuple[bool, dict]]:
    """(all positive?, {symbol: value}) for each sample point; one empty point for a number."""
    if not symbols:
        return [(True, {})]
    positive = [(True, {s: POSITIVE[(k + 3 * j) % len(POSITIVE)] for j, s in enumerate(symbols)})
                for k in range(len(POSITIVE))]
    mixed = [(False, {s: (NEGATIVE + POSITIVE)[(k + 5 * j) % 12] for j, s in enumerate(symbols)})
             for k in range(len(NEGATIVE))]
    return positive + mixed


def equal(a: sympy.Expr, b: sympy.Expr) -> tuple[bool | None, str]:
    """True: equal; False: surely different; None: cannot tell. And the code that decided it.
    Equal at every positive point and different at some negative one (sqrt(n^3) and n*sqrt(n))
    is equal for positive letters, as radicals in algebra problems are meant."""
    if a == b:
        return True, "expected == given   # True"
    if (a - b).is_Rational:  # exact numbers: 10**15 and 10**15 + 1 differ, whatever the precision
        return False, f"expected - given == 0   # False: {sympy.sstr(a - b)}"
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    complex_meant = a.has(sympy.I) or b.has(sympy.I)  # else an imaginary part is a branch artefact
    agree, unsure, negative_only = 0, False, False
    for positive, point in points(symbols):
        left, right = number(a.subs(point)), number(b.subs(point))
        if left is None or right is None:
            continue
        gap = abs(left - right) / (1 + abs(left))
        real = abs(left.imag) <= SAME * (1 + abs(left)) and abs(right.imag) <= SAME * (1 + abs(right))
        if gap <= SAME:
            agree += positive
        elif positive and gap > SURE and (real or complex_meant):
            where = ", ".join(f"{s} = {v}" for s, v in point.items())
            return False, (f"N(expected - given{', ' + where if where else ''}) == 0   # False: "
                           f"{sympy.sstr(sympy.N(left - right, 6))}")
        elif positive:
            unsure = True
        else:
            negative_only = True
    enough = agree >= (3 if symbols else 1) and not unsure
    if enough and not negative_only:  # simplify() can take seconds on radicals
        return True, f"N(expected - given) == 0 at {agree} points   # True"
    if sympy.count_ops(a - b) < 200 and sympy.simplify(a - b) == 0:
        return True, "simplify(expected - given) == 0   # True"
    if enough:
        return True, f"N(expected - given) == 0 at {agree} positive points (not at some negative ones)   # True"
    return None, "simplify(expected - given) == 0   # not decided"


def rounded(expected: sympy.Expr, given: Reading, places: int | None) -> tuple[bool | None, str] | None:
    """A decimal answer against an exact value: right when it rounds correctly. None when the
    answer has no decimals and no rounding was asked for."""
    digits = places if places is not None else given.places
    right = number(given.expr)
    if digits is None or right is None:
        return None
    # an expression that is a constant in disguise ((sin^4 + cos^4 - 1)/(...) is 2/3): at each point
    symbols = sorted(expected.free_symbols, key=str)
    lefts = [number(expected.subs(point)) for positive, point in points(symbols) if positive]
    if not lefts or None in lefts:
        return None
    close = all(abs(left - right) <= 0.5 * 10 ** -digits * (1 + 1e-9) for left in lefts)
    return close, f"round(N(expected), {digits}) == {sympy.sstr(given.expr)}   # {close}"


def compare(expected: sympy.Expr, given: Reading, places: int | None = None) -> tuple[bool | None, str]:
    """_equal, except that a decimal answer (0.577 for sqrt(3)/3) is right when rounded right."""
    return rounded(expected, given, places) or equal(expected, given.expr)
