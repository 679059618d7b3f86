"""The math demo around the checker: the lesson's checked tasks, the language note, its cells'
Run buttons against the cells, and its messages in the learner's language.
The SymPy checker itself is tests/test_math_check.py."""

import ast
import inspect

import gradio as gr
import pytest
from conftest import drained

from qwenlab.demos.math import (
    CHECKS,
    MANY_LANGUAGES,
    MAX_NEW_TOKENS,
    RUNNERS,
    check_mine,
    foreign_letters,
    language_note,
    own_answer_holds,
    preset_sliders,
    solve,
    thinking_view,
)
from qwenlab.lessons import load_lessons

LESSON = next(lesson for lesson in load_lessons() if lesson.id == "math")
TASKS = {task.id: task for task in LESSON.tasks}
CUBIC = "Find the derivative of x^3 - 6x^2 + 9x + 1 and its critical points."


def _done(task_id: str, problem: str, mine: str) -> tuple[bool, str]:
    task = TASKS[task_id]
    return CHECKS[task.check].fn(problem, mine, **task.args)


@pytest.mark.pure
def test_the_own_answer_task_is_met_by_a_right_answer_to_the_exercise():
    done, message = _done("own-derivative", CUBIC, "3x^2 - 12x + 9, x = 1, 3")
    assert done and "SymPy agrees" in message
    assert _done("own-roots", "Solve 2x^2 - 8 = 0.", "x = -2, 2")[0]


@pytest.mark.pure
@pytest.mark.parametrize("problem,mine,says", [
    ("Solve x^2 - 5x + 6 = 0.", "x = 2, 3", "Problem"),              # another problem
    (CUBIC, "  ", "Your answer"),                                      # no answer yet
    (CUBIC, "3x^2 - 12x + 9, x = 1, 4", "does not agree"),             # a wrong point
    (CUBIC, "x = 1, 3", "derivative and critical points"),             # the derivative left out
])
def test_the_own_answer_task_says_what_is_missing(problem, mine, says):
    done, message = _done("own-derivative", problem, mine)
    assert not done and says in message


@pytest.mark.pure
def test_half_the_roots_is_not_done():
    done, message = own_answer_holds("Solve 2x^2 - 8 = 0.", "x = 2", contains="2x^2 - 8 = 0",
                                     kind="roots")
    assert not done and "x = 2" in message


@pytest.mark.pure
@pytest.mark.parametrize("problem,foreign", [
    ("Solve 2x^2 - 8 = 0.", False), ("解方程 2x^2 - 8 = 0", False), ("Résous 2x² - 8 = 0", False),
    ("Let α + β = π on ℝ.", False), ("समीकरण हल करें: 2x^2 - 8 = 0", True),
    ("حل کریں: 2x^2 - 8 = 0", True), ("ဖြေရှင်းပါ 2x^2 - 8 = 0", True), ("ਹੱਲ ਕਰੋ 2x^2 - 8 = 0", True),
])
def test_letters_qwen25_math_does_not_read(problem, foreign):
    assert foreign_letters(problem) is foreign


@pytest.mark.pure
def test_the_language_note_suggests_qwen3_only_for_qwen25_math():
    urdu = "حل کریں: 2x^2 - 8 = 0"
    assert MANY_LANGUAGES == "qwen3.5-0.8b" and MANY_LANGUAGES in language_note(urdu, "qwen2.5-math-1.5b")
    assert language_note(urdu, "qwen3-0.6b") == ""
    assert language_note("Solve 2x^2 - 8 = 0.", "qwen2.5-math-1.5b") == ""


@pytest.mark.pure
def test_messages_reach_the_learner_in_their_language(monkeypatch):
    from qwenlab.web import i18n
    from qwenlab.web.shell import keys

    fake = lambda lang: {} if lang == "en" else {key: "XX " + key for key in keys.message_keys()}  # noqa: E731
    monkeypatch.setattr(i18n, "table", fake)
    monkeypatch.setattr(i18n, "_patterns", lambda lang: [])
    assert language_note("حل کریں", "qwen2.5-math-1.5b", "ur").startswith("ℹ️ XX Qwen2.5-Math")
    with pytest.raises(gr.Error, match="XX Type your answer"):
        check_mine("Solve 2x^2 - 8 = 0.", " ", "ur")
    with pytest.raises(gr.Error, match="XX Type a question first"):
        check_mine(" ", "x = 2", "ur")


@pytest.mark.pure
def test_the_sliders_follow_the_chosen_models_preset():
    assert preset_sliders("qwen2.5-math-1.5b") == (0.0, 0.8, 20)      # greedy, as it ships
    assert preset_sliders("qwen2.5-math-1.5b", True) == (0.0, 0.8, 20)  # it cannot think
    assert preset_sliders("qwen3-0.6b", True) == (0.6, 0.95, 20)        # Qwen3's thinking preset
    assert preset_sliders("qwen3.5-0.8b") == (1.0, 1.0, 20)
    assert thinking_view("First, x^2 = 4.\nSo x = ±2.") == "💭\n\n> First, x^2 = 4.\n> So x = ±2."


@pytest.mark.pure
def test_the_run_buttons_use_the_cells_token_limit():
    bound = [cell.run for cell in LESSON.cells if cell.kind == "code" and cell.run
             and cell.run["runner"] == "math.solve"]
    cells = [cell.source for cell in LESSON.cells if cell.kind == "code" and "generate(" in cell.source]
    limits = {ast.literal_eval(kw.value) for source in cells for node in ast.walk(ast.parse(source))
              if isinstance(node, ast.Call) for kw in node.keywords if kw.arg == "max_new_tokens"}
    assert bound and limits == {MAX_NEW_TOKENS}
    assert all(int(run["max_new_tokens"]) == MAX_NEW_TOKENS for run in bound)
    default = inspect.signature(RUNNERS["solve"]).parameters["max_new_tokens"].default
    assert int(default) == MAX_NEW_TOKENS


@pytest.mark.model
def test_the_solve_runner_streams_the_answer_its_check_and_stats(pool):
    *_, last = drained(RUNNERS["solve"](pool, problem="Solve 2x^2 - 8 = 0.", max_new_tokens="24"))
    assert "tokens/s" in last and ("Not checked" in last or "SymPy" in last)


@pytest.mark.model
def test_a_general_model_thinks_first_when_asked(pool):
    """Qwen3 with Think first: the reasoning streams (quoted) before the answer; Qwen3.5 answers
    with its card's preset, presence penalty included."""
    shown = list(drained(solve(pool, "Solve 2x^2 - 8 = 0.", model="qwen3-0.6b", temperature=0.6,
                               top_p=0.95, top_k=20, max_new_tokens=24, think=True)))
    solution, _, _, stats = shown[-1]
    assert "qwen3-0.6b" in stats and "tokens/s" in stats
    assert solution.startswith("💭\n\n> ")  # random weights never close their thinking
    *_, (solution, _, _, stats) = drained(solve(pool, "Solve 2x^2 - 8 = 0.", model="qwen3.5-0.8b",
                                                temperature=1.0, top_p=1.0, top_k=20,
                                                max_new_tokens=8))
    assert "qwen3.5-0.8b" in stats
