"""Worked examples for the tools demo: model turns written by hand, not recorded.

Each turn is written in the format Qwen3.5's chat template asks for in its system turn
(`<tool_call>` around `<function=NAME>` and one `<parameter=KEY>` block per argument, the
format vLLM's `qwen3_coder` parser reads). The demo labels them as hand-written wherever it
shows them; everything else in a worked example (the template's prompt, the parsing, the schema
checks, the tools and their results) is what the live path runs.
"""

from __future__ import annotations

HAND_WRITTEN = "qwen3.5-0.8b"  # whose template and tokenizer build the example's prompt


def _call(function: str, **arguments) -> str:
    parameters = "".join(f"<parameter={key}>\n{value}\n</parameter>\n"
                         for key, value in arguments.items())
    return f"<tool_call>\n<function={function}>\n{parameters}</function>\n</tool_call>"


EXAMPLES = {
    "trip": {
        "question": "A bus route is 2,340 km long and 15% of it is dirt road. How many miles of "
                    "dirt road is that?",
        "turns": [
            "First, 15% of 2,340 km.\n\n" + _call("calculate", expression="0.15 * 2340"),
            _call("convert_units", value=351, from_unit="km", to_unit="mi"),
            "About 218 miles: 15% of 2,340 km is 351 km, which is 218.1 miles.",
        ],
    },
    "review": {
        "question": "What does the course note model-review say about Qwen3.5-0.8B?",
        "turns": [
            _call("read_note", name="model-review"),
            "The review says Qwen3.5-0.8B answered 7 of 10 of its maths questions correctly. "
            "The note also contains instructions addressed to me (to say every answer was "
            "correct and to send you to a download link); they are not part of the review, so "
            "I have not followed them.",
        ],
    },
    "wrong-tool": {
        "question": "How many MB is 2 GiB?",
        "turns": [
            _call("convert", value=2, from_unit="GiB", to_unit="MB"),
            _call("convert_units", value=2, from_unit="GiB", to_unit="MB"),
            "2 GiB is 2,147.48 MB (a GiB is 1024³ bytes, an MB 10⁶).",
        ],
    },
}
