"""Quizzes and try-it tasks as plain data, and the marking of a learner's quiz answers.

A lesson ends with a ```quiz block (YAML): questions of four kinds, `single` and `multiple`
choice (each option says why it is right or wrong), `number` (an answer and a tolerance) and
`text` (accepted answers, compared without case, spaces or backticks). `mark()` checks one
answer and says why; `mark_all()` scores a whole quiz (the `quiz_check` API and the page use it).
A ```task block describes a try-it task; `check`, when present, names a checker that the
lesson's demo offers (demos/<id> CHECKS) with its arguments. Nothing here knows of Gradio.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from qwenlab.errors import N_, BadRequest, LessonError

KINDS = ("single", "multiple", "number", "text")


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool = False
    why: str = ""


@dataclass(frozen=True)
class Question:
    id: str
    kind: str                          # single | multiple | number | text
    prompt: str
    options: tuple[Option, ...] = ()
    answer: float | None = None        # number
    tolerance: float = 0.0             # number: how far off still counts
    accept: tuple[str, ...] = ()       # text: accepted answers
    why: str = ""                      # shown after answering (number and text questions)

    def correct(self) -> Any:
        """The right answer in the shape a learner gives it (for parity tests and teachers)."""
        if self.kind == "single":
            return next(o.text for o in self.options if o.correct)
        if self.kind == "multiple":
            return sorted(o.text for o in self.options if o.correct)
        return self.answer if self.kind == "number" else self.accept[0]


@dataclass(frozen=True)
class Task:
    id: str
    text: str                          # what to do, in the lesson's language
    check: str | None = None           # a checker in the demo's CHECKS, or None (not checked)
    args: dict = field(default_factory=dict, hash=False)
    hint: str = ""


@dataclass(frozen=True)
class Mark:
    id: str
    correct: bool
    answered: bool
    feedback: str                      # markdown: why


def parse_quiz(data: Any, where: str) -> list[Question]:
    if not isinstance(data, list) or not data:
        raise LessonError(N_("{where}: a quiz block is a YAML list of questions"), where=where)
    questions = [_question(item, where) for item in data]
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise LessonError(N_("{where}: quiz question ids repeat: {ids}"), where=where, ids=str(ids))
    return questions


def _question(item: dict, where: str) -> Question:
    qid, kind = str(item.get("id", "")), item.get("kind", "single")
    if not qid or kind not in KINDS or not item.get("question"):
        raise LessonError(N_("{where}: each question needs an id, a question and a kind in "
                             "{kinds}"), where=where, kinds=str(KINDS))
    options = tuple(Option(str(o["text"]), bool(o.get("correct")), str(o.get("why", "")))
                    for o in item.get("options", []))
    right = sum(o.correct for o in options)
    if kind == "single" and right != 1 or kind == "multiple" and right < 1:
        raise LessonError(N_("{where}: question {question} ({kind}) has {count} correct options"),
                          where=where, question=qid, kind=kind, count=right)
    if kind == "number" and not isinstance(item.get("answer"), (int, float)):
        raise LessonError(N_("{where}: question {question} needs a numeric answer"), where=where,
                          question=qid)
    if kind == "text" and not item.get("accept"):
        raise LessonError(N_("{where}: question {question} needs accepted answers"), where=where,
                          question=qid)
    return Question(qid, kind, str(item["question"]), options, item.get("answer"),
                    float(item.get("tolerance", 0)), tuple(str(a) for a in item.get("accept", [])),
                    str(item.get("why", "")))


def parse_tasks(data: Any, where: str) -> list[Task]:
    items = data if isinstance(data, list) else [data]
    tasks = []
    for item in items:
        if not isinstance(item, dict) or not item.get("id") or not item.get("text"):
            raise LessonError(N_("{where}: a task needs an id and a text"), where=where)
        tasks.append(Task(str(item["id"]), str(item["text"]), item.get("check"),
                          dict(item.get("args") or {}), str(item.get("hint", ""))))
    return tasks


def mark(question: Question, given: Any, words: dict | None = None) -> Mark:
    """Is `given` right? The feedback explains the options chosen and the right ones."""
    words = {**WORDS, **(words or {})}
    if given in (None, "", []) or (isinstance(given, float) and math.isnan(given)):
        return Mark(question.id, False, False, words["unanswered"])
    if question.kind in ("single", "multiple"):
        chosen = {given} if question.kind == "single" else set(given)
        unknown = chosen - {o.text for o in question.options}
        if unknown:
            raise BadRequest(N_("{question}: not an option: {given}"), question=question.id,
                             given=str(sorted(unknown)))
        right = {o.text for o in question.options if o.correct}
        lines = [f"- {'✅' if o.correct else '❌'} **{o.text}**" + (f" — {o.why}" if o.why else "")
                 for o in question.options if o.text in chosen or o.correct]
        return Mark(question.id, chosen == right, True, "\n".join(lines))
    if question.kind == "number":
        try:
            value = float(str(given).replace(",", ""))
        except ValueError:
            return Mark(question.id, False, True, words["not_a_number"])
        ok = abs(value - question.answer) <= question.tolerance + 1e-9
    else:
        ok = _plain(str(given)) in {_plain(a) for a in question.accept}
    verdict = words["right"] if ok else words["wrong"].format(answer=question.correct())
    return Mark(question.id, ok, True, f"{verdict} {question.why}".strip())


def mark_all(questions: list[Question], answers: dict, words: dict | None = None) -> dict:
    """{"score", "total", "marks": [{"id", "correct", "answered", "feedback"}]}."""
    unknown = set(answers) - {q.id for q in questions}
    if unknown:
        raise BadRequest(N_("No such questions: {questions}"), questions=str(sorted(unknown)))
    marks = [mark(q, answers.get(q.id), words) for q in questions]
    return {"score": sum(m.correct for m in marks), "total": len(questions),
            "marks": [vars(m) for m in marks]}


def _plain(text: str) -> str:
    return re.sub(r"[\s`'\"]+", "", text).lower()


# What the marker says around the lesson's own explanations; a translated lesson's UI passes
# its own words (webui/i18n).
WORDS = {"unanswered": N_("Not answered yet."), "not_a_number": N_("Give a number."),
         "right": N_("✅ Right."), "wrong": N_("❌ Not quite: the answer is {answer}.")}
