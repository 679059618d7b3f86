"""The code demo's prompt building and code-block extraction."""

import pytest

from demos.code import build_prompt, code_blocks

pytestmark = pytest.mark.pure


def test_structured_prompt_lists_task_requirements_examples_and_format():
    prompt = build_prompt("Return the median.", "Python", "- Raise on empty\n\n* No sorting in place",
                          "median([1, 2, 3]) == 2")
    assert prompt.startswith("Write Python code for this task.")
    assert "Task: Return the median." in prompt
    assert "Requirements:\n- Raise on empty\n- No sorting in place" in prompt
    assert "Examples:\nmedian([1, 2, 3]) == 2" in prompt
    assert prompt.endswith("edge cases.")


def test_prompt_without_extras_has_no_empty_sections():
    prompt = build_prompt("Say hi.", "Go")
    assert "Requirements" not in prompt and "Examples" not in prompt


def test_code_blocks_are_pulled_out_with_their_language():
    answer = "Here:\n```python\ndef f():\n    return 1\n```\nAnd a test:\n```\nassert f() == 1\n```\nDone."
    assert code_blocks(answer) == [("python", "def f():\n    return 1"), ("", "assert f() == 1")]


def test_a_block_still_streaming_is_shown_too():
    assert code_blocks("Sure.\n```ts\nconst x = 1;\nconst y") == [("ts", "const x = 1;\nconst y")]
    assert code_blocks("No code here.") == []
