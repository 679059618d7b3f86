"""LaTeX's structure as Python syntax for SymPy's parse_expr: \\frac{a}{b} -> ((a)/(b)), \\sqrt,
\\binom, \\sin^2 x, \\log_b, |x|, \\lfloor x \\rfloor, 2\\frac{1}{2}, 0.\\overline{3}.

Owns one left-to-right pass over text that demos/math/latex.py has already cleaned (units,
thousands separators, \\left). Where TeX and habit disagree (\\sqrt16, \\sin x y, a mixed number)
it reads the likelier way and notes the guess; what it cannot read it refuses with CheckError.
"""

from __future__ import annotations

import re

import sympy

from qwenlab.errors import N_, QwenLabError

GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi rho sigma tau "
         "upsilon phi chi psi omega").split()
FUNCTIONS = {"sin": "sin", "cos": "cos", "tan": "tan", "sec": "sec", "csc": "csc", "cot": "cot",
              "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arccot": "acot", "arcsec": "asec",
              "arccsc": "acsc", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "ln": "ln", "log": "log",
              "exp": "exp", "gcd": "gcd", "lcm": "lcm"}
_SYMBOLS = {"cdot": "*", "times": "*", "ast": "*", "div": "/", "pi": " pi ", "infty": " oo ",
            "infin": " oo ", "varpi": " pi ", **{g: f" {g} " for g in GREEK}, "varphi": " phi ",
            "vartheta": " theta ", "varepsilon": " epsilon "}
_REFUSED = {"pm": "several values (±)", "mp": "several values (∓)", "le": "an inequality",
            "leq": "an inequality", "ge": "an inequality", "geq": "an inequality",
            "ne": "an inequality", "neq": "an inequality", "lt": "an inequality", "gt": "an inequality",
            "in": "a set", "cup": "a set", "cap": "a set", "int": "an integral", "sum": "a sum",
            "prod": "a product", "lim": "a limit", "ldots": "a list", "dots": "a list",
            "cdots": "a list", "to": "a limit", "pmod": "a congruence", "bmod": "a congruence",
            "mod": "a congruence", "begin": "a matrix or an array", "angle": "an angle",
            "triangle": "a figure", "overrightarrow": "a vector", "vec": "a vector"}
LOG_BASE = "\\log without a base (read as ln)"


class CheckError(QwenLabError, ValueError):
    """Text that cannot be read as mathematics (the answer is then not checked)."""


def converted(text: str, notes: list[str]) -> str:
    """Python syntax for `text`, adding to `notes` each guess made; CheckError where it cannot."""
    reader = _Converter(text, notes)
    out = reader.until("")
    if reader.i < len(text):
        raise CheckError(N_("unbalanced {char} in {source}"), char=repr(text[reader.i]), source=repr(text))
    if "\\" in out or "'" in out or "_" in out or re.search(r"[<>]|(?<![<>=!])=", out):
        raise CheckError(N_("cannot read {source}"), source=repr(text))
    return re.sub(r"(?<=[\d.])\s*(?=[jJ](?![a-zA-Z]))", "*", out)  # 2j is Python's 2i


# Names the converted text may hold: functions, constants, Greek letters
_KNOWN_WORDS = set(FUNCTIONS.values()) | set(GREEK) | {
    "pi", "oo", "sqrt", "Abs", "floor", "ceiling", "binomial", "root", "realroot", "ln", "log", "exp"}
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
            raise CheckError(N_("unbalanced {char} in {expression}"), char=repr(c), expression=repr(self.s))
        if c in "'_":
            raise CheckError(N_("{char} in {expression}: a derivative or a subscript, not a value"), char=repr(c), expression=repr(self.s))
        self.i += 1
        return c

    def group(self) -> str:
        opening = self.s[self.i]
        closing = {"{": "}", "(": ")", "[": "]", "⌊": "⌋", "⌈": "⌉", "|": "|"}[opening]
        self.i += 1
        inner = self.until(closing + ("])" if opening in "([" else ""))
        if self.peek() != closing:
            raise CheckError(N_("{opening}...{closing} in {expression}: an interval or unbalanced"), opening=opening, closing=self.peek() or 'end', expression=repr(self.s))
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
            raise CheckError(N_("a missing argument in {expression}"), expression=repr(self.s))
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
        if name in FUNCTIONS:
            if name in ("arccot", "arcsec", "arccsc"):
                self.notes.append(f"\\{name} (its range differs between textbooks)")
            return self.function(name)
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        if name in _REFUSED:
            raise CheckError(N_("\\{name}: {why}, not one value"), name=name, why=_REFUSED[name])
        raise CheckError(N_("\\{name} is not something this checker reads"), name=name)

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
            raise CheckError(N_("\\overline over {block}: not a repeating decimal"), block=repr(block))
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
                raise CheckError(N_("\\{name}^{{-1}}: an inverse function"), name=name)
        bracketed = self.peek() in "({[|"
        if bracketed:
            arg = self.group()
        else:
            arg = self.operand()
            # \sin 20^\circ \sin 40^\circ is a product of sines; \sin x y or \sin 2 \pi could be either
            rest = self.s[self.i:].lstrip()
            if rest and (rest[0].isalnum() or rest[0] == "(" or (rest[0] == "\\" and not re.match(
                    rf"\\(?:cdot|times|div|{'|'.join(FUNCTIONS)})(?![a-zA-Z])", rest))):
                self.notes.append(f"where the argument of \\{name} ends")
        if name == "log" and base is None:
            self.notes.append(LOG_BASE)
        # gcd(12, 18): the bracket is the call's own, not a tuple inside it
        call = f"log({arg}, {base})" if base is not None else \
            f"{FUNCTIONS[name]}{arg}" if bracketed and arg.startswith("(") else f"{FUNCTIONS[name]}({arg})"
        return f"({call})**({power})" if power else call

    def operand(self) -> str:
        """An argument without brackets: \\sin 2x, \\ln x, \\sin 30^\\circ, \\cos\\theta."""
        if self.peek() == "\\":
            return self.command([])
        token = re.match(r"(\d+(?:\.\d+)?[a-zA-Z]?|[a-zA-Z])(\*\(pi/180\))?", self.s[self.i:])
        if not token:
            raise CheckError(N_("a function without an argument in {expression}"), expression=repr(self.s))
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
            raise CheckError(N_("cannot read {word}: a word, or a function without its backslash"), word=repr(word))
    return text
