"""The thinking lesson's demo: a thinking model with thinking on or off, the reasoning streamed
into its own collapsible message, a thinking budget (two passes, as Qwen documents), /think and
/no_think in a multi-turn chat, and a side-by-side run of one question with and without thinking.

Three kinds of model, each switched the way its chat template reads (registry.Thinking): Qwen3
hybrids (enable_thinking, and /think or /no_think in a turn), Qwen3.5 (enable_thinking only;
off by default on 0.8B and 2B, on for 4B) and the single-mode Qwen3-4B-Thinking-2507 (always
thinks). The CPU default stays Qwen3-0.6B: it has all three switches the lesson practises, ran
38 tokens/s against Qwen3.5-0.8B's 24 on this lab's int4 CPU path, and Qwen3.5-0.8B's card warns
that it is more prone to thinking loops than the larger Qwen3.5 models; Qwen3.5 is one pick away.

It owns the settings each chat turn ran with (a record per turn, beside the Chatbot) and the
checks that read them; generation, the budget and the split live in qwenlab (thinking.py).
Run alone: python -m qwenlab.demos.thinking
"""

from __future__ import annotations

import re

import gradio as gr

from qwenlab.counting import load_tokenizer
from qwenlab.loading import resolve_device
from qwenlab.registry import get_model, models_with
from qwenlab.thinking import EARLY_STOP, THINK_END, token_id
from qwenlab.web.demo import Check, Demo
from qwenlab.web.i18n import N_, t
from qwenlab.web.ui import (
    Learner,
    answer_in,
    answer_stream,
    chat_turn,
    check_prompt,
    clear_if_asked,
    learner_error,
    learner_of,
    markdown_table,
    ran_note,
    run_output,
    who,
)

SWITCH = re.compile(r"/(no_think|think)\b")
COMPARE_COLUMNS = [N_("mode"), N_("thinking tokens"), N_("answer tokens"), N_("seconds"),
                   N_("tokens/s"), N_("finish")]
# the sentence of Qwen's early-stop text: in the reasoning only when a budget cut it
CUT_SENTENCE = EARLY_STOP.split(THINK_END)[0].strip()
CELL_MODEL = "qwen3-0.6b"  # the lesson's code cells load Qwen/Qwen3-0.6B; their Run buttons too


def default_model(device: str | None = None) -> str:
    return "qwen3-1.7b" if (device or resolve_device()) == "cuda" else "qwen3-0.6b"


def effective_thinking(history: list, message: str, enabled: bool,
                       model: str = CELL_MODEL) -> bool:
    """Whether `model` thinks this turn, as its template decides: a single-mode Thinking-2507
    always does; Qwen3.5 follows enable_thinking alone; a Qwen3 hybrid: enable_thinking=False
    wins outright, otherwise the latest /think or /no_think does."""
    mode = get_model(model).thinking
    if mode is not None and not mode.can_switch:
        return True
    if not enabled:
        return False
    if mode is not None and not mode.soft_switches:
        return True
    texts = [message] + [_text(m) for m in reversed(history or []) if m.get("role") in ("user", "system")]
    for text in texts:
        switches = SWITCH.findall(text)
        if switches:
            return switches[-1] == "think"
    return True


def _text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") or "" for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def settings_used(history: list, message: str, model: str, enable_thinking: bool, budget: int,
                  max_new_tokens: int, lang: str = "en") -> dict:
    """What one turn runs with: the record the try-it checks read afterwards."""
    spec = get_model(model)
    if not spec.has_thinking:
        raise learner_error(lang, t(N_("{model} has no thinking mode; pick a Qwen3, Qwen3.5 or "
                            "Thinking-2507 model"), lang, model=model))
    mode = effective_thinking(history, message, bool(enable_thinking), model)
    switches = SWITCH.findall(message)
    return {"model": model, "enable_thinking": bool(enable_thinking), "thinking": mode,
            "switch": f"/{switches[-1]}" if switches else None, "budget": int(budget or 0),
            "note": template_note(spec, switches, bool(enable_thinking), lang),
            "max_new_tokens": int(max_new_tokens), "preset": preset_text(spec.preset(thinking=mode)),
            "finished": False}


