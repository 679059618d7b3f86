"""How far the math demo's SymPy check can be trusted, measured on a public problem set (a
benchmark, not a test: a few minutes for 5,000 problems).

For every problem with a reference answer it checks the reference itself (which must never
come out "fails") and a wrong answer derived from it (a number plus one, an expression times
two), then prints: how many correct answers we call "fails" (the bar is 0), how many answers
we check at all, and, with --grader, how often we agree with Qwen2.5-Math's own `math_equal`
where both give a verdict. Their grader is reference only: it runs in its own interpreter
(a scratch virtual environment with latex2sympy2), never inside Qwen Lab.

  python bench/math_agreement.py /tmp/math_test.jsonl
  python bench/math_agreement.py /tmp/math_test.jsonl --grader /tmp/qwen_eval/evaluation \
      --grader-python /tmp/refvenv/bin/python

Reads jsonl rows (or a json list) with a problem in `problem` or `question` and the answer in
`answer`, `final_answer` (OlympiadBench: a list) or the last \\boxed{} of `solution` (MATH).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import time
import warnings
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qwenlab.demos.math.check import check, final_answer  # noqa: E402


def load(path: Path) -> list[tuple[str, str]]:
    """(problem, reference answer) pairs; rows without both are skipped."""
    text = path.read_text()
    rows = json.loads(text) if text.lstrip().startswith("[") else [
        json.loads(line) for line in text.splitlines() if line.strip()]
    pairs = []
    for row in rows:
        problem = row.get("problem") or row.get("question")
        answer = row.get("answer") or row.get("final_answer")
        if isinstance(answer, list):
            answer = answer[0] if answer else None
        if answer is None and row.get("solution"):
            answer = final_answer(row["solution"] if isinstance(row["solution"], str) else row["solution"][0])
        if problem and isinstance(answer, str) and answer.strip():
            pairs.append((problem, answer.strip().strip("$").strip()))
    return pairs


def wrong_answer(reference: str) -> str | None:
    """A surely wrong answer: the reference's value plus one (a number) or times two (with a
    variable; plus one would still be an antiderivative). None where the reference cannot be read
    as one value."""
    import sympy

    from qwenlab.demos.math.latex import CheckError, to_sympy

    label, _, value = reference.rpartition("=")
    if label and not re.fullmatch(r"\s*[a-zA-Z](?:_\{?\d+\}?)?\s*", label) or "," in value:
        return None  # several values, or an equation: no single value to change
    try:
        expr = to_sympy(value)
        if expr.has(sympy.oo, sympy.zoo, sympy.nan) or expr.is_number and abs(sympy.N(expr)) > 1e100:
            return None
        changed = expr + 1 if not expr.free_symbols else 2 * expr
        return (label + "= " if label else "") + sympy.latex(changed)
    except (CheckError, RecursionError, TypeError, ValueError):
        return None


class _TimeUp(Exception):
    pass


def _alarm(signum, frame):
    raise _TimeUp


def run_one(args: tuple[str, str, float]) -> tuple[str, str, str]:
    """Our verdict on one (problem, answer): (status, kind, detail); 'timeout' past the limit."""
    problem, answer, limit = args
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        result = check(problem, answer)
        return result.status, result.kind, result.detail
    except _TimeUp:
        return "timeout", "none", f"over {limit:g} s"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


GRADER = r"""
import json, signal, sys
sys.path.insert(0, sys.argv[1])
from grader import math_equal
try:  # their pipeline normalises both sides with strip_string before math_equal
    from parser import strip_string
except Exception:
    strip_string = lambda s: s
