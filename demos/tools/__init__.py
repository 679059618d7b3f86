"""The tools lesson's demo: a question, a few safe tools, and every step of the agent loop shown
(the prompt the template built, each model turn, each call, each result, the answer).

Live, a Qwen model answers (on the tiny random-weight test models it rarely writes a valid call,
and the transcript says so when it answered without a tool). A worked example replays model
turns written by hand in the format Qwen3.5's template asks for, labelled as such, through the
same template, parser, checks and tools, so the mechanics can be stepped through without weights.
RUNNERS serve the lesson's Run buttons; CHECKS read the runs of this session.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import gradio as gr

from qwenlab.counting import load_tokenizer
from qwenlab.demos.tools.box import TOOLS
from qwenlab.demos.tools.examples import EXAMPLES, HAND_WRITTEN
from qwenlab.errors import QwenLabError
from qwenlab.registry import get_model
from qwenlab.tools import MAX_STEPS, Step, agent
from qwenlab.web.demo import VERBATIM, Check, Demo
from qwenlab.web.i18n import N_, t
from qwenlab.web.ui import Learner, answer_stream, check_prompt, learner_error, learner_of, who

MODELS = ["qwen3.5-0.8b", "qwen3.5-2b", "qwen3-0.6b", "qwen3-1.7b", "qwen3-4b-instruct-2507"]
MODES = (N_("Worked example"), N_("Live model"))
FENCE = "~~~~"


def prompt_for(model: str, messages: list[dict], tools: list[str]) -> str:
    """The prompt `model`'s chat template builds for this chat and these tools."""
    spec = get_model(model)
    extra = {"enable_thinking": False} if spec.has_thinking else {}
    return load_tokenizer(spec).apply_chat_template(
        messages, tools=[TOOLS[name].schema() for name in tools] or None, tokenize=False,
        add_generation_prompt=True, **extra)


def _live_turn(pool, model: str, tools: list[str], max_new_tokens: int, learner):
    """One model turn through the pool: loading and waiting shown, then the whole answer."""
    schemas = [TOOLS[name].schema() for name in tools] or None

    async def turn(messages: list[dict]) -> AsyncIterator[str | Step]:
        async for update in answer_stream(pool, model, messages, tools=schemas,
                                          max_new_tokens=max_new_tokens, learner=learner):
            if update.loading:
                yield Step("status", update.loading)
            else:
                yield update.answer
    return turn


def _replayed_turn(example: str):
    """The worked example's model turns, one per call, as written in EXAMPLES."""
    turns = iter(EXAMPLES[example]["turns"])

    async def turn(messages: list[dict]) -> AsyncIterator[str]:
        yield next(turns, "")
    return turn


async def steps(pool, question: str, tools: list[str], model: str, mode: str, example: str,
                max_steps: int = MAX_STEPS, max_new_tokens: int = 256,
                learner=None) -> AsyncIterator[Step]:
    """The agent loop for the demo's settings: a live model or the worked example."""
    lang = who(learner)[1]
    unknown = [name for name in tools if name not in TOOLS]
    if unknown:
        raise learner_error(lang, t(N_("There is no tool named {name}; the tools are {tools}."), lang,
                         name=", ".join(unknown), tools=", ".join(TOOLS)))
    if mode == MODES[0]:
        if example not in EXAMPLES:
            raise learner_error(lang, t(N_("Pick one of the worked examples: {names}."), lang,
                             names=", ".join(EXAMPLES)))
        question, model = EXAMPLES[example]["question"], HAND_WRITTEN
        tools, turn = list(TOOLS), _replayed_turn(example)
    else:
        question = check_prompt(question, learner)
        turn = _live_turn(pool, model, tools, int(max_new_tokens), learner)

    def show_prompt(messages):
        try:
            return prompt_for(model, messages, tools)
        except QwenLabError as exc:  # the tokenizer could not be fetched: say so, go on
            return t(N_("(The prompt cannot be shown: {problem})"), lang, problem=str(exc))

    async for step in agent(turn, question, {name: TOOLS[name] for name in tools}, show_prompt,
                            max_steps=int(max_steps)):
        yield step


