"""The family lesson's demo: "which Qwen fits my task and my device?", then chat with the pick.

`pick()` is plain logic over the registry (tested on its own); `build(pool)` lays out the tab;
RUNNERS serve the lesson's Run buttons with the same functions the tab uses.
Run alone: python -m qwenlab.demos.family
"""

from __future__ import annotations

import gradio as gr

from qwenlab.errors import BadRequest
from qwenlab.registry import DEVICES, KV_SPARE, MODELS, Device, ModelSpec
from qwenlab.web.demo import Check, Demo
from qwenlab.web.i18n import N_, lang_of, t
from qwenlab.web.ui import (
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


def _candidates(task: str) -> list[tuple[ModelSpec, str]]:
    """(spec, why it suits the task) for the registry models that do the task."""
    general = [s for s in MODELS.values() if s.capabilities == {"chat"} or s.has_thinking]
    by_task = {
        "chat": [(s, N_("general instruct model")) for s in general],
        "math": [(s, N_("Math specialist: chain-of-thought prompt, English and Chinese, 4K context"))
                 if "math" in s.capabilities and not s.has_thinking else (s, N_("thinks through maths"))
                 for s in MODELS.values() if "math" in s.capabilities],
        "code": [(s, N_("Coder specialist, trained mostly on code")) if not s.has_thinking
                 else (s, N_("general model that codes and can think")) for s in MODELS.values()
                 if "code" in s.capabilities],
        "vision": [(s, N_("vision-language model")) for s in MODELS.values() if s.is_vision],
        "many languages": [(s, N_("Qwen3: 119 languages and dialects")) if s.has_thinking
                           else (s, N_("Qwen2.5: over 29 languages")) for s in general],
        "hard reasoning": [(s, N_("hybrid thinking: reasons before answering")) for s in MODELS.values()
                           if s.has_thinking],
    }
    if task not in by_task:
        raise BadRequest(f"Unknown task {task!r}: choose one of {', '.join(TASKS)}")
    return by_task[task]


def precisions_for(device: Device) -> list[tuple[str, str]]:
    """(registry precision, how to label it) in order of preference on this device."""
    if device.kind == "phone":
        return [("nf4", N_("4-bit (a GGUF or ONNX int4 build)"))]
    if device.kind == "cpu":
        return [("bf16", "bf16"), ("nf4", N_("4-bit (GGUF or ONNX int4 runs fastest on a CPU)"))]
    half = "bf16" if device.bf16 else "fp16"
    return [(half, half), ("int8", N_("int8 (bitsandbytes)")), ("nf4", N_("nf4 (bitsandbytes)"))]


def pick(task: str, device_name: str, priority: str = "quality") -> list[dict]:
    """Registry checkpoints that fit, best first, each with precision, memory and why."""
    if device_name not in DEVICES:
        raise BadRequest(f"Unknown device {device_name!r}: choose one of {', '.join(DEVICES)}")
    if priority not in PRIORITIES:
        raise BadRequest(f"Priority is quality or speed, not {priority!r}")
    device = DEVICES[device_name]
    room = device.memory_gb * device.usable
    rows = []
    for spec, why in _candidates(task):
        for precision, label in precisions_for(device):
            need = spec.weight_bytes(precision) * KV_SPARE / 1e9
            if need <= room:
                rows.append({"model": spec.key, "hub_id": spec.hub_id, "precision": label,
                             "registry_precision": precision,
                             "needs_gb": round(need, 2), "params_b": spec.params_b,
                             "why": N_("{reason}; {need} of {room} GB usable").format(
                                 reason=why, need=f"{need:.1f}", room=f"{room:.1f}"),
                             "_score": spec.params_b * _QUALITY[precision]})
                break
    if priority == "quality":
        rows.sort(key=lambda r: (-r["_score"], r["needs_gb"]))
    else:
        rows.sort(key=lambda r: (r["params_b"], r["needs_gb"]))
    return [{k: v for k, v in dict(r, rank=i + 1).items() if k != "_score"} for i, r in enumerate(rows)]


COLUMNS = ["rank", "model", "hub_id", "precision", "needs_gb", "why"]


def pick_view(task: str, device_name: str, priority: str, lang: str = "en"):
    """What the tab (and the `family_pick` API) returns: table rows, a summary, the top key."""
    with user_errors(lang):
        rows = pick(task, device_name, priority)
    if not rows:
        device = DEVICES[device_name]
        return [], t(N_("Nothing in Qwen Lab's registry fits in {gb} GB for {task}. Try a larger "
                        "device or another task."), lang,
                     gb=f"{device.memory_gb * device.usable:.1f}", task=t(task, lang)), None
    top = rows[0]
    summary = t(N_("**Best fit for {task} on {device}, {priority} first:** `{hub_id}` at "
                   "{precision}, about {gb} GB with room for the KV cache. {count} checkpoint(s) "
                   "fit."), lang, task=t(TASKS[task], lang), device=t(device_name, lang),
                priority=t(priority, lang), hub_id=top["hub_id"], precision=t(top["precision"], lang),
                gb=top["needs_gb"], count=len(rows))
    picked = {"model": top["model"], "precision": top["registry_precision"], "task": task,
              "device": device_name}
    shown = [[t(r[c], lang) if c in ("precision", "why") else r[c] for c in COLUMNS] for r in rows]
    return shown, summary, picked


# -- lesson cell runners: the same functions the tab uses -------------------------------------
def run_pick(pool, task="chat", device=next(iter(DEVICES)), priority="quality"):
    rows, summary, _ = pick_view(task, device, priority)
    yield summary + ("\n\n" + markdown_table(COLUMNS, rows) if rows else "")


async def run_chat(pool, model="qwen2.5-0.5b", prompt="Hello!", max_new_tokens="256"):
    async for update in answer_stream(pool, model,
                                      [{"role": "user", "content": check_prompt(prompt)}],
                                      max_new_tokens=int(max_new_tokens)):
        yield run_output(update)


RUNNERS = {"pick": run_pick, "chat": run_chat}


def build(pool) -> None:
    gr.Markdown("Tell the picker what you want to do and what you have; it ranks the checkpoints "
                "Qwen Lab knows, with the precision that fits and the memory it needs.")
    with gr.Row():
        task = gr.Dropdown(list(TASKS), value="chat", label="Task", elem_id="family-task")
        device = gr.Dropdown(list(DEVICES), value="Laptop, CPU only (16 GB)", label="Your device",
                             elem_id="family-device")
        priority = gr.Radio(list(PRIORITIES), value="quality", label="What matters more")
    go = gr.Button("Pick a model", variant="primary", elem_id="family-pick-btn")
    summary = gr.Markdown(elem_id="family-summary")
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, elem_id="family-table")
    picked = gr.State(None)
    def picked_view(task, device, priority, request: gr.Request):
        return pick_view(task, device, priority, lang_of(request))

    go.click(picked_view, [task, device, priority], [table, summary, picked],
             api_name="family_pick")

    gr.Markdown("### Chat with the pick\nThe top pick answers here, at the precision the picker "
                "chose, on this server's device; until you pick, Qwen2.5-0.5B-Instruct answers.")
    chatbot = gr.Chatbot(height=360, elem_id="family-chat", label="Chat",
                         latex_delimiters=[{"left": "$$", "right": "$$", "display": True}])
    with gr.Row():
        text = gr.Textbox(placeholder="Ask the picked model something", show_label=False,
                          scale=5, elem_id="family-input")
        send = gr.Button("Send", variant="primary", scale=1, elem_id="family-send")
        stop = gr.Button("Stop", scale=1)
    stats = gr.Markdown(elem_id="family-stats")

    async def respond(history, message, choice, request: gr.Request):
        choice, learner = choice or {"model": "qwen2.5-0.5b", "precision": None}, learner_of(request)
        async for shown in chat_turn(pool, choice["model"], history,
                                     check_prompt(message, learner), max_new_tokens=256,
                                     precision=choice["precision"], learner=learner,
                                     system=answer_in(learner)):
            yield shown

    event = gr.on([send.click, text.submit], respond, [chatbot, text, picked], [chatbot, stats],
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


CHECKS = {"picked_and_asked": Check(("picked", "chat"), picked_and_asked)}


DEMO = Demo(build=build, runners=RUNNERS, checks=CHECKS)
