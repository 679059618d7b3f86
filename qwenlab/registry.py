"""Every checkpoint the lessons use, as plain data.

The registry owns facts: Hub ids, sizes, context lengths, capabilities, Qwen's documented
sampling presets and system prompts, and the memory arithmetic that follows from the sizes.
It does not load anything (loading.py) and knows nothing about lessons or the UI.
Sizes and context lengths are the model cards' figures; presets are Qwen's (QWEN_FACTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qwenlab.errors import BadRequest, UnknownModel

PRECISIONS = ("fp32", "bf16", "fp16", "int8", "nf4", "int4")  # int4: ONNX Runtime GenAI, CPU
CAPABILITIES = ("chat", "thinking", "vision", "math", "code")

# Bytes per parameter of the quantized (linear) weights. bitsandbytes leaves the embedding and
# the LM head in 16-bit, and nf4 with double quantization stores ~3% of extra scales.
# int4 is the ONNX builder's: block-quantized with fp32 scales, embeddings and lm_head included.
_LINEAR_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "int8": 1.0, "nf4": 0.5 * 1.03,
                 "int4": 0.65}
_EMBED_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "int8": 2.0, "nf4": 2.0, "int4": 0.65}

MATH_COT_PROMPT = "Please reason step by step, and put your final answer within \\boxed{}."
MATH_TIR_PROMPT = (
    "Please integrate natural language reasoning with programs to solve the problem above, "
    "and put your final answer within \\boxed{}."
)


@dataclass(frozen=True)
class Sampling:
    """One generation preset. do_sample=False means greedy (never with thinking on)."""

    temperature: float = 0.7
    top_p: float = 0.8
    top_k: int = 20
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    do_sample: bool = True

    def generate_kwargs(self) -> dict:
        if not self.do_sample:
            return {"do_sample": False, "repetition_penalty": self.repetition_penalty}
        return {
            "do_sample": True,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "repetition_penalty": self.repetition_penalty,
        }


# Qwen2.5 instruct checkpoints ship this in generation_config.json (Coder and Math included).
QWEN25_PRESET = Sampling(temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.05)
# Qwen3 documents one preset per mode; greedy decoding with thinking on loops.
QWEN3_THINKING = Sampling(temperature=0.6, top_p=0.95, top_k=20, min_p=0.0)
QWEN3_NON_THINKING = Sampling(temperature=0.7, top_p=0.8, top_k=20, min_p=0.0)
# Qwen2-VL / Qwen2.5-VL generation configs are near-greedy (top_k 1); we say so plainly.
VL_PRESET = Sampling(do_sample=False, repetition_penalty=1.05)


@dataclass(frozen=True)
class ModelSpec:
    """One checkpoint. params_b and non_embedding_b are the model card's billions."""

    key: str
    hub_id: str
    arch: str                      # qwen2 | qwen3 | qwen2_vl | qwen2_5_vl
    params_b: float
    non_embedding_b: float
    context: int                   # tokens the prompt plus answer may fill
    capabilities: frozenset[str]
    presets: dict[str, Sampling] = field(hash=False)
    system_prompt: str | None = None
    note: str = ""

    @property
    def is_vision(self) -> bool:
        return "vision" in self.capabilities

    @property
    def has_thinking(self) -> bool:
        return "thinking" in self.capabilities

    def preset(self, thinking: bool = False) -> Sampling:
        if thinking and "thinking" in self.presets:
            return self.presets["thinking"]
        return self.presets["default"]

    def weight_bytes(self, precision: str) -> int:
        """Weights in memory at a precision, from the parameter counts (an estimate)."""
        return estimate_weight_bytes(
            self.non_embedding_b * 1e9, (self.params_b - self.non_embedding_b) * 1e9, precision
        )


