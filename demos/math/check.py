"""Check a boxed answer against its problem with SymPy: a derivative (also at a point, and
critical points), an integral, an equation's roots, a simplification, arithmetic, f(a).

Reading the problem is demos/math/problem.py, reading the answer demos/math/answer.py and
latex.py, finding the box extract.py. A check says what it ran (as SymPy code), so the learner
can see why it holds or does not. It says "fails" only when it is sure: the two sides differ
at a point where both are real numbers, and no reading of problem or answer was a guess (a
check that fails under a guess is "not checked", with the guess as the reason).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

from qwenlab.demos.math.answer import is_set_or_tuple, parts, split_top, values, with_plus_minus
from qwenlab.demos.math.compare import SAME, compare, equal, number, rounded
from qwenlab.demos.math.extract import boxed_answers, final_answer, missing_answer  # noqa: F401 (the demo's API)
from qwenlab.demos.math.latex import DEGREES, CheckError, Reading, read, reread, to_sympy  # noqa: F401
from qwenlab.demos.math.problem import Skip, Task, read_problem
from qwenlab.errors import N_, Message
from qwenlab.web.i18n import t


@dataclass(frozen=True)
class Check:
    status: str          # holds | fails | unchecked
    kind: str            # derivative | critical points | integral | roots | simplification | arithmetic | ...
    code: str = ""       # the SymPy it ran
    detail: str = ""
    guesses: tuple[str, ...] = ()  # unchecked because it fails only under these readings

    def markdown(self, lang: str = "en") -> str:
        """The verdict for a learner in `lang`: the verdict and the kind of check translated,
        the detail where it is a Message (a template with its values: numbers and SymPy
        expressions stay as they are), the SymPy code as it ran."""
        verdict = t(VERDICTS[self.status], lang)
        body = f"**{verdict}** ({t(self.kind, lang)}). {t(self.detail, lang)}".rstrip()
        return body + (f"\n\n```python\n{self.code}\n```" if self.code else "")


VERDICTS = {"holds": N_("✅ SymPy agrees"), "fails": N_("❌ SymPy disagrees"),
            "unchecked": N_("➖ Not checked")}
# the kinds of check, as the verdict names them (read by the string tables' collector)
KINDS = (N_("derivative"), N_("critical points"), N_("derivative at a point"), N_("integral"),
         N_("definite integral"), N_("roots"), N_("simplification"), N_("arithmetic"),
         N_("evaluation"), N_("none"))
NO_BOX = Message(N_("There is no complete {box} answer to check."), box="\\boxed{}")


def check(problem: str, answer: str | None) -> Check:
    """Does `answer` (the boxed text) solve `problem`? holds, fails, or unchecked with why."""
    if answer is None:
        return Check("unchecked", "none", detail=NO_BOX)
    if "boxed" in answer:  # a learner may paste the box itself
        answer = final_answer(answer)
        if answer is None:
            return Check("unchecked", "none", detail=NO_BOX)
    task = read_problem(problem)
    if isinstance(task, Skip):
        return Check("unchecked", task.kind, detail=task.reason)
    result = _run(task, answer)
    if result.guesses:  # wrong under the other reading too: then it is sure
        other = (reread(problem, list(result.guesses)), reread(answer, list(result.guesses)))
        if None not in other and other != (problem, answer) and isinstance(task := read_problem(other[0]), Task):
            again = _run(task, other[1])
            if again.status == "fails":
                base = result.detail.removeprefix(_guessed(result.guesses))
                return Check("fails", result.kind, result.code,
                             f"SymPy disagrees under each reading it tried ({'; '.join(result.guesses)}, and the "
                             f"other way). {base}".strip())
    return result


def _run(task: Task, answer: str) -> Check:
    try:
        return _CHECKS[task.kind](task, answer)
    except CheckError as exc:
        return Check("unchecked", task.kind, detail=Message(N_("SymPy could not read it: {error}"),
                                                              error=exc.message))
    except (TypeError, ValueError, AttributeError, IndexError, KeyError, NotImplementedError, ZeroDivisionError,
            RecursionError, OverflowError, sympy.polys.polyerrors.BasePolynomialError) as exc:
        # SymPy gives up in these ways on odd input; the learner is told, the app carries on
        return Check("unchecked", task.kind, detail=Message(N_("SymPy could not decide: {error}"),
                                                              error=f"{type(exc).__name__} {exc}"))


def _verdict(kind: str, results: list[tuple[bool | None, str]], header: list[str], detail: str,
             notes: list[str]) -> Check:
    code = "\n".join(header + [line for _, line in results])
    if any(ok is False for ok, _ in results):
        if notes:
            guesses = tuple(dict.fromkeys(notes))
            return Check("unchecked", kind, code, _guessed(guesses) + detail, guesses)
        return Check("fails", kind, code, detail)
    if any(ok is None for ok, _ in results) or not results:
        return Check("unchecked", kind, code, f"SymPy could not decide. {detail}")
    return Check("holds", kind, code, detail)


def _guessed(guesses: tuple[str, ...]) -> str:
    return f"SymPy disagrees, but only under a guess about what was meant ({'; '.join(guesses)}). "


def _problem_notes(task: Task, *readings: Reading) -> list[str]:
    """The guesses that make a 'fails' unsure: the problem's caveats and its readings' notes
    (a degree sign in the problem is no guess: sin 30° is 1/2)."""
    return list(task.caveats) + [n for r in readings for n in r.notes if n != DEGREES]


def _variable(task: Task, *exprs: sympy.Expr) -> sympy.Symbol:
    """The named variable, else x, else the one letter in the expression."""
    if task.var:
        return sympy.Symbol(task.var)
    letters = set().union(*(e.free_symbols for e in exprs))
    if sympy.Symbol("x") in letters or not letters:
        return sympy.Symbol("x")
    if len(letters) == 1:
        return letters.pop()
    raise CheckError(N_("which letter is the variable: {letters}?"), letters=', '.join(sorted(map(str, letters))))


def _one(answer: str, notes: list[str], letters: set) -> Reading:
    """The answer as one value ('f(x) = ...' or 'x = ...' labels dropped), in the problem's letters."""
    pieces = parts(answer)
    if len(pieces) != 1:
        raise CheckError(N_("{answer} is several values, not one expression"), answer=repr(answer))
    reading = read(pieces[0].body)
    _same_letters(reading.expr, letters)
    notes += reading.notes
    return reading


