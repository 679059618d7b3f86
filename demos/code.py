"""The code lesson's demo: Qwen2.5-Coder (or a general Qwen3 / Qwen3.5 model) writes code from a
structured request; the code blocks are pulled out into a highlighted editor with copy and
download. Generated code is shown, never run: the server executes no code, the learner's or the
model's.

`stream()` is the one path behind the tab, the `code` API and the lesson's Run buttons: it builds
the prompt from the request's parts and streams the answer. The tab also remembers the last
request as sent (`asked`), which the lesson's checked try-it tasks read.
Run alone: python -m qwenlab.demos.code
"""

from __future__ import annotations

import dataclasses
import re
from typing import AsyncIterator

import gradio as gr

from qwenlab.loading import resolve_device
from qwenlab.registry import get_model, models_with
from qwenlab.web.demo import VERBATIM, Check, Demo
from qwenlab.web.i18n import N_, t
from qwenlab.web.ui import (
    Learner,
    Update,
    answer_in,
    answer_stream,
    check_prompt,
    learner_error,
    learner_of,
    run_output,
    sampling_controls,
    sampling_from,
    who,
)

LANGUAGES = {  # shown name -> gr.Code highlighting (Gradio 6 has none for Go, Rust, Java)
    "Python": "python", "JavaScript": "javascript", "TypeScript": "typescript", "Go": None,
    "Rust": None, "Java": None, "C++": "cpp", "SQL": "sql", "Bash": "shell",
}
FENCE = re.compile(r"```([\w+#.-]*)[^\n]*\n(.*?)(?:```|$)", re.S)
CELL_MODEL = "qwen2.5-coder-0.5b"  # the model the lesson's cells load, whatever the device
FINISHED = ("stop", "length")      # a Final's finish_reason for an answer that ran to its end


def default_model(device: str | None = None) -> str:
    """0.5B on a CPU, 1.5B where there is a GPU (the learner can switch)."""
    return "qwen2.5-coder-1.5b" if (device or resolve_device()) == "cuda" else "qwen2.5-coder-0.5b"


def preset_sliders(model: str) -> tuple[float, float, int]:
    """The sampling sliders for a model: its documented preset (0 = greedy)."""
    preset = get_model(model).preset()
    return (preset.temperature if preset.do_sample else 0.0), preset.top_p, preset.top_k


def requirements(text: str | None) -> list[str]:
    """One requirement a line; list bullets and blank lines dropped."""
    return [line.strip(" -*\t") for line in (text or "").splitlines() if line.strip(" -*\t")]


def build_prompt(task: str, language: str, constraints: str = "", examples: str = "") -> str:
    """A structured request: task, language, requirements, examples, and the shape of the answer."""
    lines = [f"Write {language} code for this task.", "", f"Task: {task.strip()}"]
    rules = requirements(constraints)
    if rules:
        lines += ["", "Requirements:"] + [f"- {rule}" for rule in rules]
    if examples and examples.strip():
        lines += ["", "Examples:", examples.strip()]
    lines += ["", f"Answer with one complete {language} code block, then at most three sentences "
                  "on how it handles edge cases."]
    return "\n".join(lines)


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language tag, code) for each fenced block; a block still streaming counts too."""
    return [(lang.lower(), body.rstrip("\n")) for lang, body in FENCE.findall(text)]


async def stream(pool, task: str, language: str = "Python", constraints: str = "",
                 examples: str = "", model: str | None = None, temperature: float | None = None,
                 top_p: float | None = None, top_k: int | None = None, max_new_tokens: int = 768,
                 learner: str | None = None) -> AsyncIterator[Update]:
    """The request checked, turned into the structured prompt and answered at the model's
    documented sampling (the sliders override it)."""
    task = check_prompt(task, learner)
    if language not in LANGUAGES:
        raise learner_error(who(learner)[1], t(N_("Language is one of: {languages}"), who(learner)[1],
                         languages=", ".join(LANGUAGES)))
    spec = get_model(model or default_model(pool.device))
    preset = spec.preset()
    sampling = sampling_from(spec, preset.temperature if temperature is None else temperature,
                             top_p or preset.top_p, top_k or preset.top_k)
    # the sliders carry temperature, top-p and top-k; Qwen3.5's presence penalty comes along
    sampling = dataclasses.replace(sampling, presence_penalty=preset.presence_penalty)
    prompt = build_prompt(task, language, constraints, examples)
    async for update in answer_stream(pool, spec.key, [{"role": "user", "content": prompt}],
                                      sampling=sampling, max_new_tokens=int(max_new_tokens),
                                      learner=learner, system=answer_in(learner)):
        yield update


async def generate(pool, task: str, language: str = "Python", constraints: str = "",
                   examples: str = "", model: str | None = None, temperature: float | None = None,
                   top_p: float | None = None, top_k: int | None = None,
                   max_new_tokens: int = 768, learner: str | None = None):
    """Yields (answer markdown, extracted code, stats, what was asked) as the answer streams."""
    model = model or default_model(pool.device)
    asked = {"task": (task or "").strip(), "language": language, "model": model,
             "requirements": requirements(constraints), "finish_reason": None}
    async for update in stream(pool, task, language, constraints, examples, model, temperature,
                               top_p, top_k, max_new_tokens, learner):
        if update.loading:
            yield update.loading, "", "", asked
            continue
        code = "\n\n".join(body for _, body in code_blocks(update.answer))
        if update.final:
            asked = {**asked, "finish_reason": update.final.finish_reason}
        stats = t(update.final.summary(), who(learner)[1]) if update.final else ""
        yield update.answer, code, stats, asked


# -- the lesson's Run buttons: the cell's request, model and token limit -----------------------
async def run_generate(pool, task="", language="Python", constraints="", examples="",
                       model=CELL_MODEL, max_new_tokens="768", lang="en"):
    """A cell's binding writes its requirements and examples on one line, split at ';'."""
    async for update in stream(pool, task, language, _lines(constraints), _lines(examples), model,
                               max_new_tokens=int(max_new_tokens), learner=Learner(None, lang)):
        yield run_output(update, lang=lang)