def preset_text(preset) -> str:
    """A preset as the lesson writes it (Qwen3.5's cards add a presence penalty)."""
    text = f"temperature {preset.temperature}, top-p {preset.top_p}, top-k {preset.top_k}"
    return text + (f", presence penalty {preset.presence_penalty}" if preset.presence_penalty else "")


def template_note(spec, switches: list, enabled: bool, lang: str = "en") -> str:
    """What the learner asked for that this model's template does not do, or ""."""
    if not spec.thinking.can_switch and not enabled:
        return t(N_("{model} always thinks: its template opens <think> in the prompt, so turning "
                    "enable_thinking off changes nothing."), lang, model=spec.key)
    if switches and not spec.thinking.soft_switches:
        return t(N_("{model} ignores /think and /no_think: its template reads only "
                    "enable_thinking (the checkbox), as its card says."), lang, model=spec.key)
    return ""


def generation_options(settings: dict) -> dict:
    """answer_stream's keyword arguments for a turn's settings: for a Qwen3 hybrid the template
    flag as set (its template honours /think and /no_think itself), for the others the mode in
    force (a Thinking-2507 template thinks whatever the flag says, so the reasoning must be
    split off all the same); and the preset of the mode in force."""
    spec = get_model(settings["model"])
    return {"thinking": (settings["enable_thinking"] if spec.thinking.soft_switches
                         else settings["thinking"]),
            "sampling": spec.preset(thinking=settings["thinking"]),
            "max_new_tokens": settings["max_new_tokens"],
            "thinking_budget": settings["budget"] or None}


async def chat(pool, history, message, model, enable_thinking, budget, max_new_tokens, turns,
               learner=None):
    """One chat turn. Yields (chat messages, stats line, turns); the reasoning has its own
    message, and turns gains this turn's settings, marked finished once its stats arrive."""
    message = check_prompt(message, learner)
    model = model or default_model(pool.device)
    settings = settings_used(history, message, model, enable_thinking, budget, max_new_tokens,
                             who(learner)[1])
    async for messages, line in chat_turn(pool, model, history, message, learner=learner,
                                          system=answer_in(learner),
                                          **generation_options(settings)):
        shown = f"{line}  \nℹ️ {settings['note']}" if line and settings["note"] else line
        yield messages, shown, list(turns or []) + [dict(settings, finished=bool(line))]


async def _compare(pool, question, model, max_new_tokens, learner=None):
    """Both modes in turn. Yields (on, off, table rows, the last Final or None)."""
    question = check_prompt(question, learner)
    lang = who(learner)[1]
    model = model or default_model(pool.device)
    spec = get_model(model)
    if spec.thinking is not None and not spec.thinking.can_switch:
        raise learner_error(lang, t(N_("{model} always thinks, so there is no thinking off to compare: pick "
                            "a Qwen3 or Qwen3.5 model."), lang, model=model))
    shown, rows, final = {True: "", False: ""}, [], None
    for mode in (True, False):
        async for update in answer_stream(pool, model, [{"role": "user", "content": question}],
                                          thinking=mode, sampling=spec.preset(thinking=mode),
                                          max_new_tokens=int(max_new_tokens), learner=learner,
                                          system=answer_in(learner)):
            shown[mode] = update.loading or _panel(update.thinking, update.answer, lang)
            if update.final:
                final = f = update.final
                rows.append([t(N_("thinking on") if mode else N_("thinking off"), lang),
                             f.thinking_tokens,
                             f.new_tokens - f.thinking_tokens, round(f.total_s, 2),
                             round(f.tokens_per_s, 1), f.finish_reason])
            yield shown[True], shown[False], rows, final


async def compare(pool, question, model=None, max_new_tokens=1024, learner=None):
    """The same question with thinking on, then off. Yields (on, off, table rows)."""
    async for on, off, rows, _ in _compare(pool, question, model, max_new_tokens, learner):
        yield on, off, rows


