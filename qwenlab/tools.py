"""Tool calling as Qwen's chat templates teach it: schemas in, calls out, results back.

The template writes the tools' JSON schemas into the system turn (`apply_chat_template(...,
tools=...)`) and tells the model how to call one. Qwen2.5, Qwen3 and Qwen3-2507 answer with a
JSON object between `<tool_call>` tags (the Hermes format; vLLM's `hermes` parser); Qwen3.5 and
Qwen3-Coder write XML, `<function=NAME>` with one `<parameter=KEY>` block per argument (vLLM's
`qwen3_coder` parser). `read_calls` reads both; a call that cannot be read, names no known tool,
or has arguments that do not fit the schema is not run: the model is told why, in a tool
message, and may try again. `agent` is the loop: ask, run each call, send the results back,
until the model answers without a call or the step limit ends it.

Nothing here knows about Gradio; the demo (qwenlab.demos.tools) chooses the tools.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

RESULT_CAP = 4000       # characters of a tool's result the model is sent
MAX_STEPS = 4           # model turns in one question, calls included

_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_FUNCTION = re.compile(r"<function=([^>\n]+)>(.*?)(?:</function>|$)", re.DOTALL)
_PARAMETER = re.compile(r"<parameter=([^>\n]+)>\n?(.*?)\n?(?:</parameter>|(?=<parameter=)|$)",
                        re.DOTALL)
# phrases of a prompt injection: text in a result that talks to the model instead of informing it
_INSTRUCTIONS = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions|rules|prompt|above)\b"
    r"|\byou are now\b|\bnew instructions\b|\bsystem prompt\b", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Tool:
    """One function the model may call: `parameters` is the JSON Schema of its arguments;
    `run(**arguments)` returns text (anything else is turned into JSON)."""

    name: str
    description: str
    parameters: dict
    run: Callable[..., object]

    def schema(self) -> dict:
        """The OpenAI-style function schema Qwen's templates and vLLM read."""
        return {"type": "function", "function": {"name": self.name,
                                                 "description": self.description,
                                                 "parameters": self.parameters}}


@dataclass(frozen=True)
class Call:
    """A call as the model wrote it: `problem` says why it cannot run, if it cannot."""

    name: str
    arguments: dict
    text: str
    problem: str = ""


def read_calls(text: str) -> tuple[str, list[Call]]:
    """(the text before the first call, the calls) in a model's answer, either format."""
    found = list(_CALL.finditer(text))
    if not found:
        return text, []
    return text[:found[0].start()].strip(), [_read(match[1].strip(), match[0]) for match in found]


def _read(body: str, text: str) -> Call:
    if body.startswith("<function="):
        function = _FUNCTION.match(body)
        arguments = {key.strip(): value for key, value in _PARAMETER.findall(function[2])}
        return Call(function[1].strip(), arguments, text)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        return Call("", {}, text, f"The call is not valid JSON ({exc.msg} at character "
                                  f"{exc.pos}). Write it as the system message shows.")
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return Call("", {}, text, 'The call needs a "name" and "arguments".')
    arguments = data.get("arguments", {})
    if isinstance(arguments, str):  # some models write the arguments as a JSON string
        try:
            arguments = json.loads(arguments or "{}")
        except json.JSONDecodeError:
            return Call(data["name"], {}, text, "The arguments are not valid JSON.")
    if not isinstance(arguments, dict):
        return Call(data["name"], {}, text, "The arguments must be an object.")
    return Call(data["name"], arguments, text)


def check(call: Call, tools: dict[str, Tool]) -> Call:
    """The call with its arguments typed by the schema (XML values arrive as text), or with a
    problem: no such tool, or arguments that do not fit."""
    if call.problem:
        return call
    tool = tools.get(call.name)
    if tool is None:
        return Call(call.name, call.arguments, call.text,
                    f"There is no tool named {call.name!r}. The tools are: "
                    f"{', '.join(sorted(tools))}.")
    import jsonschema

    arguments = _typed(call.arguments, tool.parameters)
    try:
        jsonschema.validate(arguments, tool.parameters)
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "the arguments"
        return Call(call.name, arguments, call.text,
                    f"The arguments of {call.name} do not fit its schema: {where}: {exc.message}")
    return Call(call.name, arguments, call.text)


