"""The family lesson's demo: "which Qwen fits my task and my device?", then chat with the pick.

`pick()` is plain logic over the registry (tested on its own); `build(pool)` lays out the tab;
RUNNERS serve the lesson's Run buttons with the same functions the tab uses.
Run alone: python -m qwenlab.demos.family
"""

from __future__ import annotations

import math

import gradio as gr
import pandas as pd

from qwenlab.errors import BadRequest
from qwenlab.registry import DEVICES, KV_SPARE, MODELS, Device, ModelSpec
from qwenlab.web.demo import Check, Demo
from qwenlab.web.i18n import N_, lang_of, t
from qwenlab.web.ui import (
    Learner,
    answer_in,
    answer_stream,
    answered,
    chat_turn,
    check_prompt,
    clear_if_asked,
    learner_of,
    markdown_table,
    run_output,
    user_errors,
)

TASKS = {
    "chat": N_("everyday chat and writing"),
    "math": N_("step-by-step maths"),
    "code": N_("writing and fixing code"),
    "vision": N_("questions about images"),
    "many languages": N_("answers in many languages"),
    "hard reasoning": N_("multi-step reasoning (thinking mode)"),
}
PRIORITIES = ("quality", "speed")
_QUALITY = {"bf16": 1.0, "fp16": 1.0, "int8": 0.97, "nf4": 0.9}
# What the learner may ask for: the best precision that fits, or one kind of precision, shown for
# every checkpoint that fits at it (so a figure worked out by hand can be compared).
BEST = "best that fits"
PRECISION_CHOICES = (BEST, "16-bit", "int8", "4-bit")
_KIND = {"bf16": "16-bit", "fp16": "16-bit", "int8": "int8", "nf4": "4-bit"}
FIRST_CHAT = "qwen3.5-0.8b"  # answers in the chat until the learner picks


LANGUAGES = {"qwen2": N_("Qwen2.5: over 29 languages"),
             "qwen3": N_("Qwen3: 119 languages and dialects"),
             "qwen3_5": N_("Qwen3.5: 201 languages and dialects, a new 248K vocabulary")}
THINKS = {"hybrid": N_("hybrid thinking: reasons before answering, or not, on request"),
          "switch": N_("thinks when enable_thinking is on"),
          "always": N_("single-mode thinking model: always reasons first")}


def general(spec: ModelSpec) -> bool:
    """A general chat model (not a Qwen2.5 Math or Coder specialist, not a VL-only model)."""
    specialist = spec.arch == "qwen2" and bool(spec.capabilities & {"math", "code"})
    return "chat" in spec.capabilities and not specialist and spec.arch not in (
        "qwen2_vl", "qwen2_5_vl", "qwen3_vl")


def _candidates(task: str) -> list[tuple[ModelSpec, str]]:
    """(spec, why it suits the task) for the registry models that do the task."""
    chat = [s for s in MODELS.values() if general(s)]
    by_task = {
        "chat": [(s, N_("general instruct model")) for s in chat],
        "math": [(s, N_("Math specialist: chain-of-thought prompt, English and Chinese, 4K context"))
                 if "math" in s.capabilities and not s.has_thinking else (s, N_("thinks through maths"))
                 for s in MODELS.values() if "math" in s.capabilities],
        "code": [(s, N_("Coder specialist, trained mostly on code")) if not general(s)
                 else (s, N_("general model that codes")) for s in MODELS.values()
                 if "code" in s.capabilities],
        "vision": [(s, N_("vision-language model")) for s in MODELS.values() if s.is_vision],
        "many languages": [(s, LANGUAGES[s.arch]) for s in chat if s.arch in LANGUAGES],
        "hard reasoning": [(s, THINKS[s.thinking.mode]) for s in MODELS.values()
                           if s.has_thinking],
    }
    if task not in by_task:
        raise BadRequest(f"Unknown task {task!r}: choose one of {', '.join(TASKS)}")
    return by_task[task]


def size_class(spec: ModelSpec) -> int:
    """Quality first ranks by size in doublings (0.5-1B, 1-2B, 2-4B, 4-8B), the newest generation
    first within one, then the higher precision: a rule of thumb, not a benchmark. It agrees with
    what Qwen publishes: Qwen3.5-2B above Qwen3-1.7B but below Qwen3-4B-2507 (the Qwen3.5-0.8B
    card's table), Qwen3-4B rivalling far larger Qwen2.5 models (the Qwen3 blog)."""
    return math.floor(math.log2(spec.params_b))


def precisions_for(device: Device, asked: str = BEST) -> list[tuple[str, str]]:
    """(registry precision, how to label it) in order of preference on this device; only the
    kind `asked` for, unless the best that fits is."""
    if device.kind == "phone":
        offered = [("nf4", N_("4-bit (a GGUF or ONNX int4 build)"))]
    elif device.kind == "cpu":
        offered = [("bf16", "bf16"), ("nf4", N_("4-bit (GGUF or ONNX int4 runs fastest on a CPU)"))]
    else:
        half = "bf16" if device.bf16 else "fp16"
        offered = [(half, half), ("int8", N_("int8 (bitsandbytes)")), ("nf4", N_("nf4 (bitsandbytes)"))]
    return offered if asked == BEST else [(p, label) for p, label in offered if _KIND[p] == asked]