def transcript(done: list[Step], mode: str, lang: str = "en") -> str:
    """The steps so far as the learner reads them."""
    out = []
    if mode == MODES[0]:
        out.append("> " + t(N_("Worked example: the model's turns below were written by hand in "
                               "the format Qwen3.5's chat template asks for; they are not a "
                               "recording of a real model. The prompt, the parsing, the checks, "
                               "the tools and their results are real."), lang))
    last = done[-1] if done else None
    shown = [s for s in done if s.kind not in ("status", "writing") or s is last]
    turn = 0
    for step in shown:
        if step.kind == "prompt":
            out.append(f"**{t(N_('The prompt the template built'), lang)}**\n\n"
                       f"{FENCE}text\n{step.text}\n{FENCE}")
        elif step.kind == "status":
            out.append(step.text)
        elif step.kind in ("writing", "model"):
            turn += 1
            out.append(f"**🤖 {t(N_('Model, turn {number}'), lang, number=turn)}**\n\n"
                       f"{FENCE}text\n{step.text or '…'}\n{FENCE}")
        elif step.kind == "call":
            out.append(_call_line(step, lang))
        elif step.kind == "result":
            out.append(f"📦 **{t(N_('Result sent back'), lang)}**\n\n{FENCE}text\n{step.text}\n{FENCE}")
            if "instructions" in step.flags:
                out.append("⚠️ " + t(N_("This result gives the model orders: a prompt injection "
                                        "(lesson 9). It goes back to the model as data, inside "
                                        "<tool_response>; a well-behaved model reports it and does "
                                        "not obey, and the app never acts on it."), lang))
        elif step.kind == "answer":
            out.append(f"✅ **{t(N_('Answer'), lang)}**\n\n{step.text}")
            if not any(s.kind == "call" for s in done) and mode != MODES[0]:
                out.append("ℹ️ " + t(N_("The model answered without calling a tool. Small and "
                                        "random-weight models often do; the worked example shows "
                                        "a run with calls."), lang))
        elif step.kind == "limit":
            out.append("⏹ " + t(N_("Stopped after {count} model turns without a final answer: "
                                  "the step limit ends a loop that would not."), lang,
                                 count=sum(s.kind == "model" for s in done)))
    return "\n\n".join(out)


def _call_line(step: Step, lang: str) -> str:
    call = step.call
    if call.problem:
        return "❌ " + t(N_("Not run: {problem} The model is told so and may try again."), lang,
                         problem=call.problem)
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    return f"🔧 **{t(N_('Call'), lang)}** `{call.name}` `{arguments}`"


def record(done: list[Step], mode: str) -> dict:
    """What one run did, for the try-it checks."""
    calls = [s.call for s in done if s.kind == "call"]
    return {"mode": "example" if mode == MODES[0] else "live",
            "ran": sum(not c.problem for c in calls), "refused": sum(bool(c.problem) for c in calls),
            "flagged": sum("instructions" in s.flags for s in done),
            "answered": any(s.kind == "answer" for s in done),
            "limit": any(s.kind == "limit" for s in done)}


async def run_agent(pool, question="", tools="calculate,convert_units", model="qwen3.5-0.8b",
                    mode="example", example="trip", max_steps=str(MAX_STEPS),
                    max_new_tokens="256", lang="en"):
    """The lesson's Run buttons: the loop, shown as the tab shows it."""
    shown = MODES[0] if mode == "example" else MODES[1]
    done = []
    async for step in steps(pool, question, [n for n in tools.split(",") if n], model, shown,
                            example, int(max_steps), int(max_new_tokens), Learner(None, lang)):
        done.append(step)
        yield transcript(done, shown, lang)


def run_prompt(pool, question="How far is 26.2 miles in km?", tools="convert_units",
               model="qwen3.5-0.8b", lang="en"):
    messages = [{"role": "user", "content": question}]
    yield f"{FENCE}text\n{prompt_for(model, messages, [n for n in tools.split(',') if n])}\n{FENCE}"