def _typed(arguments: dict, schema: dict) -> dict:
    """Text values converted to the type the schema names, where they read as one (the XML
    format carries every value as text, as vLLM's qwen3_coder parser converts them)."""
    properties = schema.get("properties", {})
    typed = {}
    for key, value in arguments.items():
        kind = (properties.get(key) or {}).get("type")
        if isinstance(value, str) and kind in ("integer", "number", "boolean", "object", "array"):
            try:
                value = json.loads(value.strip().lower() if kind == "boolean" else value.strip())
            except json.JSONDecodeError:
                pass  # left as text: the schema check names the problem
        typed[key] = value
    return typed


def run(call: Call, tools: dict[str, Tool]) -> str:
    """What the model is sent back for a checked call: the result, capped at RESULT_CAP
    characters, or what went wrong. A failing tool never raises here."""
    if call.problem:
        return f"Error: {call.problem}"
    try:
        result = tools[call.name].run(**call.arguments)
    except Exception as exc:  # a tool's failure is the model's to read, not the server's
        return f"Error: {call.name} failed: {exc}"
    text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
    return capped(text)


def capped(text: str, limit: int = RESULT_CAP) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[cut: {len(text) - limit:,} more characters]"


def has_instructions(text: str) -> bool:
    """Whether a tool's result reads like instructions to the model (a prompt injection):
    shown to the learner as such; the model is sent it as data, inside <tool_response>."""
    return bool(_INSTRUCTIONS.search(text))


def assistant_message(before: str, calls: list[Call]) -> dict:
    """The model's turn as the templates render it back: its text and the calls it made."""
    return {"role": "assistant", "content": before,
            "tool_calls": [{"type": "function", "function": {"name": c.name or "unknown",
                                                             "arguments": c.arguments}}
                           for c in calls]}


@dataclass
class Step:
    """One thing that happened, in order: kind is prompt | status (loading, a place in line) |
    writing (a turn so far) | model (a whole turn) | call | result | answer | limit. `call` is
    set for call and result steps."""

    kind: str
    text: str
    call: Call | None = None
    flags: list[str] = field(default_factory=list)   # "instructions": a result that gives orders


# model_turn(messages) yields the answer so far as it grows (the last is the whole turn), and
# may yield Steps of its own (status) in between
ModelTurn = Callable[[list[dict]], AsyncIterator["str | Step"]]


async def agent(model_turn: ModelTurn, question: str, tools: dict[str, Tool],
                prompt_text: Callable[[list[dict]], str] | None = None,
                max_steps: int = MAX_STEPS) -> AsyncIterator[Step]:
    """Ask, run what the model calls, send the results back; at most `max_steps` model turns.

    model_turn(messages) streams the model's answer for a chat; prompt_text(messages), if
    given, returns the prompt the template builds for it (shown once, before the first turn)."""
    messages: list[dict] = [{"role": "user", "content": question}]
    if prompt_text is not None:
        yield Step("prompt", prompt_text(messages))
    for _ in range(max_steps):
        answer = ""
        async for item in model_turn(messages):
            if isinstance(item, Step):
                yield item
            else:
                answer = item
                yield Step("writing", answer)
        yield Step("model", answer)
        before, calls = read_calls(answer)
        if not calls:
            yield Step("answer", answer.strip())
            return
        calls = [check(call, tools) for call in calls]
        messages.append(assistant_message(before, calls))
        for call in calls:
            yield Step("call", call.text, call)
            result = run(call, tools)
            yield Step("result", result, call, ["instructions"] if has_instructions(result) else [])
            messages.append({"role": "tool", "content": result})
    yield Step("limit", f"Stopped after {max_steps} model turns without a final answer.")
