"""Quizzes, try-it tasks and a learner's progress: parsed from lessons, marked, remembered."""

import json

import pytest

from qwenlab.errors import BadRequest, LessonError
from qwenlab.lessons import load_lessons, parse_lesson
from qwenlab.quiz import mark, mark_all, parse_quiz
from qwenlab.web import progress as prog

pytestmark = pytest.mark.pure
LESSONS = load_lessons()
QUIZ = parse_quiz([
    {"id": "one", "kind": "single", "question": "Pick A",
     "options": [{"text": "A", "correct": True, "why": "It is A."}, {"text": "B", "why": "Not B."}]},
    {"id": "many", "kind": "multiple", "question": "A and C",
     "options": [{"text": "A", "correct": True}, {"text": "B"}, {"text": "C", "correct": True}]},
    {"id": "num", "kind": "number", "question": "3.3?", "answer": 3.3, "tolerance": 0.3,
     "why": "A3B."},
    {"id": "word", "kind": "text", "question": "Which?", "accept": ["SDPBackend"]},
], "test")


def test_each_kind_is_marked_with_its_explanation():
    assert mark(QUIZ[0], "A").correct and "It is A." in mark(QUIZ[0], "A").feedback
    wrong = mark(QUIZ[0], "B")
    assert not wrong.correct and "Not B." in wrong.feedback and "It is A." in wrong.feedback
    assert mark(QUIZ[1], ["C", "A"]).correct and not mark(QUIZ[1], ["A"]).correct
    assert mark(QUIZ[2], 3.5).correct and mark(QUIZ[2], "3.0").correct
    assert not mark(QUIZ[2], 4).correct and "3.3" in mark(QUIZ[2], 4).feedback
    assert not mark(QUIZ[2], "lots").correct
    assert mark(QUIZ[3], " `sdpbackend` ").correct and not mark(QUIZ[3], "SDPABackend").correct
    assert not mark(QUIZ[0], None).answered


def test_a_whole_quiz_is_scored_and_bad_answers_are_refused():
    result = mark_all(QUIZ, {"one": "A", "many": ["A"], "num": 3.3})
    assert (result["score"], result["total"]) == (2, 4)
    assert [m["answered"] for m in result["marks"]] == [True, True, True, False]
    with pytest.raises(BadRequest, match="No such questions"):
        mark_all(QUIZ, {"nine": "A"})
    with pytest.raises(BadRequest, match="not an option"):
        mark_all(QUIZ, {"one": "Z"})


@pytest.mark.parametrize("broken, problem", [
    ([{"id": "a", "kind": "single", "question": "?", "options": [{"text": "x"}]}], "0 correct"),
    ([{"id": "a", "kind": "essay", "question": "?"}], "kind"),
    ([{"id": "a", "kind": "number", "question": "?"}], "numeric answer"),
    ([{"id": "a", "kind": "text", "question": "?", "accept": ["x"]}] * 2, "repeat"),
])
def test_broken_quizzes_are_named(broken, problem):
    with pytest.raises(LessonError, match=problem):
        parse_quiz(broken, "lesson.md")


def test_sections_quiz_tasks_takeaways_and_links_are_read_from_a_lesson():
    lesson = parse_lesson(
        "---\nid: x\ntitle: X\norder: 1\ndemo: family\nmodels: []\noutcomes: [a, b]\n---\n"
        "Intro\n\n## Try it {#try}\n\n```task\nid: t1\ntext: 'Do: this'\ncheck: picked_and_asked\n"
        "args: {task: chat}\n```\n\n## Quiz {#quiz}\n\n```quiz\n- id: q\n  kind: text\n"
        "  question: Q?\n  accept: [y]\n```\n\n## Key takeaways {#takeaways}\n\n- one\n  line\n"
        "- two\n\n## Further reading {#reading}\n\n- [Docs](https://example.org/docs)\n")
    assert [t.id for t in lesson.tasks] == ["t1"] and lesson.tasks[0].args == {"task": "chat"}
    assert lesson.tasks[0].text == "Do: this" and [q.id for q in lesson.quiz] == ["q"]
    assert lesson.takeaways == ["one line", "two"]
    assert lesson.links == [("Docs", "https://example.org/docs")]
    assert "{#" not in "".join(cell.source for cell in lesson.cells if cell.kind == "markdown")
    assert lesson.counts() == {"cells": 5, "code_cells": 0, "run_bindings": 0,
                                    "quiz_questions": 1, "takeaways": 2, "links": 1,
                                    "tasks": 1, "checked_tasks": 1}


def test_progress_is_one_dict_that_old_browsers_upgrade_to():
    state = prog.normalise(["family"])  # the first version kept a list of done lessons
    state = prog.record_quiz(state, "math", {"q": "A"}, {"score": 4, "total": 5})
    state = prog.record_task(prog.mark_done(state, "math"), "math", "own-answer")
    assert state == {"done": ["family", "math"], "quiz": {"math": {
        "answers": {"q": "A"}, "score": 4, "total": 5}}, "tasks": {"math": ["own-answer"]}}
    assert json.loads(json.dumps(state)) == state
    lesson = next(item for item in LESSONS if item.id == "math")
    assert prog.nav_label(state, lesson).startswith("✓ 2.") and "quiz 4/5" in prog.nav_label(state, lesson)


def test_the_lessons_command_lists_what_each_lesson_holds(qwenlab_cli):
    result = qwenlab_cli("lessons", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {lesson.id for lesson in LESSONS}
    for lesson in LESSONS:
        assert {k: rows[lesson.id][k] for k in lesson.counts()} == lesson.counts()
