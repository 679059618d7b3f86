"""The memory calculator: every family checkpoint's weights at a precision plus room for the
cache, against what each kind of device can give a model; whether one choice fits, with the
arithmetic shown; the cache of one answer, layer by layer (the lesson's worked numbers); and
the try-it check for the biggest checkpoint a device holds. Plain arithmetic over the registry
(no model is loaded).

Two rules, one per kind of model. A model of attention layers only gets its weights plus 20%
(KV_SPARE: the lesson's rule of thumb for one learner with a modest prompt). A hybrid model
(Qwen3.5: three Gated DeltaNet layers to each attention layer) has its cache counted from its
layout instead, `spec.memory_bytes`, for one answer of CONTEXT_TOKENS: a KV cache in its few
attention layers and a fixed state in the rest, whatever the context length."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from qwenlab.registry import (
    DEVICES,
    FAMILY,
    KV_SPARE,
    MODELS,
    PRECISIONS,
    FamilyModel,
    ModelSpec,
    get_model,
)
from qwenlab.web.i18n import N_, lang_of, t
from qwenlab.web.ui import learner_error

CALCULATOR_DEVICES = ["Phone (8 GB)", "Laptop, CPU only (16 GB)", "T4 GPU (16 GB)",
                      "L4 GPU (24 GB)", "A100 (80 GB)", "H100 (80 GB)"]
CONTEXT_TOKENS = 32768  # one answer's prompt plus reply, for the rows whose cache is counted
DEFAULT_CHECKPOINT, DEFAULT_DEVICE = "Qwen3.5-0.8B", "Phone (8 GB)"


def _name(spec: ModelSpec) -> str:
    return spec.hub_id.rsplit("/", 1)[-1]


# the family (weights + 20%), then the registry's hybrid models (cache from their layout)
CHECKPOINTS: dict[str, FamilyModel | ModelSpec] = (
    {model.name: model for model in FAMILY}
    | {_name(spec): spec for spec in MODELS.values() if spec.is_hybrid})


def counts_cache(checkpoint) -> bool:
    """Whether the calculator counts this checkpoint's cache from its layers (a hybrid model)."""
    return isinstance(checkpoint, ModelSpec)


def need_bytes(checkpoint, precision: str) -> float:
    """What one checkpoint needs at `precision`: its weights plus 20%, or for a hybrid model
    its weights plus the cache and state of one answer of CONTEXT_TOKENS."""
    if counts_cache(checkpoint):
        return checkpoint.memory_bytes(precision, CONTEXT_TOKENS)
    return checkpoint.weight_bytes(precision) * KV_SPARE


def calculator(precision: str = "bf16", devices: list[str] | None = None,
               lang: str = "en") -> pd.DataFrame:
    """For each checkpoint: the memory it needs at `precision` and where that fits."""
    if precision not in PRECISIONS:
        raise learner_error(lang, t(N_("Precision is one of {precisions}"), lang,
                         precisions=", ".join(PRECISIONS)))
    devices = devices or CALCULATOR_DEVICES
    rows = []
    for name, model in CHECKPOINTS.items():
        need = need_bytes(model, precision) / 1e9
        active = getattr(model, "active_b", None)
        row = {t(N_("model"), lang): name,
               t(N_("parameters"), lang): f"{model.params_b:g}B" + (
                   " (" + t(N_("{count}B active"), lang, count=f"{active:g}") + ")" if active
                   else ""),
               t(N_("needs GB"), lang): round(need, 1)}
        for device_name in devices:  # the devices' names are N_() keys (DEVICES)
            device = DEVICES[device_name]
            row[t(device_name, lang)] = "✅" if need <= device.memory_gb * device.usable else "❌"
        rows.append(row)
    return pd.DataFrame(rows)


def cache_table(keys: list[str], tokens: int = CONTEXT_TOKENS) -> pd.DataFrame:
    """What one answer of `tokens` holds beside the weights, in bf16, for registry models:
    the KV cache of the attention layers and the fixed state of the Gated DeltaNet layers,
    from each model's layout (config.json's shapes)."""
    rows = []
    for key in keys:
        spec = get_model(key)
        layout = spec.layout
        rows.append({"model": spec.hub_id,
                     "attention layers": f"{layout.attention_layers} of {layout.layers}",
                     "KV bytes a token": f"{layout.kv_bytes_per_token():,}",
                     "fixed state bytes": f"{layout.state_bytes():,}",
                     f"cache GB at {tokens:,} tokens": round(layout.cache_bytes(tokens) / 1e9, 2),
                     "bf16 weights GB": round(spec.weight_bytes("bf16") / 1e9, 2)})
    return pd.DataFrame(rows)