def _panel(thinking: str, answer: str, lang: str = "en") -> str:
    quoted = "\n".join("> " + line for line in thinking.strip().splitlines()) if thinking.strip() else ""
    return ((f"**{t(N_('Reasoning'), lang)}**\n\n{quoted}\n\n" if quoted else "")
            + f"**{t(N_('Answer'), lang)}**\n\n{answer}")


# -- lesson cell runners: the cell's model, prompt, limits and preset -----------------------------
async def run_chat(pool, prompt="", thinking="true", budget="0", max_new_tokens="1024",
                   model=CELL_MODEL, lang="en"):
    learner = Learner(None, lang)
    prompt = check_prompt(prompt, learner)
    settings = settings_used([], prompt, model, thinking == "true", int(budget), int(max_new_tokens))
    async for update in answer_stream(pool, model, [{"role": "user", "content": prompt}],
                                      learner=learner, **generation_options(settings)):
        yield run_output(update, _panel(update.thinking, update.answer, lang)
                         + _budget_note(update.final, lang), lang=lang)


def _budget_note(final, lang: str = "en") -> str:
    if not final or not final.injected_tokens:
        return ""
    return "\n\n*" + t(N_("The budget stopped the reasoning at {thinking} tokens; Qwen's "
                           "early-stop text ({injected} tokens) closed it and counts against the "
                           "limit."), lang, thinking=final.thinking_tokens,
                        injected=final.injected_tokens) + "*"


async def run_compare(pool, question="", max_new_tokens="1024", model=CELL_MODEL, lang="en"):
    async for on, off, rows, final in _compare(pool, question, model, int(max_new_tokens),
                                               Learner(None, lang)):
        columns = [t(c, lang) for c in COMPARE_COLUMNS]
        table = f"\n\n{markdown_table(columns, rows)}" if rows else ""
        note = ran_note(final, lang) if len(rows) == 2 else ""  # the same engine ran both modes
        yield (f"### {t(N_('Thinking on'), lang)}\n{on}\n\n### {t(N_('Thinking off'), lang)}\n"
               f"{off}{table}{note}")


def run_templates(pool, prompt="Is 391 a prime number?",
                  models="qwen3-0.6b,qwen3.5-0.8b,qwen3-4b-thinking-2507", lang="en"):
    """What each model's chat template writes after `<|im_start|>assistant` with enable_thinking
    on and off, and the id of `</think>` in its vocabulary: tokenizers only, no weights."""
    rows = []
    for key in (k.strip() for k in models.split(",")):
        tokenizer = load_tokenizer(get_model(key))
        for enabled in (True, False):
            text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                                 tokenize=False, add_generation_prompt=True,
                                                 enable_thinking=enabled)
            ending = text.split("<|im_start|>assistant\n")[-1]
            rows.append((key, enabled, f"`{ending!r}`", token_id(tokenizer, THINK_END)))
    yield markdown_table(("model", "enable_thinking", t(N_("the prompt ends with"), lang),
                          t(N_("{token} id"), lang, token="</think>")), rows)


RUNNERS = {"chat": run_chat, "compare": run_compare, "templates": run_templates}


