"""The math lesson's demo: Qwen2.5-Math solves step by step (or a general Qwen3 / Qwen3.5 model,
thinking first if asked); the final \\boxed{} answer is pulled out and, where SymPy can, checked
against the problem, showing the check it ran.

`solve()` is the one function behind the tab, the `math` API and the lesson's Run buttons;
`check_mine()` checks a learner's own answer (the `math_check` API); CHECKS are the lesson's
try-it tasks the app checks. The checking itself is demos/math/check.py and its helpers.
Run alone: python -m qwenlab.demos.math
"""

from __future__ import annotations

import asyncio
import dataclasses
import unicodedata

import gradio as gr

from qwenlab.registry import MATH_COT_PROMPT, MATH_TIR_PROMPT, get_model, models_with
from qwenlab.web.demo import VERBATIM, Check, Demo
from qwenlab.web.examples import examples
from qwenlab.web.i18n import N_, lang_of, t
from qwenlab.web.ui import (
    Learner,
    answer_stream,
    check_prompt,
    learner_error,
    learner_of,
    run_output,
    sampling_controls,
    sampling_from,
    who,
)

DEFAULT_MODEL = "qwen2.5-math-1.5b"
MANY_LANGUAGES = "qwen3.5-0.8b"  # suggested for a problem Qwen2.5-Math cannot read: 201 languages
MAX_NEW_TOKENS = 1024  # the lesson's code cells generate with the same limit
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
# Scripts a maths problem may be written in for Qwen2.5-Math: English (Latin letters, Greek for
# the symbols) and Chinese (Han). Anything else it was not trained on (model card).
_READ_SCRIPTS = ("LATIN", "GREEK", "CJK", "MATHEMATICAL", "FULLWIDTH LATIN")


def foreign_letters(text: str) -> bool:
    """Whether `text` has letters in a script Qwen2.5-Math does not read (Devanagari, Arabic...)."""
    for char in text:
        if not unicodedata.category(char).startswith("L") or "\u2100" <= char <= "\u214f":
            continue  # not a letter, or a letterlike maths symbol (ℝ, ℓ, ℵ)
        if not unicodedata.name(char, "").startswith(_READ_SCRIPTS):
            return True
    return False


def language_note(problem: str, model: str, lang: str = "en") -> str:
    """A short note, not an error: a Qwen2.5-Math model asked in a language it does not read."""
    if "math" not in model or not foreign_letters(problem or ""):
        return ""
    return "ℹ️ " + t(N_("Qwen2.5-Math reads English and Chinese only; for a problem in another "
                       "language, pick a general model such as {model} (Qwen3.5: 201 languages "
                       "and dialects) in *Model*. This one still answers."), lang,
                     model=MANY_LANGUAGES)


def preset_sliders(model: str, think: bool = False) -> tuple[float, float, int]:
    """The sampling sliders for a model: its documented preset, the thinking one when it will
    think (temperature 0 means greedy, Qwen2.5-Math's own setting)."""
    spec = get_model(model)
    preset = spec.preset(thinking=think and spec.has_thinking)
    return (preset.temperature if preset.do_sample else 0.0), preset.top_p, preset.top_k


def thinking_view(thinking: str) -> str:
    """The reasoning so far, quoted, while the answer has not started."""
    lines = thinking.strip().splitlines()
    return "💭\n\n" + "\n".join("> " + line for line in lines) if lines else "💭 …"


async def solve(pool, problem: str, style: str = "Chain of thought (CoT)",
                model: str = DEFAULT_MODEL, temperature: float | None = None,
                top_p: float | None = None, top_k: int | None = None,
                max_new_tokens: int = MAX_NEW_TOKENS, learner=None, think: bool = False):
    """Yields (solution, final answer, check, stats) as the solution streams; with `think`, a
    model that can think reasons first, and its reasoning is shown quoted above the answer."""
    async for update, shown, verdict in _solve(pool, problem, style, model, temperature, top_p,
                                               top_k, max_new_tokens, learner, think):
        reasoning = thinking_view(update.thinking) if update.thinking else ""
        solution = "\n\n".join(part for part in (reasoning, update.answer) if part)
        if update.final is None:
            yield update.loading or solution, "", "", ""
        else:
            yield solution, shown, verdict, t(update.final.summary(), who(learner)[1])


