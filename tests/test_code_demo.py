"""The code demo: prompt building, code-block extraction, the lesson's cells agreeing with their
Run buttons, and the check of the lesson's try-it tasks (pure, then on a tiny checkpoint)."""

import ast
import re

import pytest
from conftest import drained

from qwenlab.demos.code import (
    CELL_MODEL,
    RUNNERS,
    _lines,
    asked_for,
    build_prompt,
    code_blocks,
    generate,
    preset_sliders,
)
from qwenlab.lessons import load_lessons
from qwenlab.registry import get_model

LESSON = next(lesson for lesson in load_lessons() if lesson.id == "code")


@pytest.mark.pure
def test_structured_prompt_lists_task_requirements_examples_and_format():
    prompt = build_prompt("Return the median.", "Python", "- Raise on empty\n\n* No sorting in place",
                          "median([1, 2, 3]) == 2")
    assert prompt.startswith("Write Python code for this task.")
    assert "Task: Return the median." in prompt
    assert "Requirements:\n- Raise on empty\n- No sorting in place" in prompt
    assert "Examples:\nmedian([1, 2, 3]) == 2" in prompt
    assert prompt.endswith("edge cases.")


@pytest.mark.pure
def test_prompt_without_extras_has_no_empty_sections():
    prompt = build_prompt("Say hi.", "Go")
    assert "Requirements" not in prompt and "Examples" not in prompt


@pytest.mark.pure
def test_code_blocks_are_pulled_out_with_their_language():
    answer = "Here:\n```python\ndef f():\n    return 1\n```\nAnd a test:\n```\nassert f() == 1\n```\nDone."
    assert code_blocks(answer) == [("python", "def f():\n    return 1"), ("", "assert f() == 1")]


@pytest.mark.pure
def test_a_block_still_streaming_is_shown_too():
    assert code_blocks("Sure.\n```ts\nconst x = 1;\nconst y") == [("ts", "const x = 1;\nconst y")]
    assert code_blocks("No code here.") == []


# -- every cell asks what its Run button asks ------------------------------------------------------
def _run_cells():
    """(cell, the model id it loads) for each cell with a Run button; later cells reuse the model."""
    model_id, found = None, []
    for cell in (c for c in LESSON.cells if c.kind == "code"):
        model_id = (re.findall(r'model_id = "([^"]+)"', cell.source) or [model_id])[0]
        if cell.run:
            found.append((cell, model_id))
    return found


def _assigned(source: str, name: str) -> str:
    return next(node.value.value for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Assign) and node.targets[0].id == name)


@pytest.mark.pure
@pytest.mark.parametrize("index", range(3))
def test_each_cell_sends_what_its_run_button_sends(index):
    cell, model_id = _run_cells()[index]
    run = cell.run
    assert run["runner"] == "code.generate" and set(run) <= {"runner", "task", "language", "constraints",
                                                             "examples", "model", "max_new_tokens"}
    prompt = build_prompt(run["task"], run.get("language", "Python"), _lines(run.get("constraints", "")),
                          _lines(run.get("examples", "")))
    assert _assigned(cell.source, "prompt") == prompt
    assert get_model(run.get("model", CELL_MODEL)).hub_id == model_id
    assert f"max_new_tokens={run['max_new_tokens']}," in cell.source
    sampling = get_model(run.get("model", CELL_MODEL)).preset()
    assert (f"do_sample=True, temperature={sampling.temperature}, top_p={sampling.top_p}, "
            f"top_k={sampling.top_k}, repetition_penalty={sampling.repetition_penalty}") in cell.source


@pytest.mark.pure
def test_the_binary_search_example_is_a_run_cell_with_examples():
    cells = [cell for cell, _ in _run_cells() if "binary_search" in cell.run["task"]]
    assert len(cells) == 1 and "examples" in cells[0].run
    assert len(_run_cells()) == 3