def _need_gb(model_name: str, precision: str) -> float:
    return need_bytes(CHECKPOINTS[model_name], precision) / 1e9


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
# the same four for a hybrid model, whose cache is counted for one answer of {tokens} tokens
HYBRID_VERDICTS = {
    False: N_("❌ **{model}** at **{precision}** needs {need} GB (weights plus the cache of one "
              "{tokens}-token answer); **{device}** gives a model {room} GB ({share} of {memory} "
              "GB): it does not fit."),
    True: N_("✅ **{model}** at **{precision}** needs {need} GB (weights plus the cache of one "
             "{tokens}-token answer); **{device}** gives a model {room} GB ({share} of {memory} "
             "GB): it fits."),
    "bigger": N_("✅ **{model}** at **{precision}** needs {need} GB (weights plus the cache of one "
                 "{tokens}-token answer); **{device}** gives a model {room} GB ({share} of "
                 "{memory} GB): it fits. A checkpoint with more parameters fits too: look "
                 "further."),
    "more bits": N_("✅ **{model}** at **{precision}** needs {need} GB (weights plus the cache of "
                    "one {tokens}-token answer); **{device}** gives a model {room} GB ({share} of "
                    "{memory} GB): it fits. It also fits at {better}: more bits per weight, less "
                    "rounding."),
}


def fit_verdict(model_name: str, precision: str, device_name: str, then=None,
                better: str = "") -> tuple[bool, str]:
    """Whether one checkpoint at one precision fits one device, with the arithmetic shown;
    then: "bigger" or "more bits" for the sentence the biggest-fit check adds to a fit."""
    if (model_name not in CHECKPOINTS or device_name not in DEVICES
            or precision not in PRECISIONS):
        return False, N_("Choose a checkpoint, a precision and a device.")
    need, room = _need_gb(model_name, precision), _room_gb(device_name)
    device = DEVICES[device_name]
    fits = need <= room
    sentences = HYBRID_VERDICTS if counts_cache(CHECKPOINTS[model_name]) else VERDICTS
    return fits, sentences[then if fits and then else fits].format(
        model=model_name, precision=precision, need=f"{need:.1f}", device=device_name,
        room=f"{room:.1f}", share=f"{device.usable:.0%}", memory=f"{device.memory_gb:g}",
        better=better, tokens=f"{CONTEXT_TOKENS:,}")


def largest_fit(device_name: str) -> tuple[str, str] | None:
    """(checkpoint, precision): the most parameters that fit the device, at the most bytes per
    parameter that still fits; None when nothing does."""
    room = _room_gb(device_name)
    fits = [(model.params_b, model.weight_bytes(precision), name, precision)
            for name, model in CHECKPOINTS.items() for precision in PRECISIONS
            if _need_gb(name, precision) <= room]
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
    if CHECKPOINTS[model].params_b < CHECKPOINTS[best_model].params_b:
        return False, fit_verdict(model, precision, device, "bigger")[1]
    spec = CHECKPOINTS[model]
    if spec.weight_bytes(best_precision) > spec.weight_bytes(precision):
        return True, fit_verdict(model, precision, device, "more bits", best_precision)[1]
    return True, verdict


def tab() -> dict:
    """The calculator's tab; returns the components the try-it check reads."""
    gr.Markdown("Weights at a precision plus 20% for the KV cache and activations, "
                "against what each device can give a model (the rest is for the system). "
                "MoE models need all their experts in memory, though only the active "
                "ones work on each token. Qwen3.5 rows count their cache from their layers "
                f"instead, for one answer of {CONTEXT_TOKENS:,} tokens: keys and values in one "
                "layer of four, a fixed state in the other three.")
    precision = gr.Radio(list(PRECISIONS), value="bf16", label="Precision",
                         elem_id="edge-calc-precision")
    with gr.Row():
        model = gr.Dropdown(list(CHECKPOINTS), value=DEFAULT_CHECKPOINT,
                            label="Does this checkpoint, at the precision above, fit…",
                            elem_id="edge-fit-model")
        device = gr.Dropdown(list(DEVICES), value=DEFAULT_DEVICE, label="…on this device?",
                             elem_id="edge-fit-device")
    verdict = gr.Markdown(fit_view(DEFAULT_CHECKPOINT, "bf16", DEFAULT_DEVICE),
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