async def _solve(pool, problem, style, model, temperature, top_p, top_k, max_new_tokens,
                 learner, think=False):
    """Yields (update, final answer shown, check markdown); the last two only once it is done."""
    lang = who(learner)[1]
    problem = check_prompt(problem, learner)
    spec = get_model(model)
    if style not in PROMPTS:
        raise learner_error(lang, t(N_("Prompt style is one of: {styles}"), lang, styles=", ".join(PROMPTS)))
    think = bool(think) and spec.has_thinking
    preset = spec.preset(thinking=think)
    sampling = sampling_from(spec, preset.temperature if temperature is None else temperature,
                             top_p or preset.top_p, top_k or preset.top_k)
    # the sliders carry temperature, top-p and top-k; Qwen3.5's presence penalty comes along
    sampling = dataclasses.replace(sampling, presence_penalty=preset.presence_penalty)
    messages = [{"role": "user", "content": problem}]
    update = None
    async for update in answer_stream(pool, model, messages, system=PROMPTS[style],
                                      thinking=think, sampling=sampling,
                                      max_new_tokens=int(max_new_tokens), learner=learner):
        if update.final is None:
            yield update, "", ""
    if update is None or update.final is None:
        return
    from qwenlab.demos.math.check import (  # sympy: loaded on first use
        check,
        final_answer,
        missing_answer,
    )

    boxed = final_answer(update.answer)
    # a stream cut off inside its last box has no final answer, whatever boxes came before
    shown = (f"**{t(N_('Final answer:'), lang)}** \\({boxed}\\)" if boxed
             else t(missing_answer(update.answer), lang))
    # SymPy may think for seconds: not on the event loop that serves the other learners
    verdict = await asyncio.to_thread(lambda: check(problem, boxed).markdown(lang))
    yield update, shown, verdict


def check_mine(problem: str, answer: str, lang: str = "en") -> str:
    """A learner's own answer to the problem in the Problem box, checked the same way."""
    problem, answer = check_prompt(problem, Learner(None, lang)), (answer or "").strip()
    if not answer:
        raise learner_error(lang, t(N_("Type your answer, e.g. 6x + 2 or x = 2, 3."), lang))
    from qwenlab.demos.math.check import check

    return check(problem, answer).markdown(lang)


# -- lesson cell runners: the same functions the tab uses, with the cells' limits ---------------
async def run_solve(pool, problem=EXAMPLES[0], style="Chain of thought (CoT)",
                    max_new_tokens=str(MAX_NEW_TOKENS), lang="en"):
    async for update, shown, verdict in _solve(pool, problem, style, DEFAULT_MODEL, None, None,
                                               None, int(max_new_tokens), Learner(None, lang)):
        text = "\n\n".join(part for part in (update.answer, shown, verdict) if part)
        yield run_output(update, text, lang=lang)


def run_check(pool, problem=EXAMPLES[0], answer="", lang="en"):
    yield check_mine(problem, answer, lang)


RUNNERS = {"solve": run_solve, "check": run_check}