def _same_letters(given: sympy.Expr, letters: set) -> None:
    """'12 m' is twelve metres, not 12 times m: letters the problem does not have are refused."""
    names = {s.name for s in letters}
    extra = sorted(s.name for s in given.free_symbols if s.name not in names)
    if extra:
        raise CheckError(N_("the answer has {extra}, which the problem does not (a unit, or a name?)"), extra=', '.join(extra))


def _real(*exprs: sympy.Expr) -> list[sympy.Expr]:
    """Letters as real variables, as calculus means them (d/dx |x| is then sign(x))."""
    letters = set().union(*(e.free_symbols for e in exprs))
    real = {s: sympy.Symbol(s.name, real=True) for s in letters}
    return [e.xreplace(real) for e in exprs]


# -- the checks, one per kind of problem ------------------------------------------------------
_PRIME_LABEL = (r"^\s*(?:[a-zA-Z]\s*(?:'|\^\s*\{?\s*\\prime\s*\}?)\s*(?:\((?P<at>[^()]*)\))?"  # f'(x), f'(2), y'
                r"|\\[dt]?frac\s*\{\s*d\s*[a-zA-Z]?\s*\}.*)\s*$")  # dy/dx


def _derivative(task: Task, answer: str) -> Check:
    function = read(task.expr)
    notes = _problem_notes(task, function)
    var = sympy.Symbol(_variable(task, function.expr).name, real=True)
    f, = _real(function.expr)
    fprime = sympy.diff(f, var)
    header = [f"fprime = diff({sympy.sstr(function.expr)}, {var})   # {sympy.sstr(fprime)}"]
    results, kinds = [], []
    for role, text, at in _derivative_parts(task, answer, var.name):
        results.append(_derivative_part(role, text, at, (f, fprime, var), task.places, notes))
        kinds.append({"derivative": "derivative", "at": "derivative at a point"}.get(role, "critical points"))
    kind = " and ".join(dict.fromkeys(kinds)) or "derivative"
    return _verdict(kind, results, header, _derivative_detail(fprime, var, task), notes)


