"""A learner's progress, kept in their own browser (gr.BrowserState): which lessons they marked
done, their quiz answers and scores, and the try-it tasks the app saw them complete.

Plain functions over one JSON-able dict, so handlers stay small and tests need no browser.
Nothing is stored on the server. The first version stored a bare list of lesson ids; it is
read as {"done": that list}.
"""

from __future__ import annotations

STORAGE_KEY = "qwenlab-progress"


def empty() -> dict:
    return {"done": [], "quiz": {}, "tasks": {}}


def normalise(state) -> dict:
    """Whatever the browser sent (nothing, the old list, a dict) as a full progress dict."""
    if isinstance(state, list):
        return empty() | {"done": [str(x) for x in state]}
    if not isinstance(state, dict):
        return empty()
    return {"done": list(state.get("done") or []), "quiz": dict(state.get("quiz") or {}),
            "tasks": {k: list(v) for k, v in (state.get("tasks") or {}).items()}}


def mark_done(state, lesson: str) -> dict:
    state = normalise(state)
    state["done"] = sorted(set(state["done"]) | {lesson})
    return state


def record_quiz(state, lesson: str, answers: dict, result: dict) -> dict:
    state = normalise(state)
    state["quiz"][lesson] = {"answers": answers, "score": result["score"],
                             "total": result["total"]}
    return state


def record_task(state, lesson: str, task: str) -> dict:
    state = normalise(state)
    state["tasks"][lesson] = sorted(set(state["tasks"].get(lesson, [])) | {task})
    return state


def nav_label(state, lesson) -> str:
    """'✓ 2. Maths with Qwen2.5-Math · quiz 4/5' for the lesson list."""
    state = normalise(state)
    mark = "✓" if lesson.id in state["done"] else "○"
    quiz = state["quiz"].get(lesson.id)
    score = f" · quiz {quiz['score']}/{quiz['total']}" if quiz else ""
    return f"{mark} {lesson.order}. {lesson.title}{score}"