def build(pool) -> dict:
    spec = get_model(DEFAULT_MODEL)
    gr.Markdown("Qwen2.5-Math reasons step by step and puts its final answer in `\\boxed{}`. "
                "Qwen Lab pulls that answer out and, where SymPy can, checks it against the problem. "
                "A general Qwen3 or Qwen3.5 model does maths too, and can think first.")
    problem = gr.Textbox(EXAMPLES[0], label="Problem", lines=3, elem_id="math-problem",
                         elem_classes=[VERBATIM])  # Qwen2.5-Math reads English and Chinese
    examples(lambda lang: [[problem] for problem in EXAMPLES], [problem], label="Try one",
             elem_id="math-examples")  # English in every language, as the box says
    with gr.Row():
        style = gr.Radio(list(PROMPTS), value="Chain of thought (CoT)", label="System prompt")
        model = gr.Dropdown([s.key for s in models_with("math")], value=DEFAULT_MODEL, label="Model",
                            info="Qwen2.5-Math reads English and Chinese; for other languages pick "
                                 "a Qwen3 or Qwen3.5 model.", elem_id="math-model")
        think = gr.Checkbox(False, label="Think first (Qwen3 and Qwen3.5 models)",
                            info="The model reasons before it answers: give it 2,048 new tokens.",
                            elem_id="math-think")
    temperature, top_p, top_k, tokens = sampling_controls(spec, MAX_NEW_TOKENS, "math")
    with gr.Row():
        go = gr.Button("Solve", variant="primary", elem_id="math-solve")
        stop = gr.Button("Stop")
    note = gr.Markdown(elem_id="math-note")
    solution = gr.Markdown(label="Solution", latex_delimiters=LATEX, elem_id="math-solution",
                           container=True, min_height=120)
    answer = gr.Markdown(elem_id="math-answer", latex_delimiters=LATEX)
    verdict = gr.Markdown(elem_id="math-check")
    stats = gr.Markdown(elem_id="math-stats")

    async def handler(problem, style, model, temperature, top_p, top_k, tokens, think,
                      request: gr.Request):
        async for shown in solve(pool, problem, style, model, temperature, top_p, top_k, tokens,
                                 learner_of(request), think):
            yield shown

    def noted(problem, model, request: gr.Request):
        return language_note(problem, model, lang_of(request))

    # `think` last: the `math` API's earlier arguments keep their places
    event = go.click(handler, [problem, style, model, temperature, top_p, top_k, tokens, think],
                     [solution, answer, verdict, stats], api_name="math")
    gr.on([go.click, model.change], noted, [problem, model], note, api_visibility="private")
    gr.on([model.change, think.change], preset_sliders, [model, think],
          [temperature, top_p, top_k], api_visibility="private")
    stop.click(None, cancels=[event])
    mine = _own_answer(problem)
    return {"problem": problem, "style": style, "model": model, "solution": solution,
            "answer": answer, "check": verdict, "mine": mine}


def _own_answer(problem) -> gr.Textbox:
    """The "Check your own answer" panel: it checks against the Problem box above."""
    with gr.Accordion("Check your own answer (to the Problem above)", open=False):
        gr.Markdown("Type the problem into the **Problem** box above and your answer here; SymPy "
                    "checks your answer against that problem. No model runs.")
        mine = gr.Textbox(label="Your answer", placeholder="e.g. 6x + 2, or x = 2, 3",
                          info="Checked against the problem in the Problem box above.",
                          elem_id="math-mine")
        mine_go = gr.Button("Check it", elem_id="math-mine-go")
        mine_out = gr.Markdown(elem_id="math-mine-check")

    def checked(problem, answer, request: gr.Request):
        return check_mine(problem, answer, lang_of(request))

    mine_go.click(checked, [problem, mine], mine_out, api_name="math_check")
    return mine


# -- try-it tasks the app checks (lessons/en/02-math.md, "Try it") -----------------------------
def own_answer_holds(problem, mine, contains: str, kind: str) -> tuple[bool, str]:
    """The learner typed the exercise (its text `contains`) into the Problem box and their own
    answer into Check your own answer, and SymPy's check of it holds, of the `kind` asked."""
    squeezed = "".join((problem or "").split())
    if "".join(contains.split()) not in squeezed:
        return False, N_("Type the exercise, with {expr}, into the *Problem* box.").format(expr=contains)
    if not (mine or "").strip():
        return False, N_("Now type your answer into *Your answer* under *Check your own answer*.")
    from qwenlab.demos.math.check import check

    verdict = check(problem, mine)
    if verdict.status != "holds":
        return False, N_("SymPy does not agree with `{answer}` yet: press *Check it* to see the "
                         "check it ran.").format(answer=mine.strip())
    if verdict.kind != kind:
        return False, N_("SymPy agrees, but the exercise asks for the {kind}.").format(kind=kind)
    return True, N_("SymPy agrees: `{answer}` is right.").format(answer=mine.strip())


CHECKS = {"own_answer_holds": Check(("problem", "mine"), own_answer_holds)}


DEMO = Demo(build=build, runners=RUNNERS, checks=CHECKS)
