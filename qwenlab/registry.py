"""Every checkpoint the lessons use, as plain data.

The registry owns facts: Hub ids, sizes, context lengths, capabilities, Qwen's documented
sampling presets and system prompts, and the memory arithmetic that follows from the sizes.
It does not load anything (loading.py) and knows nothing about lessons or the UI.
Sizes and context lengths are the model cards' figures; presets are Qwen's (QWEN_FACTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qwenlab.errors import N_, BadRequest, UnknownModel

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
    """One generation preset. do_sample=False means greedy (never with thinking on).
    presence_penalty is OpenAI's (subtracted once from the logit of every token already
    written): Qwen3.5's cards recommend it; transformers' generate() has no such argument, so
    engines/plain.py adds it as a logits processor, and an engine without it says so."""

    temperature: float = 0.7
    top_p: float = 0.8
    top_k: int = 20
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    do_sample: bool = True
    presence_penalty: float = 0.0

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


@dataclass(frozen=True)
class Thinking:
    """How a checkpoint thinks, as its chat template and card say.

    hybrid: Qwen3 (April 2025): `enable_thinking` in the template (on unless set to False),
        and `/think` / `/no_think` in a turn switch it softly, the latest winning.
    switch: Qwen3.5: `enable_thinking` only; the small sizes answer without thinking unless
        asked, and the soft switches are gone.
    always: Qwen3-*-Thinking-2507: single-mode; the template opens `<think>` in the prompt,
        so the output has `</think>` but no opening tag.
    """

    mode: str        # hybrid | switch | always
    default: bool    # thinking when the learner does not say

    @property
    def soft_switches(self) -> bool:
        return self.mode == "hybrid"

    @property
    def can_switch(self) -> bool:
        return self.mode != "always"


@dataclass(frozen=True)
class Layout:
    """What an answer holds in memory beside the weights, from the checkpoint's config.json.

    Attention layers keep keys and values for every token of context; Gated DeltaNet layers
    (Qwen3-Next, Qwen3.5) keep a fixed-size state per answer instead: a short convolution
    window and a recurrent matrix per value head, whatever the context length."""

    layers: int
    attention_layers: int        # layers whose cache grows with the context
    kv_heads: int
    head_dim: int
    linear_conv_dim: int = 0     # Gated DeltaNet: 2 * key heads * key dim + value heads * value dim
    linear_conv_kernel: int = 4
    linear_value_heads: int = 0
    linear_key_dim: int = 128
    linear_value_dim: int = 128

    def kv_bytes_per_token(self, width: int = 2) -> int:
        """Keys and values of one token in every attention layer."""
        return 2 * self.attention_layers * self.kv_heads * self.head_dim * width

    def state_bytes(self, width: int = 2) -> int:
        """The fixed state of one answer in the linear-attention layers."""
        linear = self.layers - self.attention_layers
        conv = self.linear_conv_dim * (self.linear_conv_kernel - 1)
        recurrent = self.linear_value_heads * self.linear_key_dim * self.linear_value_dim
        return linear * (conv + recurrent) * width

    def cache_bytes(self, tokens: int, width: int = 2) -> int:
        """What one answer of `tokens` (prompt plus answer) holds beside the weights."""
        return tokens * self.kv_bytes_per_token(width) + self.state_bytes(width)


# What each checkpoint's own generation_config.json holds (pinned revisions, see the commit that
# set these): Qwen2.5-0.5B/1.5B-Instruct and Coder-1.5B repetition_penalty 1.1; 3B, 7B and
# Coder-0.5B 1.05; all temperature 0.7, top_p 0.8, top_k 20. Math-1.5B sets no sampling: greedy.
QWEN25_SMALL = Sampling(temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.1)
QWEN25_PRESET = Sampling(temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.05)
MATH_PRESET = Sampling(do_sample=False)
# Qwen3 documents one preset per mode; greedy decoding with thinking on loops.
QWEN3_THINKING = Sampling(temperature=0.6, top_p=0.95, top_k=20, min_p=0.0)
QWEN3_NON_THINKING = Sampling(temperature=0.7, top_p=0.8, top_k=20, min_p=0.0)
# Qwen2-VL-2B: temperature 0.01, top_k 1 (no repetition penalty); Qwen2.5-VL-3B: temperature
# 1e-6, repetition_penalty 1.05. Both near-greedy, which we say plainly: greedy.
VL_PRESET = Sampling(do_sample=False, repetition_penalty=1.05)


@dataclass(frozen=True)
class ModelSpec:
    """One checkpoint. params_b and non_embedding_b are the model card's billions."""

    key: str
    hub_id: str
    arch: str                      # the config's model_type: qwen2 | qwen3 | qwen3_5 | ...
    params_b: float
    non_embedding_b: float
    context: int                   # tokens the prompt plus answer may fill
    capabilities: frozenset[str]
    presets: dict[str, Sampling] = field(hash=False)
    system_prompt: str | None = None
    note: str = ""
    thinking: Thinking | None = None  # how it thinks, if it does ("thinking" in capabilities)
    layout: Layout | None = None      # what an answer holds beside the weights
    released: str = ""                # year-month of the checkpoint

    @property
    def is_vision(self) -> bool:
        return "vision" in self.capabilities

    @property
    def has_thinking(self) -> bool:
        return self.thinking is not None

    @property
    def is_hybrid(self) -> bool:
        """Gated DeltaNet layers beside attention (a fixed-size state per answer)."""
        return self.layout is not None and self.layout.linear_value_heads > 0

    def preset(self, thinking: bool = False) -> Sampling:
        if thinking and "thinking" in self.presets:
            return self.presets["thinking"]
        return self.presets["default"]

    def memory_bytes(self, precision: str, tokens: int = 4096) -> int:
        """Weights at `precision` plus one answer of `tokens` (bf16 cache and state), an
        estimate: the arithmetic the family picker and the edge calculator show."""
        cache = self.layout.cache_bytes(tokens) if self.layout else 0
        return self.weight_bytes(precision) + cache

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
        raise BadRequest(N_("Unknown precision {precision}: choose one of {precisions}"),
                         precision=repr(precision), precisions=", ".join(PRECISIONS))
    return precision


