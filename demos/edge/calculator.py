"""The memory calculator: every family checkpoint's weights at a precision plus room for the
KV cache, against what each kind of device can give a model; whether one choice fits, with the
arithmetic shown; and the try-it check for the biggest checkpoint a device holds. Plain
arithmetic over the registry (no model is loaded)."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from qwenlab.registry import DEVICES, FAMILY, KV_SPARE, PRECISIONS
from qwenlab.web.i18n import N_, lang_of, t

CALCULATOR_DEVICES = ["Phone (8 GB)", "Laptop, CPU only (16 GB)", "T4 GPU (16 GB)",
                      "L4 GPU (24 GB)", "A100 (80 GB)", "H100 (80 GB)"]


def calculator(precision: str = "bf16", devices: list[str] | None = None,
               lang: str = "en") -> pd.DataFrame:
    """For each family model: the memory it needs at `precision` and where that fits."""
    if precision not in PRECISIONS:
        raise gr.Error(t(N_("Precision is one of {precisions}"), lang,
                         precisions=", ".join(PRECISIONS)))
    devices = devices or CALCULATOR_DEVICES
    rows = []
    for model in FAMILY:
        need = model.weight_bytes(precision) * KV_SPARE / 1e9
        row = {"model": model.name,
               "parameters": f"{model.params_b:g}B" + (f" ({model.active_b:g}B active)"
                                                       if model.active_b else ""),
               "needs GB": round(need, 1)}
        for name in devices:
            device = DEVICES[name]
            row[name] = "✅" if need <= device.memory_gb * device.usable else "❌"
        rows.append(row)
    return pd.DataFrame(rows)


FAMILY_BY_NAME = {model.name: model for model in FAMILY}


def _need_gb(model_name: str, precision: str) -> float:
    return FAMILY_BY_NAME[model_name].weight_bytes(precision) * KV_SPARE / 1e9


def _room_gb(device_name: str) -> float:
    device = DEVICES[device_name]
    return device.memory_gb * device.usable


# whole sentences, one per verdict (and per follow-up the biggest-fit check adds), so that a
# page in another language translates each as one pattern
VERDICTS = {
    False: N_("❌ **{model}** at **{precision}** needs {need} GB (weights plus 20%); **{device}** "
              "gives a model {room} GB ({share} of {memory} GB): it does not fit."),
    True: N_("✅ **{model}** at **{precision}** needs {need} GB (weights plus 20%); **{device}** "
             "gives a model {room} GB ({share} of {memory} GB): it fits."),
    "bigger": N_("✅ **{model}** at **{precision}** needs {need} GB (weights plus 20%); **{device}** "
                 "gives a model {room} GB ({share} of {memory} GB): it fits. A checkpoint with "
                 "more parameters fits too: look further."),
    "more bits": N_("✅ **{model}** at **{precision}** needs {need} GB (weights plus 20%); "
                    "**{device}** gives a model {room} GB ({share} of {memory} GB): it fits. It "
                    "also fits at {better}: more bits per weight, less rounding."),
}


def fit_verdict(model_name: str, precision: str, device_name: str, then=None,
                better: str = "") -> tuple[bool, str]:
    """Whether one checkpoint at one precision fits one device, with the arithmetic shown;
    then: "bigger" or "more bits" for the sentence the biggest-fit check adds to a fit."""
    if (model_name not in FAMILY_BY_NAME or device_name not in DEVICES
            or precision not in PRECISIONS):
        return False, N_("Choose a checkpoint, a precision and a device.")
    need, room = _need_gb(model_name, precision), _room_gb(device_name)
    device = DEVICES[device_name]
    fits = need <= room
    return fits, VERDICTS[then if fits and then else fits].format(
        model=model_name, precision=precision, need=f"{need:.1f}", device=device_name,
        room=f"{room:.1f}", share=f"{device.usable:.0%}", memory=f"{device.memory_gb:g}",
        better=better)


def largest_fit(device_name: str) -> tuple[str, str] | None:
    """(checkpoint, precision): the most parameters that fit the device, at the most bytes per
    parameter that still fits; None when nothing does."""
    room = _room_gb(device_name)
    fits = [(model.params_b, model.weight_bytes(precision), model.name, precision)
            for model in FAMILY for precision in PRECISIONS
            if _need_gb(model.name, precision) <= room]
    return max(fits)[2:] if fits else None


def fit_view(model_name: str, precision: str, device_name: str, lang: str = "en") -> str:
    return t(fit_verdict(model_name, precision, device_name)[1], lang)


def biggest_fit(model: str, precision: str, chosen_device: str, device: str) -> tuple[bool, str]:
    """The calculator shows the largest checkpoint that fits `device`, at a precision that fits."""
    if chosen_device != device:
        return False, N_("Choose *{device}* as the device first.").format(device=device)
    fits, verdict = fit_verdict(model, precision, device)
    if not fits:
        return False, verdict
    best_model, best_precision = largest_fit(device)
    if FAMILY_BY_NAME[model].params_b < FAMILY_BY_NAME[best_model].params_b:
        return False, fit_verdict(model, precision, device, "bigger")[1]
    spec = FAMILY_BY_NAME[model]
    if spec.weight_bytes(best_precision) > spec.weight_bytes(precision):
        return True, fit_verdict(model, precision, device, "more bits", best_precision)[1]
    return True, verdict




def tab() -> dict:
    """The calculator's tab; returns the components the try-it check reads."""
    gr.Markdown("Weights at a precision plus 20% for the KV cache and activations, "
                "against what each device can give a model (the rest is for the system). "
                "MoE models need all their experts in memory, though only the active "
                "ones work on each token.")
    precision = gr.Radio(list(PRECISIONS), value="bf16", label="Precision",
                         elem_id="edge-calc-precision")
    with gr.Row():
        model = gr.Dropdown(list(FAMILY_BY_NAME), value="Qwen2.5-7B-Instruct",
                            label="Does this checkpoint, at the precision above, fit…",
                            elem_id="edge-fit-model")
        device = gr.Dropdown(list(DEVICES), value="Laptop GPU (6 GB)", label="…on this device?",
                             elem_id="edge-fit-device")
    verdict = gr.Markdown(fit_view("Qwen2.5-7B-Instruct", "bf16", "Laptop GPU (6 GB)"),
                          elem_id="edge-fit")
    table = gr.Dataframe(calculator("bf16"), interactive=False, elem_id="edge-calc")
    def calculator_view(precision, request: gr.Request):
        return calculator(precision, lang=lang_of(request))

    def verdict_view(model, precision, device, request: gr.Request):
        return fit_view(model, precision, device, lang_of(request))

    precision.change(calculator_view, precision, table, api_name="edge_calculator")
    gr.on([precision.change, model.change, device.change], verdict_view, [model, precision, device],
          verdict, api_visibility="private")
    return {"fit_model": model, "precision": precision, "fit_device": device}