def estimate_weight_bytes(linear_params: float, embed_params: float, precision: str) -> int:
    check_precision(precision)
    return int(linear_params * _LINEAR_BYTES[precision] + embed_params * _EMBED_BYTES[precision])


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise BadRequest(f"Unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    return precision


def _caps(*names: str) -> frozenset[str]:
    return frozenset(("chat",) + names)


_QWEN25 = {"default": QWEN25_PRESET}
_QWEN3 = {"default": QWEN3_NON_THINKING, "thinking": QWEN3_THINKING}
_VL = {"default": VL_PRESET}

MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        # Qwen2.5 instruct: each size roughly doubles the last; all tie embeddings but 7B.
        ModelSpec("qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B-Instruct", "qwen2", 0.49, 0.36, 32768,
                  _caps(), _QWEN25),
        ModelSpec("qwen2.5-1.5b", "Qwen/Qwen2.5-1.5B-Instruct", "qwen2", 1.54, 1.31, 32768,
                  _caps(), _QWEN25),
        ModelSpec("qwen2.5-3b", "Qwen/Qwen2.5-3B-Instruct", "qwen2", 3.09, 2.77, 32768,
                  _caps(), _QWEN25),
        ModelSpec("qwen2.5-7b", "Qwen/Qwen2.5-7B-Instruct", "qwen2", 7.61, 6.53, 32768,
                  _caps(), _QWEN25, note="128K context with YaRN rope scaling"),
        # Math: the 1.5B shape, tuned for English and Chinese maths, 4K context.
        ModelSpec("qwen2.5-math-1.5b", "Qwen/Qwen2.5-Math-1.5B-Instruct", "qwen2", 1.54, 1.31,
                  4096, _caps("math"), _QWEN25, system_prompt=MATH_COT_PROMPT),
        # Coder: the same shapes as Qwen2.5 0.5B / 1.5B, trained on 5.5T tokens of mostly code.
        ModelSpec("qwen2.5-coder-0.5b", "Qwen/Qwen2.5-Coder-0.5B-Instruct", "qwen2", 0.49, 0.36,
                  32768, _caps("code"), _QWEN25),
        ModelSpec("qwen2.5-coder-1.5b", "Qwen/Qwen2.5-Coder-1.5B-Instruct", "qwen2", 1.54, 1.31,
                  32768, _caps("code"), _QWEN25),
        # Qwen3 hybrid thinking: 0.6B is deeper and narrower than Qwen2.5-0.5B; all tie embeddings.
        ModelSpec("qwen3-0.6b", "Qwen/Qwen3-0.6B", "qwen3", 0.60, 0.44, 32768,
                  _caps("thinking", "math", "code"), _QWEN3),
        ModelSpec("qwen3-1.7b", "Qwen/Qwen3-1.7B", "qwen3", 1.70, 1.40, 32768,
                  _caps("thinking", "math", "code"), _QWEN3),
        ModelSpec("qwen3-4b", "Qwen/Qwen3-4B", "qwen3", 4.02, 3.60, 32768,
                  _caps("thinking", "math", "code"), _QWEN3, note="128K context with YaRN"),
        # Vision-language: a ~0.6B ViT in front of a 1.5B / 3B language model.
        ModelSpec("qwen2-vl-2b", "Qwen/Qwen2-VL-2B-Instruct", "qwen2_vl", 2.21, 1.98, 32768,
                  _caps("vision"), _VL),
        ModelSpec("qwen2.5-vl-3b", "Qwen/Qwen2.5-VL-3B-Instruct", "qwen2_5_vl", 3.75, 3.44, 32768,
                  _caps("vision"), _VL),
    )
}


def get_model(key: str) -> ModelSpec:
    try:
        return MODELS[key]
    except KeyError:
        raise UnknownModel(
            f"Unknown model {key!r}. Known models: {', '.join(MODELS)}"
        ) from None


def models_with(capability: str) -> list[ModelSpec]:
    return [spec for spec in MODELS.values() if capability in spec.capabilities]


@dataclass(frozen=True)
class FamilyModel:
    """A Qwen checkpoint for memory arithmetic only (most are too big for this lab to load)."""

    name: str
    params_b: float                # all parameters, embeddings included
    non_embedding_b: float         # what bitsandbytes quantizes; embeddings and lm_head stay 16-bit
    active_b: float | None = None  # MoE: parameters used per token (all must still be in memory)

    def weight_bytes(self, precision: str) -> int:
        return estimate_weight_bytes(self.non_embedding_b * 1e9,
                                     (self.params_b - self.non_embedding_b) * 1e9, precision)


# Parameter counts from the model cards (total / non-embedding, and active for MoE).
FAMILY = (
    FamilyModel("Qwen2.5-0.5B-Instruct", 0.49, 0.36),
    FamilyModel("Qwen2.5-1.5B-Instruct", 1.54, 1.31),
    FamilyModel("Qwen2.5-3B-Instruct", 3.09, 2.77),
    FamilyModel("Qwen2.5-7B-Instruct", 7.61, 6.53),
    FamilyModel("Qwen2.5-14B-Instruct", 14.7, 13.1),
    FamilyModel("Qwen2.5-32B-Instruct", 32.5, 31.0),
    FamilyModel("Qwen2.5-72B-Instruct", 72.7, 70.0),
    FamilyModel("Qwen3-0.6B", 0.6, 0.44),
    FamilyModel("Qwen3-1.7B", 1.7, 1.4),
    FamilyModel("Qwen3-4B", 4.0, 3.6),
    FamilyModel("Qwen3-8B", 8.2, 6.95),
    FamilyModel("Qwen3-14B", 14.8, 13.2),
    FamilyModel("Qwen3-32B", 32.8, 31.2),
    FamilyModel("Qwen3-30B-A3B (MoE)", 30.5, 29.9, active_b=3.3),
    FamilyModel("Qwen3-235B-A22B (MoE)", 235.0, 234.0, active_b=22.0),
)


# -- devices, for "does it fit?" (the family picker, the edge lab's memory calculator) -------
@dataclass(frozen=True)
class Device:
    """A kind of machine a learner might have, and what share of its memory a model may take."""

    memory_gb: float
    kind: str          # phone | cpu | gpu
    usable: float      # share of the memory a model may take (the OS and apps need the rest)
    bf16: bool = True


DEVICES = {
    "Phone (8 GB)": Device(8, "phone", 0.4),
    "Laptop, CPU only (8 GB)": Device(8, "cpu", 0.5),
    "Laptop, CPU only (16 GB)": Device(16, "cpu", 0.5),
    "Laptop GPU (6 GB)": Device(6, "gpu", 0.9),
    "T4 GPU (16 GB)": Device(16, "gpu", 0.9, bf16=False),
    "L4 GPU (24 GB)": Device(24, "gpu", 0.9),
    "A100 (80 GB)": Device(80, "gpu", 0.9),
    "H100 (80 GB)": Device(80, "gpu", 0.9),
}
KV_SPARE = 1.2  # weights plus 20% for the KV cache and activations