def _derivative_part(role: str, text: str, at: str | None, calculus: tuple, places: int | None,
                     notes: list[str]) -> tuple[bool | None, str]:
    """One piece of a derivative answer: the derivative, its value at a point, a critical point
    (x), or a critical point written as (x, f(x))."""
    f, fprime, var = calculus
    if role == "point":
        return _critical_pair(text, f, fprime, var, notes)
    given = read(text)
    _same_letters(given.expr, f.free_symbols if role == "derivative" else f.free_symbols - {var})
    notes += given.notes
    value, = _real(given.expr)
    if role == "derivative":
        ok, line = equal(fprime, value)
        return ok, f"expected = fprime; given = {sympy.sstr(value)}\n{line}"
    if role == "at":
        point, = _real(read(at).expr)
        expected = fprime.subs(var, point)
        ok = compare(expected, Reading(value, given.notes, given.places), places)[0]
        return ok, f"fprime.subs({var}, {sympy.sstr(point)}) == {sympy.sstr(value)}   # {ok}"
    # a critical point is a root of f' (and -0.333 one that rounds to -1/3)
    zero = _is_root(fprime, var, Reading(value, given.notes, given.places),
                    _solutions(fprime, var) if given.places is not None else None)[0]
    return zero, f"fprime.subs({var}, {sympy.sstr(value)}) == 0   # {zero}"


def _critical_pair(text: str, f: sympy.Expr, fprime: sympy.Expr, var: sympy.Symbol,
                   notes: list[str]) -> tuple[bool | None, str]:
    """(a, b): the point (a, f(a)) if f'(a) = 0 and f(a) = b; else perhaps two critical points.
    Right under either reading holds; wrong under both fails."""
    first, second = (read(t) for t in split_top(text.strip()[1:-1]))
    notes += first.notes + second.notes
    a, b = _real(first.expr, second.expr)
    zero_a, zero_b = (equal(fprime.subs(var, v), sympy.Integer(0))[0] for v in (a, b))
    on_curve = equal(f.subs(var, a), b)[0]
    ok = True if (zero_a and on_curve) or (zero_a and zero_b) else \
        False if zero_a is False or (on_curve is False and zero_b is False) else None
    return ok, (f"fprime.subs({var}, {sympy.sstr(a)}) == 0 and f.subs({var}, {sympy.sstr(a)}) == {sympy.sstr(b)}"
                f"   # {ok}")


def _derivative_parts(task: Task, answer: str, var: str) -> list[tuple[str, str, str | None]]:
    """Each piece of the answer as (derivative | at | critical | point, its text, the point for
    'at'): f'(x) = 6x + 2, f'(2) = 14, x = -1/3, (-1/3, -16/3), or unlabelled and told apart by
    having x in it."""
    found = []
    for piece in parts(answer):
        label, has_var = piece.label.strip(), bool(re.search(rf"(?<![a-zA-Z\\]){var}(?![a-zA-Z])", piece.body))
        prime = re.match(_PRIME_LABEL, label) if label else None
        if prime and prime.group("at") and prime.group("at").strip() != var:
            found.append(("at", piece.body, prime.group("at")))
        elif prime or (not label and has_var):
            found.append(("derivative", piece.body, None))
        elif task.critical and not label and is_set_or_tuple(piece.body) == "bracketed" \
                and len(split_top(piece.body.strip()[1:-1])) == 2:
            found.append(("point", piece.body, None))
        elif task.critical and (not label or re.fullmatch(rf"{var}(?:_\{{?\d+\}}?)?", label)):
            found += [("critical", body, None) for body in with_plus_minus(piece.body)]
        elif task.point and not label:
            found.append(("at", piece.body, task.point))
        elif label:
            raise CheckError(N_("{label} = ...: neither the derivative nor a point"), label=label)
        else:
            found.append(("number", piece.body, None))
    if [role for role, _, _ in found].count("number") > 1 or len(found) > 1 and not task.critical:
        raise CheckError(N_("{answer} is several values, not one expression"), answer=repr(answer))
    if found[0][0] == "number":
        raise CheckError(N_("{answer} is a number; the derivative is an expression"), answer=repr(answer))
    if task.point and not task.critical and found[0][0] == "derivative":
        raise CheckError(N_("the problem asks for the derivative at a point; the answer is an expression"))
    return found


def _derivative_detail(fprime: sympy.Expr, var: sympy.Symbol, task: Task) -> str:
    numerator = sympy.together(fprime).as_numer_denom()[0]
    if task.critical and numerator.is_polynomial(var) and sympy.degree(numerator, var) <= 4:
        zeros = [z for z in sympy.solve(fprime, var) if z.is_real]
        return Message(N_("The derivative is {derivative}. It is zero at {var} = {zeros}."),
                       derivative=sympy.sstr(fprime), var=str(var), zeros=sympy.sstr(zeros))
    return Message(N_("The derivative is {derivative}."), derivative=sympy.sstr(fprime))