class TimeUp(Exception): pass
def alarm(*_): raise TimeUp
signal.signal(signal.SIGALRM, alarm)
out = []
for answer, reference in json.load(sys.stdin):
    signal.setitimer(signal.ITIMER_REAL, float(sys.argv[2]))
    try:
        out.append(bool(math_equal(strip_string(answer), strip_string(reference))))
    except BaseException:
        out.append(None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
print(json.dumps(out))
"""


def reference_verdicts(pairs: list[tuple[str, str]], grader: Path, python: str, limit: float) -> list:
    """math_equal(answer, reference) for each pair, run in the grader's own interpreter."""
    done = subprocess.run([python, "-c", GRADER, str(grader), str(limit)], input=json.dumps(pairs),
                          capture_output=True, text=True, cwd=grader, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(name: str, verdicts: list, reference: list | None, expect_hold: bool) -> dict:
    counts = Counter(status for status, _, _ in verdicts)
    checked = counts["holds"] + counts["fails"]
    total = len(verdicts)
    kinds = Counter(kind for status, kind, _ in verdicts if status in ("holds", "fails"))
    print(f"  {name}: {total} answers; holds {counts['holds']}, fails {counts['fails']}, "
          f"unchecked {counts['unchecked']}, timeout {counts['timeout']}; "
          f"checked {checked} ({100 * checked / max(total, 1):.1f}%)")
    print(f"    checked by kind: {dict(kinds.most_common())}")
    agree = both = 0
    for (status, _, _), theirs in zip(verdicts, reference or []):
        if status in ("holds", "fails") and theirs is not None:
            both += 1
            agree += (status == "holds") == theirs
    return {"agree": agree, "both": both, "wrong_verdicts": counts["fails" if expect_hold else "holds"]}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="jsonl (or json) with problems and reference answers")
    parser.add_argument("--grader", type=Path, help="a folder holding Qwen2.5-Math's evaluation/grader.py")
    parser.add_argument("--grader-python", default=sys.executable,
                        help="the interpreter that can import their grader (latex2sympy2, regex)")
    parser.add_argument("--limit", type=int, help="only the first N problems")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per check")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--show", type=int, default=20, help="print up to N cases of each kind of disagreement")
    return parser.parse_args()


def main() -> None:
    warnings.simplefilter("ignore")  # parse_expr compiles odd text such as "(1)(2)"; SymPy deprecations
    args = arguments()
    pairs = load(args.path)[:args.limit]
    derived = [(problem, ref, wrong_answer(ref)) for problem, ref in pairs]
    wrong = [(problem, bad) for problem, _, bad in derived if bad is not None]
    started = time.perf_counter()
    with Pool(args.jobs) as pool:
        ours_right = pool.map(run_one, [(p, a, args.timeout) for p, a in pairs], chunksize=8)
        ours_wrong = pool.map(run_one, [(p, a, args.timeout) for p, a in wrong], chunksize=8)
    print(f"{args.path.name}: {len(pairs)} problems, our checks took {time.perf_counter() - started:.0f} s")
    theirs_right = theirs_wrong = None
    if args.grader:  # math_equal(answer, reference): each reference against itself, then the wrong answers
        theirs_right = reference_verdicts([(a, a) for _, a in pairs], args.grader, args.grader_python,
                                          args.timeout)
        theirs_wrong = reference_verdicts([(bad, ref) for _, ref, bad in derived if bad is not None],
                                          args.grader, args.grader_python, args.timeout)
    right = report("correct answers", ours_right, theirs_right, expect_hold=True)
    bad = report("wrong answers", ours_wrong, theirs_wrong, expect_hold=False)
    print(f"  correct answers called 'fails': {right['wrong_verdicts']} (must be 0); "
          f"wrong answers called 'holds': {bad['wrong_verdicts']}")
    if args.grader:
        agree, both = right["agree"] + bad["agree"], right["both"] + bad["both"]
        print(f"  agreement with math_equal where both decide: {agree}/{both} ({100 * agree / max(both, 1):.1f}%)")
    show(pairs, wrong, (ours_right, ours_wrong), (theirs_right, theirs_wrong), args.show)


def show(pairs: list, wrong: list, ours: tuple, theirs: tuple, limit: int) -> None:
    """The cases to read by hand: each 'fails' on a reference is either our bug or the reference's."""
    _show("correct answer called fails", pairs, ours[0], lambda v, _: v[0] == "fails", limit)
    _show("wrong answer called holds", wrong, ours[1], lambda v, _: v[0] == "holds", limit)
    if theirs[0] is not None:
        differ = lambda v, t: v[0] in ("holds", "fails") and t is not None and (v[0] == "holds") != t  # noqa: E731
        _show("math_equal disagrees, correct answer", pairs, ours[0], differ, limit, theirs[0])
        _show("math_equal disagrees, wrong answer", wrong, ours[1], differ, limit, theirs[1])


def _show(title: str, pairs: list, verdicts: list, chosen, limit: int, reference: list | None = None) -> None:
    reference = reference or [None] * len(pairs)
    shown = [(p, a, v) for (p, a), v, theirs in zip(pairs, verdicts, reference) if chosen(v, theirs)][:limit]
    for problem, answer, (_, kind, detail) in shown:
        print(f"\n[{title}] ({kind}) {problem[:300]!r}\n  answer: {answer!r}\n  {detail[:300]}")


if __name__ == "__main__":
    main()