def build(pool) -> dict:
    gr.Markdown("Qwen3 models think unless told not to: untick *Thinking*, or type `/think` or "
                "`/no_think` in a message (the latest wins). Qwen3.5 reads *Thinking* alone (off "
                "by default on 0.8B and 2B); Qwen3-4B-Thinking-2507 always thinks. Earlier turns' "
                "reasoning is not sent back to the model, as the Qwen3 and Qwen3.5 cards advise.")
    key = default_model(pool.device)
    with gr.Row():
        model = gr.Dropdown([s.key for s in models_with("thinking")], value=key, label="Model")
        enable = gr.Checkbox(get_model(key).thinking.default, label="Thinking (enable_thinking)",
                             elem_id="think-enable",
                             info="Set to the model's own default when you pick a model")
        budget = gr.Slider(0, 2048, value=0, step=32, label="Thinking budget in tokens (0 = none)",
                           elem_id="think-budget")
        tokens = gr.Slider(16, 4096, value=1024, step=16, label="Max new tokens", elem_id="think-tokens")
    chatbot = gr.Chatbot(height=420, label="Chat", elem_id="think-chat",
                         latex_delimiters=[{"left": "$$", "right": "$$", "display": True}])
    turns = gr.State([])  # the settings each turn of the chat ran with, for the try-it checks
    with gr.Row():
        text = gr.Textbox(placeholder="Ask something that needs a few steps", show_label=False, scale=5,
                          elem_id="think-input")
        send = gr.Button("Send", variant="primary", scale=1, elem_id="think-send")
        stop = gr.Button("Stop", scale=1)
        clear = gr.Button("Clear", scale=1)
    stats = gr.Markdown(elem_id="think-stats")

    async def respond(history, message, model, enable, budget, tokens, turns,
                      request: gr.Request):
        async for shown in chat(pool, history, message, model, enable, budget, tokens, turns,
                                learner_of(request)):
            yield shown

    event = gr.on([send.click, text.submit], respond,
                  [chatbot, text, model, enable, budget, tokens, turns], [chatbot, stats, turns],
                  api_name="thinking")
    event.then(clear_if_asked, [chatbot, text], text, api_visibility="private")
    clear.click(lambda: ([], "", []), None, [chatbot, stats, turns], api_visibility="private")
    model.change(_thinking_box, model, enable, api_visibility="private")
    compared = _side_by_side(pool, model, tokens)
    stop.click(None, cancels=[event, compared])
    return {"model": model, "enable": enable, "budget": budget, "tokens": tokens,
            "chat": chatbot, "turns": turns}


def _thinking_box(key: str):
    """The Thinking box at the model's own default; fixed for a model that always thinks."""
    mode = get_model(key).thinking
    return gr.Checkbox(value=mode.default, interactive=mode.can_switch)


def _side_by_side(pool, model, tokens):
    """The same question with and without thinking; returns the event (for Stop)."""
    gr.Markdown("### Side by side: the same question with and without thinking")
    question = gr.Textbox("A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the "
                          "ball. How much does the ball cost?", label="Question",
                          elem_id="think-question")
    go = gr.Button("Compare", elem_id="think-compare")
    with gr.Row():
        on = gr.Markdown(label="Thinking on", container=True, elem_id="think-on")
        off = gr.Markdown(label="Thinking off", container=True, elem_id="think-off")
    table = gr.Dataframe(headers=COMPARE_COLUMNS, interactive=False, elem_id="think-table")

    async def side_by_side(question, model, tokens, request: gr.Request):
        async for shown in compare(pool, question, model, tokens, learner_of(request)):
            yield shown

    return go.click(side_by_side, [question, model, tokens], [on, off, table],
                    api_name="thinking_compare")


# -- try-it tasks the app checks (lessons/en/07-thinking.md, "Try it") ---------------------------
def exchanges(history: list, turns: list) -> list[dict]:
    """The chat's turns, oldest first: each turn's settings with the reasoning and the answer
    it got. Records and user messages are paired from the newest back (both grow together)."""
    found = []
    for message in history or []:
        if message.get("role") == "user":
            found.append({"reasoning": "", "answer": ""})
        elif found and message.get("role") == "assistant":
            text = _text(message)
            # the reasoning panel is the one message with a title (qwenlab.web.ui._messages),
            # in the learner's language: its presence, not its words, marks it
            if (message.get("metadata") or {}).get("title"):
                found[-1]["reasoning"] += text
            elif text.strip() not in ("", "…") and not text.startswith("⏳"):
                found[-1]["answer"] += text
    paired = list(zip(reversed(found), reversed(turns or [])))
    return [dict(record, **got) for got, record in reversed(paired)]


