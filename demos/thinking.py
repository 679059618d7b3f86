"""The thinking lesson's demo: Qwen3 with thinking on or off, the reasoning streamed into its own
collapsible message, a thinking budget (two passes, as Qwen documents), /think and /no_think in
a multi-turn chat, and a side-by-side run of one question with and without thinking.

Run alone: python -m demos.thinking
"""

from __future__ import annotations

import re

import gradio as gr

from qwenlab.loading import resolve_device
from qwenlab.registry import get_model, models_with
from webui.ui import (
    answer_stream,
    chat_turn,
    check_prompt,
    clear_if_asked,
    learner_of,
    markdown_table,
)

SWITCH = re.compile(r"/(no_think|think)\b")
COMPARE_COLUMNS = ["mode", "thinking tokens", "answer tokens", "seconds", "tokens/s", "finish"]


def default_model(device: str | None = None) -> str:
    return "qwen3-1.7b" if (device or resolve_device()) == "cuda" else "qwen3-0.6b"


def effective_thinking(history: list, message: str, enabled: bool) -> bool:
    """enable_thinking=False wins outright; otherwise the latest /think or /no_think does."""
    if not enabled:
        return False
    texts = [message] + [_text(m) for m in reversed(history or []) if m.get("role") in ("user", "system")]
    for text in texts:
        switches = SWITCH.findall(text)
        if switches:
            return switches[-1] == "think"
    return True


def _text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def chat(pool, history, message, model=None, enable_thinking=True, budget=0, max_new_tokens=1024,
         learner=None):
    """One turn. Yields (chat messages, stats line); the reasoning has its own message."""
    message = check_prompt(message)
    model = model or default_model(pool.device)
    spec = get_model(model)
    if not spec.has_thinking:
        raise gr.Error(f"{model} has no thinking mode; pick a Qwen3 model")
    mode = effective_thinking(history, message, bool(enable_thinking))
    yield from chat_turn(pool, model, history, message, thinking=bool(enable_thinking),
                         sampling=spec.preset(thinking=mode), max_new_tokens=int(max_new_tokens),
                         thinking_budget=int(budget) or None, learner=learner)


def compare(pool, question, model=None, max_new_tokens=1024, learner=None):
    """The same question with thinking on, then off. Yields (on, off, table rows)."""
    question = check_prompt(question)
    model = model or default_model(pool.device)
    spec = get_model(model)
    shown, rows = {True: "", False: ""}, []
    for mode in (True, False):
        for update in answer_stream(pool, model, [{"role": "user", "content": question}],
                                    thinking=mode, sampling=spec.preset(thinking=mode),
                                    max_new_tokens=int(max_new_tokens), learner=learner):
            shown[mode] = update.loading or _panel(update.thinking, update.answer)
            if update.final:
                f = update.final
                rows.append(["thinking on" if mode else "thinking off", f.thinking_tokens,
                             f.new_tokens - f.thinking_tokens, round(f.total_s, 2),
                             round(f.tokens_per_s, 1), f.finish_reason])
            yield shown[True], shown[False], rows


def _panel(thinking: str, answer: str) -> str:
    quoted = "\n".join("> " + line for line in thinking.strip().splitlines()) if thinking.strip() else ""
    return (f"**Reasoning**\n\n{quoted}\n\n" if quoted else "") + f"**Answer**\n\n{answer}"


def run_chat(pool, prompt="", thinking="true", budget="0", max_new_tokens="512"):
    for messages, stats in chat(pool, [], prompt, None, thinking == "true", int(budget), int(max_new_tokens)):
        parts = [f"*{m.metadata['title']}*\n\n> {m.content}" if m.metadata.get("title") else m.content
                 for m in messages[1:]]
        yield "\n\n".join(parts) + (f"\n\n`{stats}`" if stats else "")


def run_compare(pool, question="", max_new_tokens="512"):
    for on, off, rows in compare(pool, question, None, int(max_new_tokens)):
        table = f"\n\n{markdown_table(COMPARE_COLUMNS, rows)}" if rows else ""
        yield f"### Thinking on\n{on}\n\n### Thinking off\n{off}" + table


RUNNERS = {"chat": run_chat, "compare": run_compare}


def build(pool) -> None:
    gr.Markdown("Qwen3 can think before it answers. Turn thinking on or off, or type `/think` or "
                "`/no_think` in a message (the latest wins). Earlier turns' reasoning is never sent "
                "back to the model.")
    with gr.Row():
        model = gr.Dropdown([s.key for s in models_with("thinking")], value=default_model(pool.device),
                            label="Model")
        enable = gr.Checkbox(True, label="Thinking (enable_thinking)", elem_id="think-enable")
        budget = gr.Slider(0, 2048, value=0, step=32, label="Thinking budget in tokens (0 = none)",
                           elem_id="think-budget")
        tokens = gr.Slider(16, 4096, value=1024, step=16, label="Max new tokens")
    chatbot = gr.Chatbot(height=420, label="Chat", elem_id="think-chat",
                         latex_delimiters=[{"left": "$$", "right": "$$", "display": True}])
    with gr.Row():
        text = gr.Textbox(placeholder="Ask something that needs a few steps", show_label=False, scale=5,
                          elem_id="think-input")
        send = gr.Button("Send", variant="primary", scale=1, elem_id="think-send")
        stop = gr.Button("Stop", scale=1)
        clear = gr.Button("Clear", scale=1)
    stats = gr.Markdown(elem_id="think-stats")

    def respond(history, message, model, enable, budget, tokens, request: gr.Request):
        yield from chat(pool, history, message, model, enable, budget, tokens, learner_of(request))

    event = gr.on([send.click, text.submit], respond, [chatbot, text, model, enable, budget, tokens],
                  [chatbot, stats], api_name="thinking")
    event.then(clear_if_asked, [chatbot, text], text, api_visibility="private")
    clear.click(lambda: ([], ""), None, [chatbot, stats], api_visibility="private")
    compared = _side_by_side(pool, model, tokens)
    stop.click(None, cancels=[event, compared])


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

    def side_by_side(question, model, tokens, request: gr.Request):
        yield from compare(pool, question, model, tokens, learner_of(request))

    return go.click(side_by_side, [question, model, tokens], [on, off, table],
                    api_name="thinking_compare")


if __name__ == "__main__":
    from webui.shell import serve_one

    serve_one("thinking", build)