def _lines(text: str) -> str:
    return "\n".join(part.strip() for part in text.split(";") if part.strip())


RUNNERS = {"generate": run_generate}


def build(pool) -> dict:
    gr.Markdown("Describe the task, pick the language and list your requirements: a structured "
                "request gets better code than a one-liner. The code is shown, never run here.")
    task = gr.Textbox("Write a function that returns the median of a list of numbers.", lines=3,
                      label="Task", elem_id="code-task")
    with gr.Row():
        language = gr.Dropdown(list(LANGUAGES), value="Python", label="Language",
                               elem_id="code-language")
        model = gr.Dropdown([s.key for s in models_with("code")], value=default_model(pool.device),
                            label="Model", elem_id="code-model")
    constraints = gr.Textbox("Raise ValueError on an empty list\nDo not sort the input in place\n"
                             "Include type hints and a docstring", lines=3,
                             label="Requirements (one per line)", elem_id="code-constraints")
    examples = gr.Textbox("median([3, 1, 2]) == 2\nmedian([4, 1, 3, 2]) == 2.5", lines=2,
                          label="Examples (optional)", elem_id="code-examples",
                          elem_classes=[VERBATIM])  # code
    spec = get_model(default_model(pool.device))
    temperature, top_p, top_k, tokens = sampling_controls(spec, 768, "code")
    with gr.Row():
        go = gr.Button("Generate", variant="primary", elem_id="code-go")
        stop = gr.Button("Stop")
    stats = gr.Markdown(elem_id="code-stats")
    with gr.Row(equal_height=False):
        answer = gr.Markdown(label="Answer", container=True, min_height=120, elem_id="code-answer")
        code = gr.Code(language="python", label="Code", interactive=False, buttons=["copy", "download"],
                       elem_id="code-editor")
    asked = gr.State(None)  # the last request as sent; a State stays out of the `code` API

    async def handler(task, language, constraints, examples, model, temperature, top_p, top_k,
                      tokens, request: gr.Request):
        async for shown in generate(pool, task, language, constraints, examples, model,
                                    temperature, top_p, top_k, tokens, learner_of(request)):
            yield shown

    event = go.click(handler, [task, language, constraints, examples, model, temperature, top_p,
                               top_k, tokens], [answer, code, stats, asked], api_name="code")
    language.change(lambda name: gr.Code(language=LANGUAGES[name]), language, code,
                    api_visibility="private")
    model.change(preset_sliders, model, [temperature, top_p, top_k], api_visibility="private")
    stop.click(None, cancels=[event])
    return {"task": task, "language": language, "constraints": constraints, "model": model,
            "asked": asked, "answer": answer}


# -- try-it tasks the app checks (lessons/en/05-code.md, "Try it") -----------------------------
def asked_for(asked, topic: str, languages: list[str], min_requirements: int = 0,
              max_requirements: int | None = None) -> tuple[bool, str]:
    """The learner's last request, as sent: its task names `topic`, it is in one of `languages`,
    it lists between min and max requirements, and its answer ran to the end (not stopped).
    What the model wrote is not judged: that is the learner's review."""
    if not asked:
        return False, N_("Fill in the request and press *Generate* first.")
    missing = [word for word in topic.lower().split() if word not in asked["task"].lower()]
    if missing:
        return False, N_("Your task should ask for the {topic}; it does not mention {missing}.").format(
            topic=topic, missing=", ".join(missing))
    if asked["language"] not in languages:
        return False, N_("You asked for {language}; set *Language* to {wanted}.").format(
            language=asked["language"], wanted=" or ".join(languages))
    count = len(asked["requirements"])
    if count < min_requirements:
        return False, N_("{count} requirement(s) listed; give at least {least}, one a line.").format(
            count=count, least=min_requirements)
    if max_requirements is not None and count > max_requirements:
        return False, N_("{count} requirement(s) listed; clear the box down to {most}.").format(
            count=count, most=max_requirements)
    if asked["finish_reason"] not in FINISHED:
        return False, N_("Let the answer finish (do not press *Stop*), then check again.")
    if asked["finish_reason"] == "length":
        done = N_("{model} answered your {language} request with {count} requirement(s). Now review "
                  "it. It stopped at the token limit: raise *Max new tokens* to see it whole.")
    else:
        done = N_("{model} answered your {language} request with {count} requirement(s). Now "
                  "review it.")
    return True, done.format(model=asked["model"], language=asked["language"], count=count)


CHECKS = {"asked_for": Check(("asked",), asked_for)}


DEMO = Demo(build=build, runners=RUNNERS, checks=CHECKS)
