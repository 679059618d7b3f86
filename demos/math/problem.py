"""What a problem asks, read closely enough to check an answer with SymPy, or why it cannot be.

Owns the words of a problem. The mathematics in it is read by demos/math/latex.py and the
check is run by demos/math/check.py. The rule that keeps a right answer from being called
wrong: a problem is checked only when the whole of it is understood. Its mathematics is cut
out (`$...$`, `\\(...\\)`, or a run of symbols in plain text) and replaced by @0, @1, ...; the
prose left over must then match one of the shapes below from start to end, apart from
sentences about the answer's format. Anything more (a condition, a diagram, a named root)
and the problem is a Skip, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from demos.math.latex import untyped

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
    name: str | None = None    # the function's name, for f(a)


@dataclass(frozen=True)
class Skip:
    """A problem SymPy does not check, and why (shown to the learner)."""

    kind: str
    reason: str


WORD_PROBLEM = ("SymPy checks derivatives, integrals, equations, simplifications and arithmetic; "
                "a word problem needs a person to set up the equation first.")


# -- cutting the mathematics out ---------------------------------------------------------------
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
    """'five times three' -> '5 times 3'; 'twenty-one' -> '21'."""
    words = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))

    def number(match: re.Match) -> str:
        tens, ones = match.group(1).lower(), (match.group(2) or "").lower()
        return str(int(_NUMBER_WORDS[tens]) + int(_NUMBER_WORDS.get(ones, 0)))
    return re.sub(rf"\b({words})(?:-({words}))?\b", number, text, flags=re.I)


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
    if core.lower() in _FUNCTION_WORDS or core.startswith("\\") or (re.fullmatch(r"d[a-z]", core) and previous_math):
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


# -- what is asked -----------------------------------------------------------------------------
_FORMAT = re.compile(r"\((?:[^()@]*)\)|(?:express|write|give|enter|leave|present|put|simplify|your answer|answer)\b"
                     r".*(?:answer|result|fraction|form|decimal|solutions?|notation|terms of|commas|number|radical|"
                     r"exponents?|integer|nearest [a-z ]+)")
_ROUNDING = re.compile(r"(?:rounded |round(?:ed)? (?:your answer )?)?to the nearest (whole number|integer|"
                       r"tenth|hundredth|thousandth)")
_PLACES = {"whole number": 0, "integer": 0, "tenth": 1, "hundredth": 2, "thousandth": 3}
_NAMED_ROOTS = re.compile(r"@\d+(?:,? and @\d+)? (?:are|be|is|denote) (?:the |two |its |both |distinct |real |"
                          r"complex |nonzero |positive |negative )*(?:roots|solutions|zeros|zeroes)|"
                          r"(?:roots|solutions|zeros|zeroes) (?:of @\d+ )?(?:are|be) @\d+")
_FUNCTION = re.compile(r"^\s*(?P<name>[a-zA-Z])\s*\(\s*(?P<var>[a-zA-Z])\s*\)\s*=(?P<body>[^=]+)$")
_PRIME = re.compile(r"^\s*(?P<name>[a-zA-Z])\s*(?:'|\^\s*\{?\s*\\prime\s*\}?)\s*(?:\(\s*(?P<at>[^()]+?)\s*\))?\s*$")
_LEIBNIZ = re.compile(r"^\s*\\[dt]?frac\s*\{\s*d\s*(?P<name>[a-zA-Z]?)\s*\}\s*\{\s*d\s*(?P<var>[a-zA-Z])\s*\}(?P<rest>.*)$", re.S)


def read_problem(problem: str) -> Task | Skip:
    """The Task a problem sets, or a Skip saying why SymPy leaves it alone."""
    prose, maths = skeleton(problem)
    if _NAMED_ROOTS.search(prose):
        return Skip("roots", "The problem names the roots and asks for something built from them; SymPy "
                             "checks roots only when the roots themselves are asked for.")
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
    return Skip("none", f"The problem asks for {letter.strip()}, whose value comes from the rest of the "
                        "problem; SymPy checks only what it can read off the problem directly.")


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
        rf"(?:{_ASK} )?(?:all )?(?:the )?(?P<c>critical (?:points|numbers|values)) of (?:the function:? )?@(?P<f>\d+)",
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
_INT = re.compile(rf"^\s*\\int(?:\\limits)?\s*(?:_(?P<a>{_BOUND})\s*\^(?P<b>{_BOUND})|\^(?P<b2>{_BOUND})\s*_(?P<a2>{_BOUND}))?"
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
        var = (trailing.group(1) if trailing else None) or match.groupdict().get("dv") or _variable(maths, match) or var
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


def _given(prose: str, maths: list[str]) -> Task | None:
    """'Let f(x) = ...; find f'(2)' / 'find f(3) if f(x) = ...' / 'if 2^8 = 4^x, what is x?'."""
    shapes = [
        rf"(?:let|if|given|suppose|for|consider|define)(?: that)? @(?P<d>\d+)[,.;]? (?:then )?(?:{_ASK}) "
        rf"(?:the value of )?@(?P<q>\d+)",
        rf"(?:{_ASK}) (?:the value of )?@(?P<q>\d+),? (?:if|for|where|when|given(?: that)?) @(?P<d>\d+)",
        rf"(?:let|if|given|suppose|consider)(?: that)? @(?P<d>\d+)[,.;]? (?:then )?(?:{_ASK}) (?:the |its )?"
        rf"(?:first )?derivative(?: of @\d+| of f)?(?P<c>,? and (?:its|the) critical points)?",
    ]
    for shape in shapes:
        if match := re.fullmatch(shape + _END, prose):
            return _defined(maths[int(match.group("d"))], _math(maths, match, "q"), bool(match.groupdict().get("c")))
    return None


def _defined(definition: str, asked: str | None, critical: bool) -> Task | None:
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
    call = re.match(r"^\s*(?P<name>[a-zA-Z])\s*\((?P<arg>.+)\)\s*$", asked)
    if call and function and call.group("name") == function.group("name"):
        return Task("evaluation", function.group("body"), function.group("var"), point=call.group("arg"),
                    name=function.group("name"))
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
            return None if "=" in piece or re.search(r"[<>]|\\[lg]eq?(?![a-z])", piece) else Task("arithmetic", piece)
    return None
