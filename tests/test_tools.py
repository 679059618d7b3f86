"""Tool calling: both call formats read back, bad calls explained to the model instead of run,
results capped and injections flagged, the loop's step limit, the real templates' prompts, and
the demo's worked examples and API. Model turns here are scripted: a random-weight model
rarely writes a valid call, so the parser and the loop are fed what a trained one writes."""

import json

import pytest
from conftest import drained

from qwenlab.demos.tools import run_agent, steps, transcript
from qwenlab.demos.tools.box import TOOLS, calculate
from qwenlab.demos.tools.examples import EXAMPLES
from qwenlab.engines.stream import iterate
from qwenlab.tools import RESULT_CAP, Tool, agent, check, read_calls, run

HERMES = '<tool_call>\n{"name": "convert_units", "arguments": {"value": 2, "from_unit": "GiB", ' \
         '"to_unit": "MB"}}\n</tool_call>'
XML = ("Let me convert.\n\n<tool_call>\n<function=convert_units>\n<parameter=value>\n2\n"
       "</parameter>\n<parameter=from_unit>\nGiB\n</parameter>\n<parameter=to_unit>\nMB\n"
       "</parameter>\n</function>\n</tool_call>")


@pytest.mark.parametrize("output", [HERMES, XML], ids=["hermes-json", "qwen3.5-xml"])
def test_both_formats_read_back_to_the_same_checked_call(output):
    _, calls = read_calls(output)
    call = check(calls[0], TOOLS)
    assert (call.name, call.arguments, call.problem) == (
        "convert_units", {"value": 2, "from_unit": "GiB", "to_unit": "MB"}, "")
    assert run(call, TOOLS) == "2 GiB = 2147.48 MB"


def test_the_text_before_a_call_is_kept_and_answers_without_calls_pass_through():
    assert read_calls(XML)[0] == "Let me convert."
    assert read_calls("Paris is the capital.") == ("Paris is the capital.", [])


@pytest.mark.parametrize("output, problem", [
    ('<tool_call>\n{"name": "calculate", "arguments": {"expression": "1+1"</tool_call>',
     "not valid JSON"),
    ('<tool_call>\n{"arguments": {}}\n</tool_call>', 'needs a "name"'),
    ('<tool_call>\n{"name": "rm_rf", "arguments": {}}\n</tool_call>', "no tool named 'rm_rf'"),
    ('<tool_call>\n{"name": "convert_units", "arguments": {"value": "lots", "from_unit": "km", '
     '"to_unit": "mi"}}\n</tool_call>', "value: 'lots' is not of type 'number'"),
    ('<tool_call>\n<function=convert_units>\n<parameter=value>\n3\n</parameter>\n</function>\n'
     '</tool_call>', "'from_unit' is a required property"),
    ('<tool_call>\n{"name": "today", "arguments": {"shell": "ls"}}\n</tool_call>',
     "Additional properties are not allowed"),
])
def test_a_bad_call_is_not_run_and_the_model_is_told_why(output, problem):
    call = check(read_calls(output)[1][0], TOOLS)
    assert problem in call.problem
    assert run(call, TOOLS).startswith("Error: ") and problem in run(call, TOOLS)


def test_a_failing_tool_becomes_a_message_and_a_huge_result_is_capped():
    def explode():
        raise RuntimeError("disk on fire")

    def megabyte():
        return "x" * 1_000_000

    tools = {"explode": Tool("explode", "", {"type": "object"}, explode),
             "megabyte": Tool("megabyte", "", {"type": "object"}, megabyte)}
    assert run(check(read_calls('<tool_call>{"name": "explode", "arguments": {}}</tool_call>')[1][0],
                     tools), tools) == "Error: explode failed: disk on fire"
    big = run(check(read_calls('<tool_call>{"name": "megabyte"}</tool_call>')[1][0], tools), tools)
    assert len(big) < RESULT_CAP + 100 and big.endswith("[cut: 996,000 more characters]")


@pytest.mark.parametrize("expression, value", [("0.15 * 2340", "351"), ("2^10", "1024"),
                                               ("sqrt(2)", "1.4142135623731"), ("10%", "0.1")])
def test_the_calculator_computes(expression, value):
    assert calculate(expression) == value


@pytest.mark.parametrize("expression", ['__import__("os").system("ls")', "9**9**9",
                                        "factorial(100000)", "exp(exp(exp(100)))", "x + 1",
                                        "1" * 300, "open('f')", "1/0"])
def test_the_calculator_refuses_what_is_not_small_arithmetic_at_once(expression):
    with pytest.raises(ValueError):
        calculate(expression)


def scripted(*turns):
    queue = list(turns)

    async def turn(messages):
        yield queue.pop(0) if queue else "Done."
    return turn