def budget_cut_then_answered(history, turns) -> tuple[bool, str]:
    """The latest turn sent with a budget thought, was cut by Qwen's early-stop text, and
    an answer followed it."""
    budgeted = [t for t in exchanges(history, turns) if t["budget"]]
    if not budgeted:
        return False, N_("Set a thinking budget above 0, then ask a question with Thinking on.")
    turn = budgeted[-1]
    if not turn["thinking"]:
        why = N_("Thinking was unticked") if not turn["enable_thinking"] else N_("/no_think was in force")
        return False, N_("That turn ran without thinking ({why}), so there was no reasoning to "
                         "cut.").format(why=why)
    if CUT_SENTENCE not in turn["reasoning"]:
        if turn["finished"]:
            return False, N_("The model closed its reasoning inside the {budget}-token budget by "
                             "itself, so nothing was cut: lower the budget or ask something "
                             "harder.").format(budget=turn["budget"])
        return False, N_("The reasoning is still streaming: wait until it reaches the budget.")
    if not turn["answer"]:
        if turn["finished"]:
            return False, N_("The budget cut the reasoning but no room was left for the answer: "
                             "raise *Max new tokens* well above the budget.")
        return False, N_("The budget cut the reasoning; wait for the answer that follows.")
    return True, N_("The {budget}-token budget cut the reasoning, Qwen's early-stop text closed "
                    "it, and the answer followed.").format(budget=turn["budget"])


def no_think_follow_up(history, turns) -> tuple[bool, str]:
    """A turn that ran with thinking, then a later turn in the same chat switched off by
    /no_think (Thinking still ticked) that got its reply."""
    seen = exchanges(history, turns)
    first = next((i for i, t in enumerate(seen) if t["thinking"] and t["finished"]), None)
    if first is None:
        return False, N_("First ask something with Thinking ticked and wait for the reply.")
    later = [t for t in seen[first + 1:] if t["switch"] == "/no_think"]
    if not later:
        return False, N_("Now follow up in the same chat with a message that ends in /no_think.")
    turn = later[-1]
    if not get_model(turn["model"]).thinking.soft_switches:
        return False, N_("{model} ignores /no_think (its template reads only enable_thinking): "
                         "pick a Qwen3 model such as qwen3-0.6b for this task.").format(
                             model=turn["model"])
    if not turn["enable_thinking"]:
        return False, N_("Thinking was unticked for the follow-up, so /no_think had nothing to "
                         "switch: tick it again and let the message do the switching.")
    if not turn["finished"]:
        return False, N_("Wait for the reply to your /no_think follow-up.")
    reasoning = (N_("No reasoning came back.") if not turn["reasoning"].strip() else
                 N_("This model still wrote text before any </think>; a trained Qwen3 answers a "
                    "/no_think turn with an empty think block."))
    return True, N_("The follow-up ran without thinking, with the non-thinking preset ({preset}), "
                    "after a turn that thought with {first}. {reasoning}").format(
                        preset=turn["preset"], first=seen[first]["preset"], reasoning=reasoning)


def qwen3_5_both_modes(history, turns) -> tuple[bool, str]:
    """In one chat, a Qwen3.5 model answered a turn without thinking and a turn with it: the
    only switch its template reads is enable_thinking (the Thinking box)."""
    seen = [t for t in exchanges(history, turns) if get_model(t["model"]).arch == "qwen3_5"]
    if not seen:
        return False, N_("Pick qwen3.5-0.8b as the model and ask it something.")
    done = [t for t in seen if t["finished"]]
    off = next((t for t in done if not t["thinking"]), None)
    on = next((t for t in done if t["thinking"]), None)
    if off is None:
        return False, (N_("Now untick Thinking and ask again.") if done else
                       N_("Wait for the reply."))
    if on is None:
        return False, (N_("Now tick Thinking and ask again: enable_thinking is the only switch "
                          "Qwen3.5 reads.") if len(done) == len(seen) else N_("Wait for the reply."))
    return True, N_("{model} answered straight away with Thinking off ({off}) and reasoned first "
                    "with it on ({on}).").format(model=on["model"], off=off["preset"],
                                                  on=on["preset"])


CHECKS = {"budget_cut_then_answered": Check(("chat", "turns"), budget_cut_then_answered),
          "no_think_follow_up": Check(("chat", "turns"), no_think_follow_up),
          "qwen3_5_both_modes": Check(("chat", "turns"), qwen3_5_both_modes)}


DEMO = Demo(build=build, runners=RUNNERS, checks=CHECKS)