@pytest.mark.pure
def test_the_lesson_states_each_coder_checkpoints_own_penalty():
    """Coder-0.5B-Instruct ships repetition_penalty 1.05, Coder-1.5B-Instruct 1.1 (their
    generation_config.json files, copied into the registry): the quiz says both."""
    small, large = (get_model(key).preset().repetition_penalty
                    for key in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"))
    assert (small, large) == (1.05, 1.1)
    penalty = next(q for q in LESSON.quiz if q.id == "penalty")
    assert f"0.5B-Instruct's generation_config.json set to {small}" in penalty.prompt
    assert f"Coder-1.5B-Instruct's to {large}" in penalty.prompt


@pytest.mark.pure
def test_the_sliders_follow_the_chosen_models_preset():
    assert preset_sliders("qwen2.5-coder-0.5b") == (0.7, 0.8, 20)
    assert preset_sliders("qwen3.5-0.8b") == (1.0, 1.0, 20)


@pytest.mark.pure
def test_the_runner_defaults_are_the_cells_defaults():
    import inspect

    defaults = {name: p.default for name, p in inspect.signature(RUNNERS["generate"]).parameters.items()}
    assert defaults["model"] == CELL_MODEL and defaults["language"] == "Python"


# -- the try-it check reads what the learner asked, never how good the answer is -------------------
BINARY = {"task": "Write binarySearch(arr, target) as a binary search.", "language": "TypeScript",
          "model": "qwen2.5-coder-0.5b", "requirements": ["Return -1 when missing", "No recursion"],
          "finish_reason": "length"}
TS_TASK = {"topic": "binary search", "languages": ["TypeScript", "Rust"], "min_requirements": 2}


@pytest.mark.pure
@pytest.mark.parametrize("change, says", [
    ({"task": "Write a median function."}, "does not mention binary, search"),
    ({"language": "Python"}, "set *Language* to TypeScript or Rust"),
    ({"requirements": ["No recursion"]}, "at least 2"),
    ({"finish_reason": None}, "Let the answer finish"),
    ({"finish_reason": "cancelled"}, "Let the answer finish"),
])
def test_the_binary_search_task_names_what_is_missing(change, says):
    done, message = asked_for({**BINARY, **change}, **TS_TASK)
    assert not done and says in message


@pytest.mark.pure
def test_the_binary_search_task_is_met_by_the_request_not_the_answer():
    assert asked_for(None, **TS_TASK)[0] is False
    done, message = asked_for(BINARY, **TS_TASK)
    assert done and "token limit" in message
    assert asked_for({**BINARY, "language": "Rust", "finish_reason": "stop"}, **TS_TASK) == (
        True, "qwen2.5-coder-0.5b answered your Rust request with 2 requirement(s). Now review it.")


@pytest.mark.pure
def test_the_no_requirements_task_wants_an_empty_box():
    median = {**BINARY, "task": "Write a median function.", "language": "Python"}
    args = {"topic": "median", "languages": ["Python"], "max_requirements": 0}
    assert "clear the box" in asked_for(median, **args)[1]
    assert asked_for({**median, "requirements": []}, **args)[0]


@pytest.mark.pure
def test_the_lessons_tasks_name_this_check_with_arguments_it_takes():
    checked = [task for task in LESSON.tasks if task.check]
    assert {task.check for task in checked} == {"asked_for"} and len(checked) == 2
    for task in checked:
        assert asked_for(None, **task.args)[0] is False  # the arguments fit the signature


@pytest.mark.model
def test_a_random_weight_answer_meets_the_binary_search_task(pool):
    *_, (answer, code, stats, asked) = drained(generate(
        pool, "Write a binary search in TypeScript.", "TypeScript", "Return -1 if missing\n- No recursion",
        model="qwen2.5-coder-0.5b", max_new_tokens=16))
    assert "qwen2.5-coder-0.5b" in stats and asked["finish_reason"] in ("stop", "length")
    assert asked["requirements"] == ["Return -1 if missing", "No recursion"]
    assert asked_for(asked, **TS_TASK)[0]


@pytest.mark.model
def test_the_run_button_streams_and_says_which_model_ran(pool):
    *_, last = drained(RUNNERS["generate"](pool, task="Write a median function.",
                                           constraints="No sorting; Type hints",
                                           max_new_tokens="12"))
    assert "qwen2.5-coder-0.5b" in last and "tokens/s" in last