def test_the_loop_runs_calls_sends_results_back_and_answers():
    seen = []

    async def turn(messages):
        seen.append(messages)
        yield XML if len(seen) == 1 else "2 GiB is 2147.48 MB."

    done = list(iterate(agent(turn, "How many MB is 2 GiB?", TOOLS)))
    assert [s.kind for s in done if s.kind != "writing"] == ["model", "call", "result", "model",
                                                             "answer"]
    second = seen[1]  # what the model read on its second turn: its call, then the result
    assert second[1]["role"] == "assistant" and second[1]["tool_calls"][0]["function"] == {
        "name": "convert_units", "arguments": {"value": 2, "from_unit": "GiB", "to_unit": "MB"}}
    assert second[2] == {"role": "tool", "content": "2 GiB = 2147.48 MB"}


def test_a_loop_that_never_ends_is_ended_by_the_step_limit():
    async def forever(messages):
        yield '<tool_call>{"name": "today", "arguments": {}}</tool_call>'

    done = list(iterate(agent(forever, "What day is it?", TOOLS, max_steps=3)))
    assert sum(s.kind == "model" for s in done) == 3
    assert done[-1].kind == "limit" and "3 model turns" in done[-1].text


def test_an_injected_order_in_a_result_is_flagged_and_sent_as_data():
    done = list(iterate(agent(scripted(
        '<tool_call>{"name": "read_note", "arguments": {"name": "model-review"}}</tool_call>'),
        "What does the review say?", TOOLS)))
    result = next(s for s in done if s.kind == "result")
    assert result.flags == ["instructions"] and "IGNORE YOUR PREVIOUS INSTRUCTIONS" in result.text
    assert "prompt injection" in transcript(done, "Live model")


@pytest.mark.model
@pytest.mark.parametrize("key, asks_for", [("qwen3-0.6b", '{"name": <function-name>'),
                                           ("qwen3.5-0.8b", "<function=example_function_name>")])
def test_each_template_writes_the_schemas_and_asks_for_its_own_format(tiny_env, key, asks_for):
    from qwenlab.demos.tools import prompt_for

    prompt = prompt_for(key, [{"role": "user", "content": "2 GiB in MB?"}], ["convert_units"])
    assert json.dumps(TOOLS["convert_units"].schema()["function"]["parameters"]) in prompt or \
        '"convert_units"' in prompt
    assert asks_for in prompt and prompt.rstrip().endswith("</think>")


@pytest.mark.model
def test_a_tool_result_goes_back_through_the_real_template(tiny_env):
    """The loop's messages render with Qwen3.5's template: the call as XML in the assistant
    turn, the result inside <tool_response> in a user turn."""
    from qwenlab.demos.tools import prompt_for

    seen = []

    async def turn(messages):
        seen.append([dict(m) for m in messages])
        yield XML if len(seen) == 1 else "2147.48 MB."

    list(iterate(agent(turn, "How many MB is 2 GiB?", TOOLS)))
    prompt = prompt_for("qwen3.5-0.8b", seen[1], ["convert_units"])
    assert "<function=convert_units>\n<parameter=value>\n2\n</parameter>" in prompt
    assert "<tool_response>\n2 GiB = 2147.48 MB\n</tool_response>" in prompt


@pytest.mark.model
@pytest.mark.parametrize("example", list(EXAMPLES))
def test_the_worked_examples_run_through_the_real_parser_and_tools(tiny_env, example):
    text = list(drained(run_agent(None, example=example)))[-1]
    assert text.startswith("> Worked example: the model's turns below were written by hand")
    assert "✅ **Answer**" in text and "<|im_start|>system\n# Tools" in text
    if example == "wrong-tool":
        assert "❌ Not run: There is no tool named 'convert'" in text and "2147.48 MB" in text
    if example == "trip":
        assert "351 km = 218.101 mi" in text


@pytest.mark.model
def test_a_live_run_on_a_tiny_model_says_when_no_tool_was_called(pool):
    text = list(drained(run_agent(pool, question="What is 2+2?", mode="live",
                                  model="qwen3.5-0.8b", max_new_tokens="8")))[-1]
    assert "🤖 Model, turn 1" in text
    assert "✅ **Answer**" in text or "⏹" in text or "🔧" in text


@pytest.mark.model
def test_unknown_tools_and_empty_questions_are_clear_errors(tiny_env):
    import gradio as gr

    with pytest.raises(gr.Error, match="no tool named"):
        list(drained(steps(None, "Hi", ["shell"], "qwen3.5-0.8b", "Live model", "trip")))
    with pytest.raises(gr.Error, match="Type a question"):
        list(drained(steps(None, "  ", ["today"], "qwen3.5-0.8b", "Live model", "trip")))
    with pytest.raises(gr.Error, match="keep it under"):
        list(drained(steps(None, "x" * 200_000, ["today"], "qwen3.5-0.8b", "Live model",
                           "trip")))


@pytest.mark.app
def test_tools_run_is_an_api(client):
    text = client.predict("", ["calculate", "convert_units"], "qwen3.5-0.8b", "Worked example",
                          "trip", 4, 64, api_name="/tools_run")
    assert "351 km = 218.101 mi" in text and "written by hand" in text
