"""What a problem asks, read closely enough to check an answer with SymPy, or why it cannot be.

Owns the words of a problem. Cutting its mathematics out is demos/math/skeleton.py, reading
that mathematics demos/math/latex.py, the check demos/math/check.py. The rule that keeps a
right answer from being called wrong: a problem is checked only when the whole of it is
understood. With its mathematics replaced by @0, @1, ..., the words left over must match one
of the shapes below from start to end, apart from sentences about the answer's format.
Anything more (a condition, a diagram, a named root) and the problem is a Skip, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from qwenlab.demos.math.skeleton import skeleton
from qwenlab.errors import N_, Message

_ASK = r"(?:find|compute|calculate|evaluate|determine|what is|what's|how much is|give|state)"
_END = r"[.?!]?$"
# How the answer should look: harmless to a check of its value
_FORM = (r"(?:,? (?:in simplest (?:radical )?form|in lowest terms|as a (?:common |mixed |improper )?"
         r"(?:fraction|number)|as a decimal|in terms of @\d+|exactly|in your head))?")
# Words that make a "fails" unsure: the expected answer is not the exact value SymPy computes.
# (Rounding "to the nearest tenth" is understood, and checked as rounding.)
_CAVEATS = {r"nearest|round": "the answer is rounded", r"approximat|estimate": "the answer is approximate",
            r"significant": "significant figures", r"percent|%": "a percentage",
            r"\bdegrees\b|degree measure": "an angle in degrees"}


@dataclass(frozen=True)
class Task:
    """A problem SymPy can check: what to compute, and how sure a 'fails' can be."""

    kind: str                  # derivative | integral | roots | simplification | arithmetic | evaluation
    expr: str                  # the function, expression or equation, as written
    var: str | None = None     # the variable; None: the only one in `expr`
    point: str | None = None   # a derivative at a point; the argument of f(a)
    bounds: tuple[str, str] | None = None
    critical: bool = False     # critical points asked (with or without the derivative)
    all_roots: bool = False    # every root must be in the answer (solve, roots of)
    parametric: bool = False   # "solve for a": other letters are parameters, the answer may use them
    places: int | None = None  # the answer is rounded to this many decimal places
    caveats: tuple[str, ...] = ()
    functions: tuple[tuple[str, str, str], ...] = ()  # (name, variable, body) defined, for f(g(2))


@dataclass(frozen=True)
class Skip:
    """A problem SymPy does not check, and why (shown to the learner)."""

    kind: str
    reason: str


# the reasons a learner reads (qwenlab.errors.Message: translated as templates)
NOT_SURE = Message(N_("SymPy checks a problem only when it can read all of it; this one says "
                      "more than that (a condition, a second question, a form of answer), so it "
                      "is not sure what is asked."))
WORD_PROBLEM = Message(N_("SymPy checks derivatives, integrals, equations, simplifications and "
                          "arithmetic; a word problem needs a person to set up the equation "
                          "first."))
NAMED_ROOTS = Message(N_("The problem names the roots and asks for something built from them; "
                         "SymPy checks roots only when the roots themselves are asked for."))


# -- what is asked -----------------------------------------------------------------------------
_FORMAT = re.compile(r"\((?:[^()@]*)\)|(?:express|write|give|enter|leave|present|put|simplify|your answer|"
                     r"answer)\b.*(?:answer|result|fraction|form|decimal|solutions?|notation|terms of|commas|"
                     r"number|radical|exponents?|integer|nearest [a-z ]+)")
_ROUNDING = re.compile(r"(?:rounded |round(?:ed)? (?:your answer )?)?to the nearest (whole number|integer|"
                       r"tenth|hundredth|thousandth)")
_PLACES = {"whole number": 0, "integer": 0, "tenth": 1, "hundredth": 2, "thousandth": 3}
_NAMED_ROOTS = re.compile(r"@\d+(?:,? and @\d+)? (?:are|be|is|denote) (?:the |two |its |both |distinct |real |"
                          r"complex |nonzero |positive |negative )*(?:roots|solutions|zeros|zeroes)|"
                          r"(?:roots|solutions|zeros|zeroes) (?:of @\d+ )?(?:are|be) @\d+")
_FUNCTION = re.compile(r"^\s*(?P<name>[a-zA-Z])\s*\(\s*(?P<var>[a-zA-Z])\s*\)\s*=(?P<body>[^=]+)$")
_PRIME = re.compile(r"^\s*(?P<name>[a-zA-Z])\s*(?:'|\^\s*\{?\s*\\prime\s*\}?)\s*"  # f'(2), f^{\prime}(x)
                    r"(?:\(\s*(?P<at>[^()]+?)\s*\))?\s*$")
_LEIBNIZ = re.compile(r"^\s*\\[dt]?frac\s*\{\s*d\s*(?P<name>[a-zA-Z]?)\s*\}\s*\{\s*d\s*(?P<var>[a-zA-Z])\s*\}"
                      r"(?P<rest>.*)$", re.S)  # dy/dx, or d/dx followed by what it applies to


def read_problem(problem: str) -> Task | Skip:
    """The Task a problem sets, or a Skip saying why SymPy leaves it alone."""
    prose, maths = skeleton(problem)
    if _NAMED_ROOTS.search(prose):
        return Skip("roots", NAMED_ROOTS)
    lowered = problem.lower()
    rounding = _ROUNDING.search(prose)
    caveats = tuple(why for pattern, why in _CAVEATS.items()
                    if re.search(pattern, lowered) and not (rounding and why == "the answer is rounded"))
    prose = _ROUNDING.sub("", _without_format(prose, maths))
    prose = re.sub(r"\s+([.,?!:;])", r"\1", re.sub(r"\s{2,}", " ", prose)).strip()
    places = _PLACES[rounding.group(1)] if rounding else None
    for reader in (_derivative, _integral, _roots, _given, _simplification, _arithmetic):
        found = reader(prose, maths)
        if isinstance(found, Task):
            return replace(found, caveats=caveats, places=places)
        if found is not None:
            return found
    if asked := re.search(rf"(?:^|\W)(?:{_ASK}) (?:the value of )?@(\d+){_END}", prose):
        if re.fullmatch(r"[a-zA-Z]", maths[int(asked.group(1))].strip()):
            return _asks_for_a_letter(maths[int(asked.group(1))])
    if re.search(r"derivative|differentiate|integra|antiderivative|solv|solution|roots?\b|zeros?\b|simplify|"
                 r"critical", prose):
        return Skip("none", NOT_SURE)
    return Skip("none", WORD_PROBLEM)


def _without_format(prose: str, maths: list[str]) -> str:
    """Drop sentences about the answer's form ("Express your answer as a common fraction.",
    "(Two points.)"), unless they hold mathematics other than pi or a letter: then they are
    part of the question ("Express $0.\\overline{5}$ as a common fraction.")."""
    kept = []
    for sentence in re.split(r"(?<=[.?!])\s+", prose):
        pieces = [maths[int(i)].strip() for i in re.findall(r"@(\d+)", sentence)]
        harmless = all(re.fullmatch(r"\\pi|[a-zA-Z]", p) for p in pieces)
        if not (_FORMAT.match(sentence) and harmless):
            kept.append(sentence)
    return " ".join(kept)


def _asks_for_a_letter(letter: str) -> Skip:
    return Skip("none", Message(N_("The problem asks for {letter}, whose value comes from the "
                                   "rest of the problem; SymPy checks only what it can read off "
                                   "the problem directly."), letter=letter.strip()))


def _math(maths: list[str], match: re.Match, name: str) -> str | None:
    index = match.groupdict().get(name)
    return maths[int(index)] if index is not None else None


def _variable(maths: list[str], match: re.Match) -> str | None:
    """'with respect to t', 'for $a$': the letter, or None where none is named."""
    for name in ("v", "v2"):
        value = _math(maths, match, name)
        if value is not None:
            return value.strip() if re.fullmatch(r"\s*[a-zA-Z]\s*", value) else "?"
    return match.groupdict().get("vw")


_RESPECT = r"(?: with respect to (?:@(?P<v>\d+)|(?P<vw>[a-z])))?"


def _derivative(prose: str, maths: list[str]) -> Task | None:
    at = r"(?: at (?:the point )?@(?P<p>\d+))?"
    shapes = [
        rf"(?:{_ASK} )?(?:the )?(?:first )?derivative of (?:the function:? |the expression:? )?@(?P<f>\d+)"
        rf"{_RESPECT}{at}(?:,? and (?:its|the) (?P<c>critical (?:points?|numbers?)))?",
        rf"differentiate:? (?:the function:? )?@(?P<f>\d+){_RESPECT}{at}",
        rf"(?:{_ASK} )?(?:all )?(?:the )?(?P<c>critical (?:points|numbers|values)) of "
        r"(?:the function:? )?@(?P<f>\d+)",
    ]
    for shape in shapes:
        if match := re.fullmatch(shape + _END, prose):
            expr, var = _function(maths[int(match.group("f"))])
            point = _math(maths, match, "p")
            return Task("derivative", expr, _variable(maths, match) or var, point=_point(point) if point else None,
                        critical=bool(match.groupdict().get("c")))
    if match := re.fullmatch(rf"(?:{_ASK}):? @(?P<q>\d+){_END}", prose):
        leibniz = _LEIBNIZ.match(maths[int(match.group("q"))])
        if leibniz and not leibniz.group("name") and leibniz.group("rest").strip():
            return Task("derivative", leibniz.group("rest"), leibniz.group("var"))
    return None


def _function(piece: str) -> tuple[str, str | None]:
    """'f(x) = x^2' -> ('x^2', 'x'); 'y = x^2' -> ('x^2', None); 'x^2' -> ('x^2', None)."""
    if match := _FUNCTION.match(piece):
        return match.group("body"), match.group("var")
    if match := re.match(r"^\s*[a-zA-Z]\s*=([^=]+)$", piece):
        return match.group(1), None
    return piece, None


def _point(piece: str) -> str:
    """'x = 2' or '2' -> '2'."""
    return piece.split("=")[-1].strip()


_BOUND = r"(?:\{[^{}]*\}|\\[a-zA-Z]+|\w)"
_INT = re.compile(rf"^\s*\\int(?:\\limits)?\s*(?:_(?P<a>{_BOUND})\s*\^(?P<b>{_BOUND})"
                  rf"|\^(?P<b2>{_BOUND})\s*_(?P<a2>{_BOUND}))?"
                  r"(?P<body>.*?)(?:\\[,;!]|\s)*(?:\\mathrm\{d\}|d)\s*(?P<var>[a-zA-Z])\s*$", re.S)


def _integral(prose: str, maths: list[str]) -> Task | None:
    bounds = r"(?: from @(?P<a>\d+) to @(?P<b>\d+))?"
    shapes = [
        rf"(?:{_ASK} )?(?:the )?(?:indefinite |definite )?(?:integral|antiderivative) of (?:the function:? )?"
        rf"@(?P<f>\d+)(?: d(?P<dv>[a-z]))?{bounds}{_RESPECT}",
        rf"integrate:? (?:the function:? )?@(?P<f>\d+)(?: d(?P<dv>[a-z]))?{bounds}{_RESPECT}",
        rf"(?:{_ASK}|integrate)(?: the (?:indefinite |definite )?integral| the antiderivative)?:? @(?P<f>\d+)",
    ]
    for shape in shapes:
        if not (match := re.fullmatch(shape + _END, prose)):
            continue
        piece = maths[int(match.group("f"))]
        if notation := _INT.match(piece):
            low, high = notation.group("a") or notation.group("a2"), notation.group("b") or notation.group("b2")
            return Task("integral", notation.group("body"), notation.group("var"),
                        bounds=(_unbrace(low), _unbrace(high)) if low else None)
        if "\\int" in piece or shape is shapes[2]:  # "compute @0" is an integral only with \int
            return None
        trailing = re.search(r"(?:\\[,;!]|\s)+d\s*([a-z])\s*$", piece)
        expr, var = _function(piece[:trailing.start()] if trailing else piece)
        named = (trailing.group(1) if trailing else None) or match.groupdict().get("dv")
        var = named or _variable(maths, match) or var
        low, high = _math(maths, match, "a"), _math(maths, match, "b")
        return Task("integral", expr, var, bounds=(low, high) if low else None)
    return None


def _unbrace(text: str) -> str:
    return text[1:-1] if text.startswith("{") else text


def _equation(piece: str | None) -> str | None:
    """The piece if it is one equation (one '=', no inequality)."""
    if piece is None or piece.count("=") != 1 or re.search(r"\\(?:[lg]eq?|neq?|approx)(?![a-z])|[<>]", piece):
        return None
    return piece


def _roots(prose: str, maths: list[str]) -> Task | None:
    shapes = [  # (shape, must every root be given)
        (r"solve(?: the (?:following )?equations?| the following| the equation (?:analytically|exactly))?"
         r"(?: for @(?P<v>\d+))?:? @(?P<e>\d+)(?: for @(?P<v2>\d+))?", True),
        (rf"(?:{_ASK}|what are) (?:all )?(?:of )?(?:the )?(?:real |complex )?(?:roots|solutions|zeros|zeroes) "
         r"(?:of|to) (?:the equation |the polynomial |the function )?@(?P<e>\d+)", True),
        (r"for what (?:value|(?P<all>values)) of @(?P<v>\d+) (?:is|does|do|will)(?: the (?:following )?equation)?"
         r"(?: true)?:? @(?P<e>\d+)(?: (?:true|hold|holds))?", False),
        (rf"(?:{_ASK}) (?:the value of |(?P<all>all (?:real )?values of |all ))?@(?P<v>\d+) "
         r"(?:if|when|such that|so that|for which|that satisfies|satisfying) @(?P<e>\d+)", False),
    ]
    for shape, every in shapes:
        if not (match := re.fullmatch(shape + _END, prose)):
            continue
        piece = maths[int(match.group("e"))]
        if "=" not in piece and "roots" in shape:
            piece += " = 0"
        equation, var = _equation(piece), _variable(maths, match)
        if equation is None or var == "?":
            return None
        return Task("roots", equation, var, all_roots=every or bool(match.groupdict().get("all")),
                    parametric=bool(var) and shape.startswith("solve"))
    return None


_DEFINITIONS = r"(?P<d>@\d+(?:(?:,| and|, and) @\d+)*)"


def _given(prose: str, maths: list[str]) -> Task | None:
    """'Let f(x) = ...; find f'(2)' / 'find f(3) if f(x) = ...' / 'if 2^8 = 4^x, what is x?' /
    'Let f(x) = ... and g(x) = ... . What is f(g(2))?'."""
    shapes = [
        rf"(?:let|if|given|suppose|for|consider|define)(?: that)? {_DEFINITIONS}[,.;]? (?:then )?(?:{_ASK}) "
        rf"(?:the value of )?@(?P<q>\d+)",
        rf"(?:{_ASK}) (?:the value of )?@(?P<q>\d+),? (?:if|for|where|when|given(?: that)?) {_DEFINITIONS}",
        rf"(?:let|if|given|suppose|consider)(?: that)? @(?P<d>\d+)[,.;]? (?:then )?(?:{_ASK}) (?:the |its )?"
        rf"(?:first )?derivative(?: of @\d+| of f)?(?P<c>,? and (?:its|the) critical points)?",
    ]
    for shape in shapes:
        if match := re.fullmatch(shape + _END, prose):
            definitions = [maths[int(i)] for i in re.findall(r"@(\d+)", match.group("d"))]
            asked, critical = _math(maths, match, "q"), bool(match.groupdict().get("c"))
            if len(definitions) == 1 and (task := _defined(definitions[0], asked, critical)):
                return task
            return _evaluated(definitions, asked)
    return None


def _evaluated(definitions: list[str], asked: str | None) -> Task | None:
    """f(3), f(g(2)), f(2) + g(1): every definition a function, and the question built from them."""
    functions = [_FUNCTION.match(d) for d in definitions]
    names = [f.group("name") for f in functions if f]
    if asked is None or not all(functions) or len(set(names)) != len(names):
        return None
    if not re.search(rf"(?:{'|'.join(names)})\s*(?:\\left\s*)?\(", asked) or "=" in asked:
        return None
    return Task("evaluation", asked, functions=tuple((f.group("name"), f.group("var"), f.group("body"))
                                                   for f in functions))


def _defined(definition: str, asked: str | None, critical: bool) -> Task | None:
    """One definition and what is asked of it: a derivative, or the letter an equation settles."""
    function = _FUNCTION.match(definition)
    leibniz_form = re.match(r"^\s*y\s*=([^=]+)$", definition)
    if asked is None:  # "..., find its derivative"
        return Task("derivative", *_function(definition), critical=critical) if function or leibniz_form else None
    if (prime := _PRIME.match(asked)) and function and prime.group("name") == function.group("name"):
        at = prime.group("at")
        point = None if at is None or at.strip() == function.group("var") else at
        return Task("derivative", function.group("body"), function.group("var"), point=point)
    if (leibniz := _LEIBNIZ.match(asked)) and leibniz_form and leibniz.group("name") in ("y", "") \
            and not leibniz.group("rest").strip():
        return Task("derivative", leibniz_form.group(1), leibniz.group("var"))
    if re.fullmatch(r"\s*[a-zA-Z]\s*", asked) and _equation(definition) and not function:
        return Task("roots", definition, asked.strip())
    return None


def _simplification(prose: str, maths: list[str]) -> Task | Skip | None:
    shape = (r"(?:simplify|expand|factor|multiply|divide|combine|rationalize the denominator(?: of)?|rationalize|"
             r"(?:find|compute) (?:the )?(?:product|quotient)|multiply and simplify|"
             r"add or subtract(?: the rational expressions)?)(?: (?:and|then) simplify)?(?: completely| fully)?"
             r"(?: the (?:following )?(?:expressions?|sum|product|quotient|difference|fractions?|following))?"
             r"(?: of)?:? @(?P<e>\d+)(?:,? where @(?P<w>\d+))?")
    if not (match := re.fullmatch(shape + _FORM + _END, prose)):
        return None
    where = _math(maths, match, "w")
    if where is not None and not re.fullmatch(r"\s*i\s*\^\s*\{?\s*2\s*\}?\s*=\s*-\s*1\s*\.?\s*", where):
        return None
    piece = maths[int(match.group("e"))]
    return None if "=" in piece else Task("simplification", piece)


def _arithmetic(prose: str, maths: list[str]) -> Task | Skip | None:
    shapes = [
        rf"(?:{_ASK}|simplify|solve)(?: the value of| the expression| the following)?:? @(?P<e>\d+)",
        r"express @(?P<e>\d+)",
        r"what is @(?P<e>\d+) (?:equal|equivalent) to",
    ]
    for shape in shapes:
        if match := re.fullmatch(shape + _FORM + _END, prose):
            piece = maths[int(match.group("e"))]
            if re.fullmatch(r"\s*[a-zA-Z]\s*", piece):
                return _asks_for_a_letter(piece)
            if "=" in piece or re.search(r"[<>]|\\[lg]eq?(?![a-z])", piece):
                return None
            return Task("arithmetic", piece)
    return None