_CONSTANTS = {sympy.Symbol(name) for name in ("C", "K", "c", "k", "C_1")}  # of integration


def _integral(task: Task, answer: str) -> Check:
    function = read(task.expr)
    notes = _problem_notes(task, function)
    var = _variable(task, function.expr)
    given = _one(answer, notes, function.expr.free_symbols | _CONSTANTS)
    f, value = _real(function.expr, given.expr)
    var = sympy.Symbol(var.name, real=True)
    if task.bounds:
        low, high = (read(b) for b in task.bounds)
        notes += _problem_notes(task, low, high)[len(task.caveats):]
        exact = f.as_numer_denom()[0].is_polynomial(var) and f.as_numer_denom()[1].is_polynomial(var)
        integral = sympy.Integral(f, (var, low.expr, high.expr))
        expected = integral.doit() if f.is_polynomial(var) else integral
        header = [f"expected = integrate({sympy.sstr(function.expr)}, ({var}, {sympy.sstr(low.expr)}, "
                  f"{sympy.sstr(high.expr)}))   # {sympy.sstr(expected if exact else sympy.N(integral, 8))}"]
        result = compare(expected, Reading(value, given.notes, given.places), task.places)
        value_text = sympy.sstr(expected) if exact else f"about {sympy.N(integral, 8)}"
        return _verdict("definite integral", [result], header, f"The integral is {value_text}.", notes)
    derivative = sympy.diff(value, var)
    header = [f"antiderivative = {sympy.sstr(given.expr)}",
              f"expected = {sympy.sstr(function.expr)}; given = diff(antiderivative, {var})   "
              f"# {sympy.sstr(derivative)}"]
    return _verdict("integral", [equal(f, derivative)], header,
                    "An antiderivative is right when its derivative gives back the integrand.", notes)


def _roots(task: Task, answer: str) -> Check:
    left, right = (read(side) for side in task.expr.split("="))
    notes = _problem_notes(task, left, right)
    equation = left.expr - right.expr
    var = _variable(task, equation)
    others = equation.free_symbols - {var}
    if others and not task.parametric:
        letters = ", ".join(sorted(map(str, equation.free_symbols)))
        raise CheckError(N_("the equation has {letters}: which one to solve for?"), letters=letters) \
            if not task.var else \
            CheckError(N_("the equation has {letters}: the others' values come from elsewhere, so it "
                          "does not settle {var}"), letters=letters, var=str(var))
    given = values(answer, var.name)
    for reading in given:
        notes += reading.notes
        if reading.expr.free_symbols - others:
            raise CheckError(N_("the answer uses {expression}, with letters the problem does not have"), expression=sympy.sstr(reading.expr))
    solved = _solutions(equation, var)
    header = [f"solve(Eq({sympy.sstr(left.expr)}, {sympy.sstr(right.expr)}), {var})   # "
              f"{sympy.sstr(solved) if solved is not None else 'not solved: each answer is substituted'}"]
    results = [_is_root(equation, var, reading, solved) for reading in given]
    results += _missing(solved, given, var) if task.all_roots and solved is not None else []
    detail = (Message(N_("The solutions are {solutions}."), solutions=sympy.sstr(solved))
              if solved is not None else
              Message(N_("SymPy cannot list every solution here, so it substitutes each value of "
                         "the answer.")))
    return _verdict("roots", results, header, detail, notes)


def _solutions(equation: sympy.Expr, var: sympy.Symbol) -> list[sympy.Expr] | None:
    """Every solution, where SymPy can be sure it has them all (a polynomial once the
    denominators are cleared, degree 4 at most); None otherwise."""
    numerator, denominator = sympy.together(equation).as_numer_denom()
    if not (numerator.is_polynomial(var) and denominator.is_polynomial(var)):
        return None
    if sympy.degree(numerator, var) > (2 if equation.free_symbols - {var} else 4):  # letters: quartic formula
        return None
    return sorted(set(sympy.solve(equation, var)), key=sympy.default_sort_key)