def _caps(*names: str) -> frozenset[str]:
    return frozenset(("chat",) + names)


_QWEN25 = {"default": QWEN25_PRESET}
_QWEN25_SMALL = {"default": QWEN25_SMALL}
_QWEN3 = {"default": QWEN3_NON_THINKING, "thinking": QWEN3_THINKING}
_VL = {"default": VL_PRESET}
# Qwen3.5-0.8B / 2B cards, "Best practices" (text): no generation_config.json ships with them.
_QWEN35_SMALL = {"default": Sampling(temperature=1.0, top_p=1.0, top_k=20, presence_penalty=2.0),
                 "thinking": Sampling(temperature=1.0, top_p=0.95, top_k=20, presence_penalty=1.5)}
# Qwen3.5-4B card: instruct (non-thinking) general, and thinking general.
_QWEN35_4B = {"default": Sampling(temperature=0.7, top_p=0.8, top_k=20, presence_penalty=1.5),
              "thinking": Sampling(temperature=1.0, top_p=0.95, top_k=20, presence_penalty=1.5)}
# Qwen3-VL Instruct cards and README: temperature 0.7, top_p 0.8, top_k 20, presence 1.5.
_QWEN3_VL = {"default": Sampling(temperature=0.7, top_p=0.8, top_k=20, presence_penalty=1.5)}
# Qwen3-4B-*-2507 cards: Instruct 0.7/0.8/20, Thinking 0.6/0.95/20 (min_p 0 both).
_INSTRUCT_2507 = {"default": QWEN3_NON_THINKING}
_THINKING_2507 = {"default": QWEN3_THINKING, "thinking": QWEN3_THINKING}
# Embedding and reranking models score; they do not sample. Greedy where a preset is asked.
_SCORE = {"default": Sampling(do_sample=False)}

HYBRID = Thinking("hybrid", default=True)
SWITCH_OFF, SWITCH_ON = Thinking("switch", default=False), Thinking("switch", default=True)
ALWAYS = Thinking("always", default=True)


def _dense(layers: int, kv_heads: int, head_dim: int) -> Layout:
    return Layout(layers, layers, kv_heads, head_dim)


