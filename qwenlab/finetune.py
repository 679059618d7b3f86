"""LoRA fine-tuning of a small Qwen, live: examples in, a stream of training steps out, then the
adapter saved as safetensors.

This module owns the data (a learner's prompt/response pairs, checked and tokenized with the
model's own chat template, loss on the response only), the settings and their limits, the
training loop (peft LoRA, AdamW, one step at a time so that Stop ends it cleanly between
steps), and saving the adapter. It trains the model it is given: the caller borrows a private
copy from the pool (pool.acquire(private=True)), because LoRA layers change the model they wrap
and no other learner may be answered by it. Nothing here knows of Gradio.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from qwenlab.errors import N_, BadRequest

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
MAX_EXAMPLES, MAX_CHARS = 200, 2000
LIMITS = {  # setting: (lowest, highest): wider than sense, narrower than harm
    "steps": (1, 500), "rank": (1, 64), "alpha": (1, 256), "learning_rate": (1e-6, 1e-2),
    "batch_size": (1, 16), "max_length": (16, 1024),
}


@dataclass(frozen=True)
class Example:
    prompt: str
    response: str


@dataclass(frozen=True)
class LoraSettings:
    steps: int = 30
    rank: int = 8
    alpha: int = 16
    learning_rate: float = 1e-3
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    batch_size: int = 4
    max_length: int = 128
    seed: int = 0

    def checked(self) -> LoraSettings:
        """Itself, or BadRequest naming the setting that is out of range and the range."""
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise BadRequest(N_("{setting} must be between {low} and {high}, not {value}."),
                                 setting=name.replace("_", " "), low=f"{low:g}",
                                 high=f"{high:g}", value=f"{value:g}")
        unknown = set(self.target_modules) - set(TARGETS)
        if not self.target_modules or unknown:
            raise BadRequest(N_("Target modules are some of {targets}; {unknown} is not one.")
                             if unknown else N_("Target modules are some of {targets}."),
                             targets=", ".join(TARGETS), unknown=", ".join(sorted(unknown)))
        return self


def parse_examples(rows) -> list[Example]:
    """[prompt, response] rows (a table a learner edited) as Examples; BadRequest names the row."""
    examples = []
    for number, row in enumerate(rows or [], 1):
        cells = [str(cell or "").strip() for cell in (list(row) + ["", ""])[:2]]
        if not any(cells):
            continue  # a blank row at the end of a table
        if not all(cells):
            raise BadRequest(N_("Row {row} needs both a prompt and a response."), row=number)
        if max(map(len, cells)) > MAX_CHARS:
            raise BadRequest(N_("Row {row} is longer than {limit} characters; shorten it."),
                             row=number, limit=f"{MAX_CHARS:,}")
        examples.append(Example(*cells))
    if len(examples) < 2:
        raise BadRequest(N_("Give at least two examples: a prompt and the response you want for "
                            "it."))
    if len(examples) > MAX_EXAMPLES:
        raise BadRequest(N_("At most {limit} examples in a live run; you gave {count}."),
                         limit=MAX_EXAMPLES, count=len(examples))
    return examples


def encode(tokenizer, example: Example, max_length: int, thinking_template: bool) -> dict:
    """input_ids and labels for one example: the prompt through the chat template (masked out
    of the loss with -100), then the response and the end of the turn, which it learns."""
    extra = {"enable_thinking": False} if thinking_template else {}
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": example.prompt}],
                                           add_generation_prompt=True, tokenize=False, **extra)
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    answer_ids = tokenizer.encode(example.response, add_special_tokens=False) + [
        tokenizer.convert_tokens_to_ids("<|im_end|>")]
    ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([-100] * len(prompt_ids) + answer_ids)[:max_length]
    if all(label == -100 for label in labels):
        raise BadRequest(N_("The prompt “{prompt}…” fills all {count} tokens; raise the maximum "
                            "length or shorten it."), prompt=example.prompt[:40], count=max_length)
    return {"input_ids": ids, "labels": labels}


def batches(encoded: list[dict], batch_size: int, pad_id: int, seed: int) -> Iterator[dict]:
    """Endless batches: the examples shuffled once per pass, padded to the longest in a batch."""
    import torch

    rng = random.Random(seed)
    while True:
        order = list(range(len(encoded)))
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            chunk = [encoded[i] for i in order[start:start + batch_size]]
            width = max(len(item["input_ids"]) for item in chunk)

            def pad(key, value):
                return torch.tensor([item[key] + [value] * (width - len(item[key])) for item in chunk])

            mask = torch.tensor([[1] * len(item["input_ids"]) + [0] * (width - len(item["input_ids"]))
                                 for item in chunk])
            yield {"input_ids": pad("input_ids", pad_id), "labels": pad("labels", -100),
                   "attention_mask": mask}


@dataclass(frozen=True)
class Started:
    trainable: int           # LoRA parameters that learn
    total: int               # all parameters, the frozen base included
    examples: int
    settings: LoraSettings
    model: Any = None        # the peft.PeftModel now wrapping the model (to compare, to save)

    @property
    def share(self) -> float:
        return self.trainable / self.total


@dataclass(frozen=True)
class Step:
    step: int
    steps: int
    loss: float
    tokens: int              # tokens in this step's batch (padding excluded)
    seconds: float           # this step
    elapsed: float           # since the first step began

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    @property
    def eta_s(self) -> float:
        return self.elapsed / self.step * (self.steps - self.step)


@dataclass(frozen=True)
class Finished:
    steps_done: int
    stopped: bool            # Stop (or a closed tab) ended it early
    first_loss: float | None
    last_loss: float | None
    seconds: float


def train(model, tokenizer, examples: list[Example], settings: LoraSettings,
          cancel: threading.Event, thinking_template: bool = False) -> Iterator:
    """Wrap `model` with LoRA adapters and train them: yields Started (which carries the
    peft.PeftModel: use it from then on), one Step per step, then Finished."""
    import torch
    from peft import LoraConfig, get_peft_model

    settings = settings.checked()
    encoded = [encode(tokenizer, e, settings.max_length, thinking_template) for e in examples]
    torch.manual_seed(settings.seed)
    peft_model = get_peft_model(model, LoraConfig(
        r=settings.rank, lora_alpha=settings.alpha, lora_dropout=0.0,
        target_modules=list(settings.target_modules), task_type="CAUSAL_LM"))
    trainable, total = peft_model.get_nb_trainable_parameters()
    yield Started(trainable, total, len(examples), settings, peft_model)
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad],
                                  lr=settings.learning_rate)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    stream = batches(encoded, settings.batch_size, pad, settings.seed)
    peft_model.train()
    losses, started = [], time.perf_counter()
    try:
        for number in range(1, settings.steps + 1):
            if cancel.is_set():
                break
            begun = time.perf_counter()
            batch = {k: v.to(peft_model.device) for k, v in next(stream).items()}
            loss = peft_model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            now = time.perf_counter()
            yield Step(number, settings.steps, losses[-1], int(batch["attention_mask"].sum()),
                       now - begun, now - started)
    finally:
        peft_model.eval()
    yield Finished(len(losses), len(losses) < settings.steps, losses[0] if losses else None,
                   losses[-1] if losses else None, time.perf_counter() - started)


def save_adapter(peft_model, folder: Path) -> Path:
    """The adapter as the folder PeftModel.from_pretrained reads (safetensors), and a zip of it."""
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    peft_model.save_pretrained(folder, safe_serialization=True)
    archive = folder.parent / f"{folder.name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(folder.iterdir()):
            zipped.write(path, f"{folder.name}/{path.name}")
    return archive


def activation_bytes(config: dict, settings: LoraSettings, width: int = 4) -> int:
    """What one training step holds beside the weights, to charge the pool before loading:
    activations kept for the backward pass, about 34 bytes per token per hidden unit per layer
    in 16-bit (Korthikanti et al. 2022, "Reducing Activation Recomputation", without
    recomputation), so 17 x `width` bytes; plus the LoRA weights, their gradients and AdamW's
    two moments in fp32. `config` is the checkpoint's config.json (its text part for VL)."""
    text = config.get("text_config") or config
    layers, hidden = text["num_hidden_layers"], text["hidden_size"]
    tokens = settings.batch_size * settings.max_length
    lora = settings.rank * 2 * hidden * layers * len(settings.target_modules)
    return int(layers * tokens * hidden * 17 * width + lora * 4 * 4)