def run_parse(pool, output="", lang="en"):
    from qwenlab.tools import check, read_calls

    before, calls = read_calls(output)
    lines = [t(N_("text before the calls: {before}"), lang, before=repr(before))] if before else []
    for call in (check(c, TOOLS) for c in calls):
        verdict = (t(N_("refused: {problem}"), lang, problem=call.problem) if call.problem
                   else t(N_("runs"), lang))
        lines.append(f"{call.name or '?'} {json.dumps(call.arguments)}  -> {verdict}")
    yield "\n".join(lines) or t(N_("no tool call: the model answered in text"), lang)


RUNNERS = {"agent": run_agent, "prompt": run_prompt, "parse": run_parse}


def build(pool) -> dict:
    gr.Markdown("Pick tools, ask, and watch each step: the prompt the template builds, the "
                "model's call, the tool's result, the answer. The tools are safe: arithmetic, "
                "unit conversion, this app's model list, today's date and the course notes.")
    with gr.Row():
        mode = gr.Radio(list(MODES), value=MODES[0], label="Run", elem_id="tools-mode")
        example = gr.Dropdown(list(EXAMPLES), value="trip", label="Worked example",
                              elem_id="tools-example")
        model = gr.Dropdown(MODELS, value=MODELS[0], label="Model", elem_id="tools-model")
    picked = gr.CheckboxGroup(list(TOOLS), value=list(TOOLS), label="Tools",
                              elem_id="tools-picked")
    question = gr.Textbox(EXAMPLES["trip"]["question"], label="Question", lines=2,
                          elem_id="tools-question", elem_classes=[VERBATIM],
                          info="A worked example's model turns are written by hand in English, "
                               "so its question stays in English; a live model takes any "
                               "language.")
    with gr.Row():
        max_steps = gr.Slider(1, 8, value=MAX_STEPS, step=1, label="Step limit (model turns)")
        tokens = gr.Slider(32, 1024, value=256, step=32, label="Max new tokens per turn")
    with gr.Row():
        go = gr.Button("Ask", variant="primary", elem_id="tools-go")
        stop = gr.Button("Stop")
    shown = gr.Markdown(elem_id="tools-transcript")
    runs = gr.State([])

    async def respond(question, picked, model, mode, example, max_steps, tokens, runs,
                      request: gr.Request):
        learner = learner_of(request)
        done: list[Step] = []
        async for step in steps(pool, question, picked, model, mode, example, max_steps, tokens,
                                learner):
            done.append(step)
            yield transcript(done, mode, learner.lang), runs
        yield transcript(done, mode, learner.lang), list(runs) + [record(done, mode)]

    def example_question(example, request: gr.Request):
        return EXAMPLES.get(example, {}).get("question", "")

    event = go.click(respond, [question, picked, model, mode, example, max_steps, tokens, runs],
                     [shown, runs], api_name="tools_run")
    example.change(example_question, example, question, api_visibility="private")
    stop.click(None, cancels=[event])
    return {"runs": runs}


# -- try-it tasks the app checks (lessons/en/10-tools.md, "Try it") ----------------------------
def saw_injection(runs) -> tuple[bool, str]:
    flagged = [run for run in runs or [] if run["flagged"]]
    if flagged:
        return True, N_("You saw a tool result that gives the model orders, flagged and sent "
                        "back as data.")
    return False, N_("Run the worked example *review* and read the result of read_note.")


def saw_a_refused_call(runs) -> tuple[bool, str]:
    fixed = [run for run in runs or [] if run["refused"] and run["ran"] and run["answered"]]
    if fixed:
        return True, N_("A call was refused, the model was told why, and its next call ran.")
    return False, N_("Run the worked example *wrong-tool*: watch the refused call and the retry.")


def asked_live(runs) -> tuple[bool, str]:
    live = [run for run in runs or [] if run["mode"] == "live"]
    if not live:
        return False, N_("Switch *Run* to *Live model* and ask a question.")
    run = live[-1]
    if run["ran"]:
        return True, N_("The model called a tool and used its result.")
    return True, N_("The model answered without a tool this time; the transcript shows what it "
                    "wrote instead.")


CHECKS = {"saw_injection": Check(("runs",), saw_injection),
          "saw_a_refused_call": Check(("runs",), saw_a_refused_call),
          "asked_live": Check(("runs",), asked_live)}


DEMO = Demo(build=build, runners=RUNNERS, checks=CHECKS)
