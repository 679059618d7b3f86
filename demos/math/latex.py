"""Read an answer or an expression, written in LaTeX or plain text, as SymPy.

Owns the reading only: what a problem asks is demos/math/problem.py, whether an answer holds is
demos/math/check.py. A misreading must never turn a right answer into a wrong one, so anything
this reader is not sure of either raises CheckError (the answer goes unchecked) or, where one
reading is far likelier than the others, is read that way and noted (see `Reading.notes`): a
check that fails under a noted reading is reported as not checked, with the note as the reason.
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

from demos.math.skeleton import untyped
from qwenlab.errors import QwenLabError


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
_GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi rho sigma tau "
          "upsilon phi chi psi omega").split()
# Every letter is a plain symbol (so that S, N, Q, O are not SymPy's objects of those names);
# e and i are Euler's number and the imaginary unit, as in the answers of MATH and college-math.
_NAMES = {**{c: sympy.Symbol(c) for c in "abcdfghjklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"},
          **{g: sympy.Symbol(g) for g in _GREEK}, "e": sympy.E, "i": sympy.I, "pi": sympy.pi,
          "oo": sympy.oo, "ln": sympy.log, "log": sympy.log, "exp": sympy.exp, "sqrt": sympy.sqrt,
          "Abs": sympy.Abs, "floor": sympy.floor, "ceiling": sympy.ceiling, "binomial": sympy.binomial,
          **{name: _evaluated(f) for name, f in (("gcd", sympy.gcd), ("lcm", sympy.lcm), ("root", sympy.root),
                                                  ("realroot", _real_root))}}
_FUNCTIONS = {"sin": "sin", "cos": "cos", "tan": "tan", "sec": "sec", "csc": "csc", "cot": "cot",
              "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arccot": "acot", "arcsec": "asec",
              "arccsc": "acsc", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "ln": "ln", "log": "log",
              "exp": "exp", "gcd": "gcd", "lcm": "lcm"}
_SYMBOLS = {"cdot": "*", "times": "*", "ast": "*", "div": "/", "pi": " pi ", "infty": " oo ",
            "infin": " oo ", "varpi": " pi ", **{g: f" {g} " for g in _GREEK}, "varphi": " phi ",
            "vartheta": " theta ", "varepsilon": " epsilon "}
_REFUSED = {"pm": "several values (±)", "mp": "several values (∓)", "le": "an inequality",
            "leq": "an inequality", "ge": "an inequality", "geq": "an inequality",
            "ne": "an inequality", "neq": "an inequality", "lt": "an inequality", "gt": "an inequality",
            "in": "a set", "cup": "a set", "cap": "a set", "int": "an integral", "sum": "a sum",
            "prod": "a product", "lim": "a limit", "ldots": "a list", "dots": "a list",
            "cdots": "a list", "to": "a limit", "pmod": "a congruence", "bmod": "a congruence",
            "mod": "a congruence", "begin": "a matrix or an array", "angle": "an angle",
            "triangle": "a figure", "overrightarrow": "a vector", "vec": "a vector"}
DEGREES = "a degree sign (read as π/180)"  # sure in a problem's expression, a guess in an answer
LOG_BASE = "\\log without a base (read as ln)"
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


class CheckError(QwenLabError, ValueError):
    """Text that cannot be read as mathematics (the answer is then not checked)."""


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
    text = _converted(prepared, notes)
    decimals = [len(d) for d in re.findall(r"\d\.(\d+)", text)]
    if re.search(r"/\s*(?:\d+(?:\.\d+)?(?![\d.])|[a-zA-Z](?![a-zA-Z]))\s*(?=[a-zA-Z(\d])", text):
        notes.append("a/bc: where the denominator ends")
    try:
        expr = parse_expr(text, local_dict={**_NAMES, **(functions or {})}, transformations=_TRANSFORMS,
                          evaluate=False)
    except (SyntaxError, TypeError, ValueError, AttributeError, sympy.SympifyError, TokenError) as exc:
        raise CheckError(f"cannot read {latex!r}: {type(exc).__name__}") from None
    if isinstance(expr, tuple):
        raise CheckError(f"{latex!r} is several values, not one expression")
    if not isinstance(expr, sympy.Expr):
        raise CheckError(f"{latex!r} is not one expression")
    _refuse_huge(expr, latex)
    # 3e is Euler's number; among other letters (a + b + e) e may be a variable too
    if re.search(r"(?<![a-zA-Z\\])e(?![a-zA-Z^])", prepared) and expr.free_symbols:
        notes.append("e read as Euler's number")
    try:
        return Reading(expr.doit(), notes, max(decimals) if decimals else None)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        raise CheckError(f"cannot evaluate {latex!r}: {exc}") from None


def _refuse_huge(expr: sympy.Expr, latex: str) -> None:
    """2^(10^10) or (10^6)! would hold the app for minutes: refuse them before evaluating."""
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Pow) and node.exp.is_number and node.base.is_number \
                and node.base not in (0, 1, -1) and abs(sympy.N(node.exp, 5)) > MAX_EXPONENT:
            raise CheckError(f"{latex!r} is too large to work out")
        if isinstance(node, sympy.factorial) and node.args[0].is_Integer and node.args[0] > 2000:
            raise CheckError(f"{latex!r} is too large to work out")


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
        raise CheckError(f"{latex!r} holds no mathematics")
    return text


def _units_removed(text: str, notes: list[str]) -> str:
    """\\text{ cm}^2, \\mbox{dollars}: words in text are units or prose and go; one letter is a
    variable. \\mathrm{ab} or \\operatorname{arccot} must be read, never dropped: an unknown
    name is refused."""
    def replace(match: re.Match) -> str:
        command, inner, power = match.group(1), match.group(2).strip(), match.group(3) or ""
        if re.fullmatch(r"[a-zA-Z]", inner):
            return f" {inner}{power}"
        if inner in _FUNCTIONS:
            return f"\\{inner}{power} "
        if command.startswith(("text", "mbox")) and re.fullmatch(r"[a-zA-Z .,']*", inner):
            return " "
        raise CheckError(f"\\{command}{{{inner}}} is not something this checker reads")
    text = re.sub(r"\\(textbf|textit|textrm|text|mbox|mathrm|mathit|mathbf|operatorname|rm)\s*\{([^{}]*)\}"
                  r"(\s*\^\s*(?:\{\s*\d\s*\}|\d))?", replace, text)
    if text.strip() == "":
        raise CheckError("the answer is words, not mathematics")
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
    if re.search(r"(?<![\d.])\d{1,3}(?:\.\d{3})+(?![\d.])", text):
        notes.append("1.234 read as a decimal (a thousands point in some countries)")
    spaced = re.search(r"(?<![\d.^_])(\d+)\s+(?=\d)", text)
    if spaced:
        if not re.fullmatch(r"\d{1,3}(?: \d{3})+", re.search(r"\d+(?: \d+)*", text[spaced.start():]).group(0)):
            raise CheckError(f"two numbers with only a space between them in {text!r}")
        text = re.sub(r"(?<=\d) (?=\d{3}(?!\d))", "", text)
    return text


# -- structure: \frac, \sqrt, functions, bars -> Python syntax ---------------------------------
def _converted(text: str, notes: list[str]) -> str:
    reader = _Converter(text, notes)
    out = reader.until("")
    if reader.i < len(text):
        raise CheckError(f"unbalanced {text[reader.i]!r} in {text!r}")
    if "\\" in out or "'" in out or "_" in out or re.search(r"[<>]|(?<![<>=!])=", out):
        raise CheckError(f"cannot read {text!r}")
    return re.sub(r"(?<=[\d.])\s*(?=[jJ](?![a-zA-Z]))", "*", out)  # 2j is Python's 2i


_KNOWN_WORDS = set(_NAMES) | set(_FUNCTIONS.values()) | {"asin", "acos", "atan", "acot", "asec", "acsc"}
_FUNCTION_PARTS = re.compile(r"sin|cos|tan|log|ln|exp|sqrt|sec|csc|cot")


class _Converter:
    """One left-to-right pass over the text; each method returns Python syntax for parse_expr."""

    def __init__(self, text: str, notes: list[str]):
        self.s, self.i, self.notes = text, 0, notes

    def peek(self) -> str:
        while self.i < len(self.s) and self.s[self.i] == " ":
            self.i += 1
        return self.s[self.i] if self.i < len(self.s) else ""

    def until(self, stop: str) -> str:
        """Read up to a character in `stop` (left unread) or the end."""
        out: list[str] = []
        while self.i < len(self.s):
            if self.s[self.i] == " ":  # kept: "8 j" must not become Python's complex literal 8j
                out.append(" ")
                self.i += 1
                continue
            c = self.s[self.i]
            if c in stop and not (c == "|" and _operand_next(out)):
                break
            out.append(self.item(out))
        return _words_checked("".join(out))

    def item(self, out: list[str]) -> str:
        c = self.s[self.i]
        if c == "\\":
            return self.command(out)
        if c in "{([⌊⌈|":
            return self.group()
        if c == "^":
            self.i += 1
            return "**(" + self.argument(power=True) + ")"
        if c in "}])⌋⌉":
            raise CheckError(f"unbalanced {c!r} in {self.s!r}")
        if c in "'_":
            raise CheckError(f"{c!r} in {self.s!r}: a derivative or a subscript, not a value")
        self.i += 1
        return c

    def group(self) -> str:
        opening = self.s[self.i]
        closing = {"{": "}", "(": ")", "[": "]", "⌊": "⌋", "⌈": "⌉", "|": "|"}[opening]
        self.i += 1
        inner = self.until(closing + ("])" if opening in "([" else ""))
        if self.peek() != closing:
            raise CheckError(f"{opening}...{self.peek() or 'end'} in {self.s!r}: an interval or unbalanced")
        self.i += 1
        return {"⌊": " floor(", "⌈": " ceiling(", "|": " Abs("}.get(opening, "(") + inner + ")"

    def argument(self, power: bool = False, last: bool = False) -> str:
        """A TeX argument: a {group}, one command, or one character (all digits after ^).
        `last`: a digit right after it (\\sqrt16, \\frac123) makes the reading a guess."""
        c = self.peek()
        if c == "{":
            return self.group()
        if c == "\\":
            return self.command([])
        if c == "-" and power:
            self.i += 1
            return "-" + self.argument(power=True)
        if power and c.isdigit():
            digits = re.match(r"\d+(?:\.\d+)?", self.s[self.i:]).group(0)
            if len(digits) > 1:
                self.notes.append(f"^{digits} read as ^{{{digits}}}")
            self.i += len(digits)
            return digits
        if not c or c in "}])":
            raise CheckError(f"a missing argument in {self.s!r}")
        self.i += 1
        if last and c.isdigit() and self.s[self.i:self.i + 1].isdigit():
            self.notes.append(f"{c}{self.s[self.i]} after \\sqrt or \\frac: TeX takes only the first digit")
        return c if c not in "([|" else self._reopened(c)

    def _reopened(self, c: str) -> str:
        self.i -= 1
        return self.group()

    def command(self, out: list[str]) -> str:
        """A command's Python, after a space: i\\sqrt3 is i*sqrt(3), not a name isqrt."""
        return " " + self._command(out)

    def _command(self, out: list[str]) -> str:
        match = re.match(r"\\([a-zA-Z]+|.)", self.s[self.i:])
        name = match.group(1)
        self.i += len(match.group(0))
        if name == "frac":
            return self.fraction(out)
        if name == "sqrt":
            return self.root()
        if name == "binom":
            return f"binomial({self.argument()}, {self.argument()})"
        if name == "overline":
            return self.repeating(out)
        if name in _FUNCTIONS:
            if name in ("arccot", "arcsec", "arccsc"):
                self.notes.append(f"\\{name} (its range differs between textbooks)")
            return self.function(name)
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        if name in _REFUSED:
            raise CheckError(f"\\{name}: {_REFUSED[name]}, not one value")
        raise CheckError(f"\\{name} is not something this checker reads")

    def fraction(self, out: list[str]) -> str:
        top, bottom = self.argument(), self.argument(last=True)
        text = "".join(out)
        whole = re.search(r"(?<![\d.*/)])(\d+)\s*$", text)
        if whole and re.fullmatch(r"\(?\d+\)?", top) and re.fullmatch(r"\(?\d+\)?", bottom):
            # 2\frac{1}{2} in MATH is a mixed number, 5/2; never silently the product 1
            self.notes.append(f"{whole.group(1)} {top}/{bottom} read as a mixed number")
            out[:] = [text[:whole.start()]]
            return f"({whole.group(1)}+({top})/({bottom}))"
        return f"(({top})/({bottom}))"

    def root(self) -> str:
        degree = None
        if self.peek() == "[":
            self.i += 1
            degree = self.until("]")
            self.i += 1
        body = self.argument(last=True)
        if degree is None:
            return f"sqrt({body})"
        odd = re.fullmatch(r"\d+", degree.strip()) and int(degree) % 2 == 1
        return f"{'realroot' if odd else 'root'}({body}, {degree})"  # the cube root of -8 is -2

    def repeating(self, out: list[str]) -> str:
        block, text = self.argument().strip("()"), "".join(out)
        number = re.search(r"(\d*)\.(\d*)\s*$", text)
        if not (number and block.isdigit()):
            raise CheckError(f"\\overline over {block!r}: not a repeating decimal")
        whole, fixed = number.group(1) or "0", number.group(2)
        value = sympy.Integer(whole) + sympy.Rational(int(fixed or 0), 10 ** len(fixed)) + sympy.Rational(
            int(block), (10 ** len(block) - 1) * 10 ** len(fixed))
        out[:] = [text[:number.start()]]
        return f"({value})"

    def function(self, name: str) -> str:
        base = power = None
        if name == "log" and self.peek() == "_":
            self.i += 1
            base = self.argument()
        if self.peek() == "^":  # \cos^210^\circ is cos(10°)^2, as TeX reads it
            self.i += 1
            power = self.argument()
            if power.strip("()") == "-1":
                raise CheckError(f"\\{name}^{{-1}}: an inverse function")
        bracketed = self.peek() in "({[|"
        if bracketed:
            arg = self.group()
        else:
            arg = self.operand()
            # \sin 20^\circ \sin 40^\circ is a product of sines; \sin x y or \sin 2 \pi could be either
            rest = self.s[self.i:].lstrip()
            if rest and (rest[0].isalnum() or rest[0] == "(" or (rest[0] == "\\" and not re.match(
                    rf"\\(?:cdot|times|div|{'|'.join(_FUNCTIONS)})(?![a-zA-Z])", rest))):
                self.notes.append(f"where the argument of \\{name} ends")
        if name == "log" and base is None:
            self.notes.append(LOG_BASE)
        # gcd(12, 18): the bracket is the call's own, not a tuple inside it
        call = f"log({arg}, {base})" if base is not None else \
            f"{_FUNCTIONS[name]}{arg}" if bracketed and arg.startswith("(") else f"{_FUNCTIONS[name]}({arg})"
        return f"({call})**({power})" if power else call

    def operand(self) -> str:
        """An argument without brackets: \\sin 2x, \\ln x, \\sin 30^\\circ, \\cos\\theta."""
        if self.peek() == "\\":
            return self.command([])
        token = re.match(r"(\d+(?:\.\d+)?[a-zA-Z]?|[a-zA-Z])(\*\(pi/180\))?", self.s[self.i:])
        if not token:
            raise CheckError(f"a function without an argument in {self.s!r}")
        self.i += len(token.group(0))
        if self.peek() == "^":  # \log_{25} 5^4 is the log of 625, \sin x^2 the sine of x^2
            self.i += 1
            if re.fullmatch(r"\d+[a-zA-Z]", token.group(0)):  # \sin 2x^2: of 2x^2 or of (2x)^2?
                self.notes.append(f"the power in {token.group(0)}^")
                return f"{token.group(0)[:-1]}*{token.group(0)[-1]}**({self.argument(power=True)})"
            return f"({token.group(0)})**({self.argument(power=True)})"
        return token.group(0)


def _operand_next(out: list[str]) -> bool:
    """Whether a | here opens a bar (an operand is expected) rather than closing one."""
    text = "".join(out).rstrip()
    return not text or text[-1] in "+-*/(,=^" or bool(re.search(r"(?<![a-zA-Z])(?:ln|log|sin|cos|tan)$", text))


def _words_checked(text: str) -> str:
    """Letters run together are a product (xy) unless they spell a function or a word."""
    for word in re.findall(r"[a-zA-Z]{2,}", text):
        if word in _KNOWN_WORDS:
            continue
        if len(word) > 3 or _FUNCTION_PARTS.search(word):
            raise CheckError(f"cannot read {word!r}: a word, or a function without its backslash")
    return text
