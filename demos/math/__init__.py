"""The math lesson's demo: Qwen2.5-Math solves step by step; the final \\boxed{} answer is pulled
out and, where SymPy can, checked against the problem, showing the check it ran.

`solve()` is the one function behind the tab, the `math` API and the lesson's Run buttons.
Run alone: python -m demos.math
"""

from __future__ import annotations

import gradio as gr

from qwenlab.registry import MATH_COT_PROMPT, MATH_TIR_PROMPT, get_model, models_with
from webui.ui import (
    answer_stream,
    check_prompt,
    learner_of,
    sampling_controls,
    sampling_from,
)

DEFAULT_MODEL = "qwen2.5-math-1.5b"
PROMPTS = {"Chain of thought (CoT)": MATH_COT_PROMPT, "Tool-integrated (TIR)": MATH_TIR_PROMPT}
LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "\\[", "right": "\\]", "display": True},
         {"left": "\\(", "right": "\\)", "display": False}, {"left": "$", "right": "$", "display": False}]
EXAMPLES = [
    "Find the derivative of f(x) = 3x^2 + 2x - 5 and its critical points.",
    "A town of 10,000 people grows by 3% a year. How many people live there after 5 years?",
    "Solve x^2 - 5x + 6 = 0.",
    "Compute the integral of x^2 from 0 to 3.",
    "What is 17 * 23?",
]


def solve(pool, problem: str, style: str = "Chain of thought (CoT)", model: str = DEFAULT_MODEL,
          temperature: float | None = None, top_p: float | None = None, top_k: int | None = None,
          max_new_tokens: int = 1024, learner: str | None = None):
    """Yields (solution, final answer, check, stats) as the solution streams."""
    problem = check_prompt(problem)
    spec = get_model(model)
    if style not in PROMPTS:
        raise gr.Error(f"Prompt style is one of: {', '.join(PROMPTS)}")
    preset = spec.preset()
    sampling = sampling_from(spec, preset.temperature if temperature is None else temperature,
                             top_p or preset.top_p, top_k or preset.top_k)
    messages = [{"role": "user", "content": problem}]
    update = None
    for update in answer_stream(pool, model, messages, system=PROMPTS[style], sampling=sampling,
                                max_new_tokens=int(max_new_tokens), learner=learner):
        yield update.loading or update.answer, "", "", ""
    if update is None or update.final is None:
        return
    from demos.math.check import check, final_answer, missing_answer  # sympy: loaded on first use

    boxed = final_answer(update.answer)
    # a stream cut off inside its last box has no final answer, whatever boxes came before
    shown = f"**Final answer:** \\({boxed}\\)" if boxed else missing_answer(update.answer)
    yield update.answer, shown, check(problem, boxed).markdown(), update.final.summary()


def check_mine(problem: str, answer: str) -> str:
    """A learner's own answer, checked the same way (for the lesson's exercises)."""
    problem, answer = check_prompt(problem), (answer or "").strip()
    if not answer:
        raise gr.Error("Type your answer, e.g. 6x + 2 or x = 2, 3.")
    from demos.math.check import check

    return check(problem, answer).markdown()


def run_solve(pool, problem=EXAMPLES[0], style="Chain of thought (CoT)", max_new_tokens="512"):
    for solution, answer, verdict, stats in solve(pool, problem, style, max_new_tokens=int(max_new_tokens)):
        yield "\n\n".join(part for part in (solution, answer, verdict, f"`{stats}`" if stats else "") if part)


def run_check(pool, problem=EXAMPLES[0], answer=""):
    yield check_mine(problem, answer)


RUNNERS = {"solve": run_solve, "check": run_check}


def build(pool) -> None:
    spec = get_model(DEFAULT_MODEL)
    gr.Markdown("Qwen2.5-Math reasons step by step and puts its final answer in `\\boxed{}`. "
                "Qwen Lab pulls that answer out and, where SymPy can, checks it against the problem.")
    problem = gr.Textbox(EXAMPLES[0], label="Problem", lines=3, elem_id="math-problem")
    gr.Examples(EXAMPLES, problem, label="Try one")
    with gr.Row():
        style = gr.Radio(list(PROMPTS), value="Chain of thought (CoT)", label="System prompt")
        model = gr.Dropdown([s.key for s in models_with("math")], value=DEFAULT_MODEL, label="Model")
    temperature, top_p, top_k, tokens = sampling_controls(spec, 1024)
    with gr.Row():
        go = gr.Button("Solve", variant="primary", elem_id="math-solve")
        stop = gr.Button("Stop")
    solution = gr.Markdown(label="Solution", latex_delimiters=LATEX, elem_id="math-solution",
                           container=True, min_height=120)
    answer = gr.Markdown(elem_id="math-answer", latex_delimiters=LATEX)
    verdict = gr.Markdown(elem_id="math-check")
    stats = gr.Markdown(elem_id="math-stats")

    def handler(problem, style, model, temperature, top_p, top_k, tokens, request: gr.Request):
        yield from solve(pool, problem, style, model, temperature, top_p, top_k, tokens,
                         learner_of(request))

    event = go.click(handler, [problem, style, model, temperature, top_p, top_k, tokens],
                     [solution, answer, verdict, stats], api_name="math")
    stop.click(None, cancels=[event])

    with gr.Accordion("Check your own answer", open=False):
        mine = gr.Textbox(label="Your answer", placeholder="e.g. 6x + 2, or x = 2, 3", elem_id="math-mine")
        mine_go = gr.Button("Check it")
        mine_out = gr.Markdown(elem_id="math-mine-check")
        mine_go.click(check_mine, [problem, mine], mine_out, api_name="math_check")