def _is_root(equation: sympy.Expr, var: sympy.Symbol, given: Reading,
             solved: list[sympy.Expr] | None) -> tuple[bool | None, str]:
    """Substituted, the answer makes the equation hold. A decimal (0.43) is near a root rather
    than one: it is right when a root rounds to it."""
    residual, _ = equal(equation.subs(var, given.expr), sympy.Integer(0))
    if residual or given.places is None:
        return residual, f"({sympy.sstr(equation)}).subs({var}, {sympy.sstr(given.expr)}) == 0   # {residual}"
    close = [rounded(s, given, None) for s in solved or []]
    ok = True if any(c and c[0] for c in close) else False if close and all(close) else None
    return ok, f"any(round(N(s), {given.places}) == {sympy.sstr(given.expr)} for s in solutions)   # {ok}"


def _missing(solved: list[sympy.Expr], given: list[Reading], var: sympy.Symbol) -> list[tuple[bool | None, str]]:
    """Roots the answer leaves out (only real ones, when the answer gives only real ones)."""
    complex_given = any(number(g.expr) is not None and abs(number(g.expr).imag) > SAME for g in given)
    wanted = [s for s in solved if complex_given or (number(s) is not None and abs(number(s).imag) <= SAME)]
    missing = [s for s in wanted if not any(compare(s, g)[0] for g in given)]
    ok = None if any(number(s) is None for s in wanted) else not missing
    line = f"set(given) == set(solutions)   # {ok}" + (f": {sympy.sstr(missing)} missing" if missing else "")
    return [(ok, line)]


def _simplification(task: Task, answer: str) -> Check:
    expression = read(task.expr)
    notes = _problem_notes(task, expression)
    given = _one(answer, notes, expression.expr.free_symbols)
    header = [f"expected = {sympy.sstr(expression.expr)}; given = {sympy.sstr(given.expr)}"]
    return _verdict("simplification", [compare(expression.expr, given, task.places)], header,
                    f"Simplified, it is {sympy.sstr(sympy.simplify(expression.expr))}; SymPy checks the value, "
                    "not the form.", notes)


def _arithmetic(task: Task, answer: str) -> Check:
    expression = read(task.expr)
    if expression.expr.free_symbols:
        letters = ", ".join(sorted(map(str, expression.expr.free_symbols)))
        raise CheckError(N_("{expression} has letters in it ({letters}), whose values come from "
                            "the rest of the problem"), expression=repr(task.expr), letters=letters)
    notes = _problem_notes(task, expression)
    given = _one(answer, notes, set())
    header = [f"expected = {sympy.sstr(expression.expr)}; given = {sympy.sstr(given.expr)}"]
    result = compare(expression.expr, given, task.places)
    return _verdict("arithmetic", [result], header, f"It is {sympy.sstr(expression.expr)}.", notes)


def _evaluation(task: Task, answer: str) -> Check:
    """f(3), f(g(2)): each function a SymPy Lambda, the question read with them."""
    functions, notes, header = {}, list(task.caveats), []
    pending, names = list(task.functions), {name for name, _, _ in task.functions}
    while pending:  # t(x) = 3 - g(x) and g(x) = sqrt(x): g first
        ready = [f for f in pending if not _calls(f[2], names - set(functions))]
        if not ready:
            raise CheckError(N_("the functions are defined in terms of each other"))
        for name, var, body in ready:
            reading = read(body, functions)
            notes += _problem_notes(task, reading)[len(task.caveats):]
            functions[name] = sympy.Lambda(sympy.Symbol(var), reading.expr)
            header.append(f"{name} = Lambda({var}, {sympy.sstr(reading.expr)})")
        pending = [f for f in pending if f not in ready]
    if re.search(rf"(?:{'|'.join(functions)})\s*\^", task.expr):
        raise CheckError(N_("{expression}: an inverse or a power of a function"), expression=repr(task.expr))
    asked = read(task.expr, functions)
    notes += _problem_notes(task, asked)[len(task.caveats):]
    expected = asked.expr
    given = _one(answer, notes, expected.free_symbols)
    header.append(f"expected = {task.expr.strip()}   # {sympy.sstr(expected)}")
    return _verdict("evaluation", [compare(expected, given, task.places)], header,
                    f"It is {sympy.sstr(expected)}.", notes)


def _calls(text: str, names: set[str]) -> bool:
    """Whether `text` calls one of the functions `names`: g(x), g\\left(x\\right)."""
    return bool(names) and bool(re.search(rf"(?<![a-zA-Z\\])(?:{'|'.join(names)})\s*(?:\\left\s*)?\(", text))


_CHECKS = {"derivative": _derivative, "integral": _integral, "roots": _roots,
           "simplification": _simplification, "arithmetic": _arithmetic, "evaluation": _evaluation}