def _qwen35(layers: int, kv_heads: int, value_heads: int) -> Layout:
    """Qwen3.5 small: three Gated DeltaNet layers, then one gated attention layer, repeated;
    attention heads of 256, linear heads of 128 with 16 key heads (config.json)."""
    return Layout(layers, layers // 4, kv_heads, 256, linear_conv_dim=2 * 16 * 128 + value_heads * 128,
                  linear_value_heads=value_heads)


MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        # Qwen2.5 instruct (Sep 2024): each size roughly doubles the last; all tie embeddings but 7B.
        ModelSpec("qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B-Instruct", "qwen2", 0.49, 0.36, 32768,
                  _caps(), _QWEN25_SMALL, layout=_dense(24, 2, 64), released="2024-09"),
        ModelSpec("qwen2.5-1.5b", "Qwen/Qwen2.5-1.5B-Instruct", "qwen2", 1.54, 1.31, 32768,
                  _caps(), _QWEN25_SMALL, layout=_dense(28, 2, 128), released="2024-09"),
        ModelSpec("qwen2.5-3b", "Qwen/Qwen2.5-3B-Instruct", "qwen2", 3.09, 2.77, 32768,
                  _caps(), _QWEN25, layout=_dense(36, 2, 128), released="2024-09"),
        ModelSpec("qwen2.5-7b", "Qwen/Qwen2.5-7B-Instruct", "qwen2", 7.61, 6.53, 32768,
                  _caps(), _QWEN25, note="128K context with YaRN rope scaling",
                  layout=_dense(28, 4, 128), released="2024-09"),
        # Math: the 1.5B shape, tuned for English and Chinese maths, 4K context.
        ModelSpec("qwen2.5-math-1.5b", "Qwen/Qwen2.5-Math-1.5B-Instruct", "qwen2", 1.54, 1.31,
                  4096, _caps("math"), {"default": MATH_PRESET}, system_prompt=MATH_COT_PROMPT,
                  layout=_dense(28, 2, 128), released="2024-09"),
        # Coder: the same shapes as Qwen2.5 0.5B / 1.5B, trained on 5.5T tokens of mostly code.
        ModelSpec("qwen2.5-coder-0.5b", "Qwen/Qwen2.5-Coder-0.5B-Instruct", "qwen2", 0.49, 0.36,
                  32768, _caps("code"), _QWEN25, layout=_dense(24, 2, 64), released="2024-11"),
        ModelSpec("qwen2.5-coder-1.5b", "Qwen/Qwen2.5-Coder-1.5B-Instruct", "qwen2", 1.54, 1.31,
                  32768, _caps("code"), _QWEN25_SMALL, layout=_dense(28, 2, 128),
                  released="2024-11"),
        # Qwen3 hybrid thinking (Apr 2025): 0.6B is deeper and narrower than Qwen2.5-0.5B.
        ModelSpec("qwen3-0.6b", "Qwen/Qwen3-0.6B", "qwen3", 0.60, 0.44, 32768,
                  _caps("thinking", "math", "code"), _QWEN3, thinking=HYBRID,
                  layout=_dense(28, 8, 128), released="2025-04"),
        ModelSpec("qwen3-1.7b", "Qwen/Qwen3-1.7B", "qwen3", 1.70, 1.40, 32768,
                  _caps("thinking", "math", "code"), _QWEN3, thinking=HYBRID,
                  layout=_dense(28, 8, 128), released="2025-04"),
        ModelSpec("qwen3-4b", "Qwen/Qwen3-4B", "qwen3", 4.02, 3.60, 32768,
                  _caps("thinking", "math", "code"), _QWEN3, note="128K context with YaRN",
                  thinking=HYBRID, layout=_dense(36, 8, 128), released="2025-04"),
        # Qwen3-2507 (Jul-Aug 2025): the 4B split into two single-mode checkpoints, 256K context.
        ModelSpec("qwen3-4b-instruct-2507", "Qwen/Qwen3-4B-Instruct-2507", "qwen3", 4.02, 3.60,
                  262144, _caps("math", "code"), _INSTRUCT_2507, layout=_dense(36, 8, 128),
                  released="2025-08"),
        ModelSpec("qwen3-4b-thinking-2507", "Qwen/Qwen3-4B-Thinking-2507", "qwen3", 4.02, 3.60,
                  262144, _caps("thinking", "math", "code"), _THINKING_2507, thinking=ALWAYS,
                  layout=_dense(36, 8, 128), released="2025-08"),
        # Vision-language: a ~0.6B ViT in front of a 1.5B / 3B language model (28 px a token).
        ModelSpec("qwen2-vl-2b", "Qwen/Qwen2-VL-2B-Instruct", "qwen2_vl", 2.21, 1.98, 32768,
                  _caps("vision"), {"default": Sampling(do_sample=False)},
                  layout=_dense(28, 2, 128), released="2024-08"),
        ModelSpec("qwen2.5-vl-3b", "Qwen/Qwen2.5-VL-3B-Instruct", "qwen2_5_vl", 3.75, 3.44, 32768,
                  _caps("vision"), _VL, layout=_dense(36, 2, 128), released="2025-01"),
        # Qwen3-VL (Oct 2025): 16 px patches merged 2x2, one visual token per 32x32 pixels. The
        # cards give only the names: sizes counted from config.json's shapes, the ViT included.
        ModelSpec("qwen3-vl-2b", "Qwen/Qwen3-VL-2B-Instruct", "qwen3_vl", 2.13, 1.82, 262144,
                  _caps("vision"), _QWEN3_VL, layout=_dense(28, 8, 128), released="2025-10"),
        ModelSpec("qwen3-vl-4b", "Qwen/Qwen3-VL-4B-Instruct", "qwen3_vl", 4.44, 4.05, 262144,
                  _caps("vision"), _QWEN3_VL, layout=_dense(36, 8, 128), released="2025-10"),
        # Qwen3.5 small (Mar 2026): natively multimodal, 201 languages, a 248K vocabulary, and
        # hybrid layers: 3 Gated DeltaNet + 1 gated attention, repeated (a fixed state, a small
        # KV cache). All tie embeddings. Sizes counted from config.json's shapes (the ViT
        # included, the multi-token-prediction layer not); the cards say only 0.8B / 2B / 4B.
        ModelSpec("qwen3.5-0.8b", "Qwen/Qwen3.5-0.8B", "qwen3_5", 0.85, 0.60, 262144,
                  _caps("thinking", "vision", "code", "math", "tools"), _QWEN35_SMALL,
                  thinking=SWITCH_OFF, layout=_qwen35(24, 2, 16), released="2026-03"),
        ModelSpec("qwen3.5-2b", "Qwen/Qwen3.5-2B", "qwen3_5", 2.21, 1.70, 262144,
                  _caps("thinking", "vision", "code", "math", "tools"), _QWEN35_SMALL,
                  thinking=SWITCH_OFF, layout=_qwen35(24, 2, 16), released="2026-03"),
        ModelSpec("qwen3.5-4b", "Qwen/Qwen3.5-4B", "qwen3_5", 4.54, 3.90, 262144,
                  _caps("thinking", "vision", "code", "math", "tools"), _QWEN35_4B,
                  thinking=SWITCH_ON, layout=_qwen35(32, 4, 32), released="2026-03"),
        # Retrieval (Jun 2025): built on Qwen3-0.6B; an embedding model and a yes/no reranker.
        ModelSpec("qwen3-embedding-0.6b", "Qwen/Qwen3-Embedding-0.6B", "qwen3", 0.60, 0.44, 32768,
                  frozenset({"embed"}), _SCORE, layout=_dense(28, 8, 128), released="2025-06"),
        ModelSpec("qwen3-reranker-0.6b", "Qwen/Qwen3-Reranker-0.6B", "qwen3", 0.60, 0.44, 32768,
                  frozenset({"rerank"}), _SCORE, layout=_dense(28, 8, 128), released="2025-06"),
    )
}


def get_model(key: str) -> ModelSpec:
    try:
        return MODELS[key]
    except KeyError:
        raise UnknownModel(N_("Unknown model {model}. Known models: {models}"),
                           model=repr(key), models=", ".join(MODELS)) from None


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
