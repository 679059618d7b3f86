"""The code lesson's demo: Qwen2.5-Coder writes code from a structured prompt; the code blocks
are pulled out into a highlighted editor with copy and download. Generated code is shown, never
run: the server executes no code.

`generate()` is the one function behind the tab, the `code` API and the lesson's Run buttons.
Run alone: python -m demos.code
"""

from __future__ import annotations

import re

import gradio as gr

from qwenlab.loading import resolve_device
from qwenlab.registry import get_model, models_with
from webui.ui import (
    answer_stream,
    check_prompt,
    learner_of,
    sampling_controls,
    sampling_from,
)

LANGUAGES = {  # shown name -> gr.Code highlighting (Gradio 6 has none for Go, Rust, Java)
    "Python": "python", "JavaScript": "javascript", "TypeScript": "typescript", "Go": None,
    "Rust": None, "Java": None, "C++": "cpp", "SQL": "sql", "Bash": "shell",
}
FENCE = re.compile(r"```([\w+#.-]*)[^\n]*\n(.*?)(?:```|$)", re.S)


def default_model(device: str | None = None) -> str:
    """0.5B on a CPU, 1.5B where there is a GPU (the learner can switch)."""
    return "qwen2.5-coder-1.5b" if (device or resolve_device()) == "cuda" else "qwen2.5-coder-0.5b"


def build_prompt(task: str, language: str, constraints: str = "", examples: str = "") -> str:
    """A structured request: task, language, requirements, examples, and the shape of the answer."""
    lines = [f"Write {language} code for this task.", "", f"Task: {task.strip()}"]
    rules = [line.strip(" -*\t") for line in (constraints or "").splitlines() if line.strip()]
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


def generate(pool, task: str, language: str = "Python", constraints: str = "", examples: str = "",
             model: str | None = None, temperature: float | None = None, top_p: float | None = None,
             top_k: int | None = None, max_new_tokens: int = 768, learner: str | None = None):
    """Yields (answer markdown, extracted code, stats) as the answer streams."""
    task = check_prompt(task)
    if language not in LANGUAGES:
        raise gr.Error(f"Language is one of: {', '.join(LANGUAGES)}")
    model = model or default_model(pool.device)
    spec = get_model(model)
    preset = spec.preset()
    sampling = sampling_from(spec, preset.temperature if temperature is None else temperature,
                             top_p or preset.top_p, top_k or preset.top_k)
    prompt = build_prompt(task, language, constraints, examples)
    for update in answer_stream(pool, model, [{"role": "user", "content": prompt}],
                                sampling=sampling, max_new_tokens=int(max_new_tokens),
                                learner=learner):
        if update.loading:
            yield update.loading, "", ""
            continue
        blocks = code_blocks(update.answer)
        code = "\n\n".join(body for _, body in blocks)
        yield update.answer, code, update.final.summary() if update.final else ""


def run_generate(pool, task="", language="Python", constraints="", max_new_tokens="512"):
    for answer, _code, stats in generate(pool, task, language, constraints.replace(";", "\n"),
                                         max_new_tokens=int(max_new_tokens)):
        yield answer + (f"\n\n`{stats}`" if stats else "")


RUNNERS = {"generate": run_generate}


def build(pool) -> None:
    gr.Markdown("Describe the task, pick the language and list your constraints: a structured "
                "request gets better code than a one-liner. The code is shown, never run here.")
    task = gr.Textbox("Write a function that returns the median of a list of numbers.", lines=3,
                      label="Task", elem_id="code-task")
    with gr.Row():
        language = gr.Dropdown(list(LANGUAGES), value="Python", label="Language")
        model = gr.Dropdown([s.key for s in models_with("code")], value=default_model(pool.device),
                            label="Model")
    constraints = gr.Textbox("Raise ValueError on an empty list\nDo not sort the input in place\n"
                             "Include type hints and a docstring", lines=3,
                             label="Requirements (one per line)", elem_id="code-constraints")
    examples = gr.Textbox("median([3, 1, 2]) == 2\nmedian([4, 1, 3, 2]) == 2.5", lines=2,
                          label="Examples (optional)")
    temperature, top_p, top_k, tokens = sampling_controls(get_model(default_model(pool.device)), 768)
    with gr.Row():
        go = gr.Button("Generate", variant="primary", elem_id="code-go")
        stop = gr.Button("Stop")
    stats = gr.Markdown(elem_id="code-stats")
    with gr.Row(equal_height=False):
        answer = gr.Markdown(label="Answer", container=True, min_height=120, elem_id="code-answer")
        code = gr.Code(language="python", label="Code", interactive=False, buttons=["copy", "download"],
                       elem_id="code-editor")

    def handler(task, language, constraints, examples, model, temperature, top_p, top_k, tokens,
                request: gr.Request):
        yield from generate(pool, task, language, constraints, examples, model, temperature,
                            top_p, top_k, tokens, learner_of(request))

    event = go.click(handler, [task, language, constraints, examples, model, temperature, top_p,
                               top_k, tokens], [answer, code, stats], api_name="code")
    language.change(lambda name: gr.Code(language=LANGUAGES[name]), language, code,
                    api_visibility="private")
    stop.click(None, cancels=[event])


if __name__ == "__main__":
    from webui.shell import serve_one

    serve_one("code", build)