def pick(task: str, device_name: str, priority: str = "quality", precision: str = BEST) -> list[dict]:
    """Registry checkpoints that fit, best first, each with precision, memory and why: at the
    best precision that fits each, or at the kind of precision asked for."""
    if device_name not in DEVICES:
        raise BadRequest(f"Unknown device {device_name!r}: choose one of {', '.join(DEVICES)}")
    if priority not in PRIORITIES:
        raise BadRequest(f"Priority is quality or speed, not {priority!r}")
    if precision not in PRECISION_CHOICES:
        raise BadRequest(f"Precision is one of {', '.join(PRECISION_CHOICES)}, not {precision!r}")
    device = DEVICES[device_name]
    room = device.memory_gb * device.usable
    rows = []
    for spec, why in _candidates(task):
        for precision_here, label in precisions_for(device, precision):
            need = spec.weight_bytes(precision_here) * KV_SPARE / 1e9
            if need <= room:
                rows.append({"model": spec.key, "hub_id": spec.hub_id, "precision": label,
                             "registry_precision": precision_here,
                             "needs_gb": round(need, 2), "params_b": spec.params_b,
                             "why": N_("{reason}; {need} of {room} GB usable").format(
                                 reason=why, need=f"{need:.1f}", room=f"{room:.1f}"),
                             "_score": (size_class(spec), spec.released,
                                        spec.params_b * _QUALITY[precision_here])})
                break
    if priority == "quality":
        rows.sort(key=lambda r: (r["_score"], -r["needs_gb"]), reverse=True)
    else:
        rows.sort(key=lambda r: (r["params_b"], r["needs_gb"]))
    return [{k: v for k, v in dict(r, rank=i + 1).items() if k != "_score"} for i, r in enumerate(rows)]


COLUMNS = ["rank", "model", "hub_id", "precision", "needs_gb", "why"]
HEADERS = [N_("Rank"), N_("Model"), N_("Hub id"), N_("Precision"), N_("Needs (GB)"), N_("Why")]


def pick_view(task: str, device_name: str, priority: str, lang: str = "en",
              precision: str = BEST):
    """What the tab (and the `family_pick` API) returns: table rows, a summary, the pick."""
    with user_errors(lang):
        rows = pick(task, device_name, priority, precision)
    if not rows:
        return table_of([], lang), _nothing_fits(task, device_name, precision, lang), None
    top = rows[0]
    summary = t(N_("**Best fit for {task} on {device}, {priority} first:** `{hub_id}` at "
                   "{precision}, about {gb} GB with room for the KV cache. {count} checkpoint(s) "
                   "fit."), lang, task=t(TASKS[task], lang), device=t(device_name, lang),
                priority=t(priority, lang), hub_id=top["hub_id"], precision=t(top["precision"], lang),
                gb=top["needs_gb"], count=len(rows))
    picked = {"model": top["model"], "precision": top["registry_precision"], "task": task,
              "device": device_name, "asked": precision,
              "needs": {r["model"]: (r["registry_precision"], r["needs_gb"]) for r in rows}}
    shown = [[t(r[c], lang) if c in ("precision", "why") else r[c] for c in COLUMNS] for r in rows]
    return table_of(shown, lang), summary, picked


def table_of(rows: list[list], lang: str) -> pd.DataFrame:
    """The rows under column names in the learner's language (a DataFrame's columns become the
    table's headers in the tab)."""
    return pd.DataFrame(rows, columns=[t(header, lang) for header in HEADERS])


def _nothing_fits(task: str, device_name: str, precision: str, lang: str) -> str:
    device = DEVICES[device_name]
    if not precisions_for(device, precision):
        offered = ", ".join(dict.fromkeys(t(_KIND[p], lang) for p, _ in precisions_for(device)))
        return t(N_("The picker has no {precision} build for {device}; it offers {offered}."),
                 lang, precision=t(precision, lang), device=t(device_name, lang), offered=offered)
    return t(N_("Nothing in Qwen Lab's registry fits in {gb} GB for {task}. Try a larger "
                "device or another task."), lang,
             gb=f"{device.memory_gb * device.usable:.1f}", task=t(task, lang))


# -- lesson cell runners: the same functions the tab uses -------------------------------------
def run_pick(pool, task="chat", device=next(iter(DEVICES)), priority="quality", precision=BEST,
             lang="en"):
    table, summary, _ = pick_view(task, device, priority, lang, precision=precision)
    yield summary + ("\n\n" + markdown_table(list(table.columns), table.values.tolist())
                     if len(table) else "")


