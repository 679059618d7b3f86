"""Which matrices LoRA adapts in a checkpoint, and how many parameters that trains, counted from
its config.json alone: the model is built on PyTorch's meta device (shapes, no weights), wrapped
with peft as training would wrap it, and each adapted matrix adds r x (in + out) parameters.

This module owns the target lists per architecture and the count. It loads no weights and
knows nothing of Gradio.
"""

from __future__ import annotations

from dataclasses import dataclass

from qwenlab.finetune import TARGETS

# Qwen3.5's language model, every linear layer: gated attention (6 of the 0.8B's 24 layers),
# Gated DeltaNet (the other 18) and the MLP (all 24). The vision tower's names (attn.qkv,
# attn.proj, linear_fc1, linear_fc2) are not among them: a text habit leaves it frozen.
QWEN35_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj",
                  "in_proj_qkv", "in_proj_z", "in_proj_a", "in_proj_b", "out_proj",
                  "gate_proj", "up_proj", "down_proj")


def default_targets(spec) -> list[str]:
    """q_proj and v_proj (the LoRA paper's choice) for the dense models. In Qwen3.5 those sit in
    only 6 of the 24 layers, so there: every language-model target the trainer accepts."""
    if spec.arch == "qwen3_5":
        return [name for name in QWEN35_TARGETS if name in TARGETS]
    return ["q_proj", "v_proj"]


@dataclass(frozen=True)
class AdapterCount:
    rows: list          # [name, matrices, LoRA parameters], one per target name that matched
    missing: list       # target names that name no linear layer of this model
    trainable: int      # peft's count: the sum of the rows
    base: int           # the model's own parameters
    vision: int         # adapted matrices inside the vision tower

    @property
    def share(self) -> float:
        return self.trainable / self.base


def count_adapter(config_folder, vision: bool, rank: int, targets) -> AdapterCount:
    """Wrap the checkpoint in `config_folder` (its shapes only) with LoRA of `rank` on those
    `targets` that name its linear layers, as peft matches them (the last part of the name)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText

    config = AutoConfig.from_pretrained(config_folder)
    cls = AutoModelForImageTextToText if vision else AutoModelForCausalLM
    with torch.device("meta"):
        model = cls.from_config(config)
    base = sum(p.numel() for p in model.parameters())
    linear = {name.rsplit(".", 1)[-1] for name, m in model.named_modules()
              if isinstance(m, torch.nn.Linear)}
    found = [name for name in targets if name in linear]
    missing = [name for name in targets if name not in linear]
    if not found:
        return AdapterCount([], missing, 0, base, 0)
    model = get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=found,
                                             task_type="CAUSAL_LM"))
    rows: dict[str, list] = {}
    adapted = [(name, m) for name, m in model.named_modules() if hasattr(m, "lora_A")]
    for name, module in adapted:
        kind = name.rsplit(".", 1)[-1]
        row = rows.setdefault(kind, [kind, 0, 0])
        row[1] += 1
        row[2] += rank * (module.in_features + module.out_features)
    trainable, _ = model.get_nb_trainable_parameters()
    return AdapterCount([rows[name] for name in found if name in rows], missing, trainable, base,
                        sum("visual" in name for name, _ in adapted))