async def run_chat(pool, model=FIRST_CHAT, prompt="Hello!", max_new_tokens="256", lang="en"):
    learner = Learner(None, lang)
    async for update in answer_stream(pool, model,
                                      [{"role": "user", "content": check_prompt(prompt, learner)}],
                                      max_new_tokens=int(max_new_tokens), learner=learner):
        yield run_output(update, lang=lang)


RUNNERS = {"pick": run_pick, "chat": run_chat}


def build(pool) -> None:
    gr.Markdown("Tell the picker what you want to do and what you have; it ranks the checkpoints "
                "Qwen Lab knows, with the precision that fits and the memory it needs.")
    with gr.Row():
        task = gr.Dropdown(list(TASKS), value="chat", label="Task", elem_id="family-task")
        device = gr.Dropdown(list(DEVICES), value="Laptop, CPU only (16 GB)", label="Your device",
                             elem_id="family-device")
        priority = gr.Radio(list(PRIORITIES), value="quality", label="What matters more")
        precision = gr.Radio(list(PRECISION_CHOICES), value=BEST, label="Precision",
                             elem_id="family-precision")
    go = gr.Button("Pick a model", variant="primary", elem_id="family-pick-btn")
    summary = gr.Markdown(elem_id="family-summary")
    table = gr.Dataframe(headers=HEADERS, interactive=False, wrap=True, elem_id="family-table")
    picked = gr.State(None)

    def picked_view(task, device, priority, precision=BEST, request: gr.Request = None):
        return pick_view(task, device, priority, lang_of(request), precision)

    go.click(picked_view, [task, device, priority, precision], [table, summary, picked],
             api_name="family_pick")

    gr.Markdown("### Chat with the pick\nThe top pick answers here, at the precision the picker "
                "chose, on this server's device; until you pick, Qwen3.5-0.8B answers.")
    chatbot = gr.Chatbot(height=360, elem_id="family-chat", label="Chat",
                         latex_delimiters=[{"left": "$$", "right": "$$", "display": True}])
    with gr.Row():
        text = gr.Textbox(placeholder="Ask the picked model something", show_label=False,
                          scale=5, elem_id="family-input")
        send = gr.Button("Send", variant="primary", scale=1, elem_id="family-send")
        stop = gr.Button("Stop", scale=1)
    tokens = gr.Slider(16, 2048, value=256, step=16, label="Max new tokens",
                       elem_id="family-tokens")
    stats = gr.Markdown(elem_id="family-stats")

    async def respond(history, message, choice, max_new_tokens, request: gr.Request):
        choice, learner = choice or {"model": FIRST_CHAT, "precision": None}, learner_of(request)
        async for shown in chat_turn(pool, choice["model"], history,
                                     check_prompt(message, learner),
                                     max_new_tokens=int(max_new_tokens),
                                     precision=choice["precision"], learner=learner,
                                     system=answer_in(learner)):
            yield shown

    event = gr.on([send.click, text.submit], respond, [chatbot, text, picked, tokens],
                  [chatbot, stats],
                  api_visibility="private")
    event.then(clear_if_asked, [chatbot, text], text, api_visibility="private")
    stop.click(None, cancels=[event])
    return {"task": task, "device": device, "priority": priority, "picked": picked,
            "chat": chatbot}


# -- try-it tasks the app checks (lessons/en/01-family.md, "Try it") ---------------------------
def picked_and_asked(picked, history, task: str, device: str) -> tuple[bool, str]:
    """The learner ran the picker for `task` on `device` and asked the top pick something."""
    if not picked or (picked["task"], picked["device"]) != (task, device):
        return False, N_("Pick a model for *{task}* on *{device}* first.").format(task=task,
                                                                                  device=device)
    if not answered(history):
        return False, N_("Now ask `{model}` something in the chat.").format(model=picked["model"])
    return True, N_("`{model}` at {precision} fits and answered.").format(
        model=picked["model"], precision=picked["precision"])


def picked_at(picked, task: str, device: str, precision: str, model: str) -> tuple[bool, str]:
    """The learner picked for `task` on `device` at the kind of precision `precision`, and the
    table shows `model`: the check quotes the picker's figure, weights x 1.2 as in the lesson."""
    if not picked or (picked["task"], picked["device"], picked.get("asked")) != (
            task, device, precision):
        return False, N_("Pick for *{task}* on *{device}* with *Precision* set to *{precision}* "
                         "first.").format(task=task, device=device, precision=precision)
    if model not in picked["needs"]:
        return False, N_("`{model}` does not fit at {precision} here.").format(
            model=model, precision=precision)
    registry_precision, gb = picked["needs"][model]
    return True, N_("The picker's figure for `{model}` at {precision}: {gb} GB, its weights plus "
                    "20% to spare. Compare it with yours.").format(
                        model=model, precision=registry_precision, gb=gb)


CHECKS = {"picked_and_asked": Check(("picked", "chat"), picked_and_asked),
          "picked_at": Check(("picked",), picked_at)}


DEMO = Demo(build=build, runners=RUNNERS, checks=CHECKS)
