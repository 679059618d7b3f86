"""The fine-tuning lesson's demo: LoRA on a small Qwen, live, on a dataset the learner edits.

It streams the run (loss per step as a plot, tokens/s, time left, trainable parameters and
their share, peak memory), then answers the same new questions with the base and the adapted
model side by side, and offers the adapter as a zip with the lines that load it. The model is a
private copy from the pool (charged to its budget, freed afterwards); one run trains at a time
per machine and the others see their place in line; Stop or a closed tab ends a run between
two steps. `run()` is the one function behind the tab, the `finetune` API and the Run buttons;
targets.py counts what LoRA would adapt in a model from its shapes alone.
Run alone: python -m qwenlab.demos.finetune
"""

from __future__ import annotations

import json
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

import gradio as gr
import pandas as pd

from qwenlab import system
from qwenlab.demos.finetune.checks import CHECKS
from qwenlab.demos.finetune.data import COMPARE, EXAMPLES
from qwenlab.demos.finetune.targets import QWEN35_TARGETS, count_adapter, default_targets
from qwenlab.engines import Waiting
from qwenlab.events import collect
from qwenlab.finetune import (
    TARGETS,
    Finished,
    LoraSettings,
    Started,
    Step,
    activation_bytes,
    parse_examples,
    save_adapter,
    train,
)
from qwenlab.generation import stream_chat
from qwenlab.loading import fetch, precision_problem
from qwenlab.memory import PeakMemory
from qwenlab.registry import Sampling, get_model
from qwenlab.web.demo import VERBATIM, Demo
from qwenlab.web.i18n import N_, t
from qwenlab.web.ui import (
    Learner,
    learner_error,
    learner_of,
    markdown_table,
    table_rows,
    user_errors,
    who,
)

MODELS = ["qwen2.5-0.5b", "qwen2.5-1.5b", "qwen3-0.6b", "qwen3-1.7b", "qwen3.5-0.8b"]
PRECISIONS = {"fp32": "fp32", "bf16": "bf16", "nf4 (QLoRA)": "nf4"}
COMPARE_TOKENS = 48
# The adapter's weights are named after the class that trained it: a Qwen3.5 adapter (trained
# on the multimodal class, as the pool loads it) finds none of its layers in the text-only
# AutoModelForCausalLM, and peft only warns.
LOAD_SNIPPET = """```python
from peft import PeftModel
from transformers import {auto_class}, AutoTokenizer

base = "{hub_id}"
tokenizer = AutoTokenizer.from_pretrained(base)
model = {auto_class}.from_pretrained(base, dtype="auto", device_map="auto")
model = PeftModel.from_pretrained(model, "{folder}")   # the unzipped adapter folder
```"""


def default_model(device: str) -> str:
    return "qwen2.5-1.5b" if device == "cuda" else "qwen2.5-0.5b"


def default_precision(device: str) -> str:
    """bf16 where the hardware multiplies it: GPUs from Ampere on (not a T4) and CPUs with
    AVX-512 BF16 or AMX (there a step took a third of fp32's time, bench/finetune.py); fp32
    elsewhere, where bf16 is emulated and slower (and fp16 training would need a loss scaler,
    which this plain loop does not have)."""
    if device == "cuda":
        import torch

        # the bare call also answers yes where bf16 is only emulated, as on a T4
        return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp32"
    return "bf16" if system.cpu_bf16() else "fp32"


@dataclass
class RunUpdate:
    status: str = ""
    losses: list = field(default_factory=list)       # [(step, loss)]
    compare: list = field(default_factory=list)      # [[prompt, base, adapted]]
    adapter: str | None = None                       # the zip, once saved
    summary: dict | None = None                      # for the try-it checks


def settings_from(steps, rank, alpha, learning_rate, targets, batch_size=4, max_length=128,
                  lang: str = "en"):
    with user_errors(lang):
        return LoraSettings(int(steps), int(rank), int(alpha), float(learning_rate),
                            tuple(targets or ()), int(batch_size), int(max_length)).checked()


async def run(pool, rows, model: str, precision: str, settings: LoraSettings,
              compare_text: str = "", learner: str | None = None) -> AsyncIterator[RunUpdate]:
    """Yields RunUpdate as the run waits, loads, trains, compares and saves; learner: a Learner
    (or a bare session id) for the rate and the language of the status, None for lesson cells.
    The run itself happens in the machine's fine-tuning line (pool.training, one at a time):
    closing this stream (Stop, a closed tab) ends it between two steps."""
    session, lang = who(learner)
    with user_errors(lang):
        examples = parse_examples(table_rows(rows))
        spec = get_model(model)
    if model not in MODELS:
        raise learner_error(lang, t(N_("Fine-tune one of {models}; {model} is not offered here."), lang,
                         models=", ".join(MODELS), model=model))
    prompts = [line.strip() for line in (compare_text or "").splitlines() if line.strip()][:5]
    with user_errors(lang):
        pool.rates.check(session)
        stream = pool.training.submit(lambda put, stopped: _Run(
            pool, spec, precision, lang, put, stopped).run(examples, settings, prompts or COMPARE))
        async for item in stream:
            if isinstance(item, Waiting):
                yield RunUpdate(status="⏳ " + t(N_("Number {place} in line to train: one "
                                                    "fine-tuning run at a time."), lang,
                                                 place=item.place))
            else:
                yield item


class _Run:
    """One fine-tuning run, in the training line's worker thread: a private copy of the model
    loaded, trained, compared with the base, the adapter saved. Each stage `put`s a snapshot
    of the RunUpdate; `stopped()` (Stop, a closed tab) ends the training between steps."""

    def __init__(self, pool, spec, precision: str, lang: str, put, stopped):
        self.pool, self.spec, self.precision, self.lang = pool, spec, precision, lang
        self.put, self.stop = put, _Stop(stopped)
        self.update = RunUpdate()

    def emit(self) -> None:
        u = self.update
        self.put(RunUpdate(u.status, list(u.losses), [list(row) for row in u.compare], u.adapter,
                           dict(u.summary) if u.summary else None))

    def run(self, examples, settings: LoraSettings, prompts: list[str]) -> None:
        spec, update = self.spec, self.update
        config = json.loads(Path(fetch(spec, weights=False), "config.json").read_text())
        extra = activation_bytes(config, settings, width=4 if self.precision == "fp32" else 2)

        def progress(stage, fraction, message):
            update.status = f"⏳ {t(message, self.lang)}"
            self.emit()

        loaded = self.pool.acquire(spec.key, self.precision, progress=progress, private=True,
                                   extra_bytes=extra)
        try:
            model = self._train(loaded, examples, settings)
            self._compare(loaded, model, prompts)
            folder = Path(tempfile.mkdtemp(prefix="qwenlab-lora-")) / f"{spec.key}-lora"
            update.adapter = str(save_adapter(model, folder))
            saved = t(N_("**Adapter saved** ({name}.zip, safetensors). Load it with:"), self.lang,
                      name=folder.name)
            snippet = LOAD_SNIPPET.format(hub_id=spec.hub_id, folder=folder.name,
                                          auto_class="AutoModelForImageTextToText"
                                          if spec.is_vision else "AutoModelForCausalLM")
            update.status += f"\n\n{saved}\n\n{snippet}"
            self.emit()
        finally:
            self.pool.release(loaded)

    def _train(self, loaded, examples, settings):
        """The training loop; returns the model with its LoRA layers."""
        update, lang = self.update, self.lang
        meter = PeakMemory(loaded.device).start()
        started, model = None, loaded.model
        try:
            for event in train(loaded.model, loaded.tokenizer, examples, settings, self.stop,
                               thinking_template=loaded.spec.has_thinking):
                if isinstance(event, Started):
                    started, model = event, event.model  # the private copy, now with LoRA
                    update.status = _started_line(event, loaded, lang)
                elif isinstance(event, Step):
                    update.losses.append((event.step, round(event.loss, 4)))
                    update.status = _step_line(event, started, meter, lang)
                elif isinstance(event, Finished):
                    losses = [loss for _, loss in update.losses]
                    update.summary = {"model": loaded.spec.key, "steps": event.steps_done,
                                      "trainable": started.trainable, "share": started.share,
                                      "first_loss": event.first_loss,
                                      "last_loss": event.last_loss, "stopped": event.stopped,
                                      # three steps each: one batch can be easier than the next
                                      "start": sum(losses[:3]) / max(1, len(losses[:3])),
                                      "end": sum(losses[-3:]) / max(1, len(losses[-3:]))}
                    update.status = _finished_line(event, started, meter.stop(), lang)
                self.emit()
        finally:
            meter.stop()
        return model

    def _compare(self, loaded, model, prompts) -> None:
        """The same new questions, greedy, without and with the adapter, on a plain engine of
        this run's own (the copy is private: no one else's line)."""
        from qwenlab.engines.plain import TransformersEngine

        greedy = Sampling(do_sample=False)
        engine = TransformersEngine(model, f"{loaded.spec.key} (LoRA)", 1, 1)
        try:
            for prompt in prompts:
                answers = []
                for adapter in (False, True):
                    messages = [{"role": "user", "content": prompt}]
                    with model.disable_adapter() if not adapter else nullcontext():
                        _, text, _ = collect(stream_chat(
                            loaded, messages, thinking=False, sampling=greedy,
                            max_new_tokens=COMPARE_TOKENS, engine=engine))
                    answers.append(" ".join(text.split()) or "(no text)")
                self.update.compare.append([prompt, *answers])
                self.emit()
        finally:
            engine.close()


class _Stop:
    """Stop as the training loop asks for it (an Event's is_set), from the line's `stopped`."""

    def __init__(self, stopped):
        self.is_set = stopped


def _started_line(event: Started, loaded, lang: str = "en") -> str:
    return t(N_("Training **{trainable}** LoRA parameters, **{share}** of the {total} in {model} "
                "({precision}); the rest stay frozen. {examples} examples."), lang,
             trainable=f"{event.trainable:,}", share=f"{event.share:.3%}", total=f"{event.total:,}",
             model=loaded.spec.key, precision=loaded.precision, examples=event.examples)


def _step_line(step: Step, started: Started, meter: PeakMemory, lang: str = "en") -> str:
    return t(N_("Step **{step} / {steps}** · loss **{loss}** · {speed} tokens/s · {seconds} s a "
                "step · about {eta} s left · {trainable} trainable ({share})"), lang,
             step=step.step, steps=step.steps, loss=f"{step.loss:.3f}",
             speed=f"{step.tokens_per_s:,.0f}", seconds=f"{step.seconds:.1f}",
             eta=f"{step.eta_s:.0f}", trainable=f"{started.trainable:,}",
             share=f"{started.share:.3%}")


def _finished_line(event: Finished, started: Started, peak: int, lang: str = "en") -> str:
    values = dict(steps=event.steps_done, seconds=f"{event.seconds:.1f}",
                  peak=f"{peak / 1e9:.2f}")
    if event.first_loss is None:
        text = (N_("**Training stopped**: {steps} steps in {seconds} s, no step ran, peak memory "
                   "+{peak} GB over the weights. Comparing answers…") if event.stopped else
                N_("**Training done**: {steps} steps in {seconds} s, no step ran, peak memory "
                   "+{peak} GB over the weights. Comparing answers…"))
        return t(text, lang, **values)
    text = (N_("**Training stopped**: {steps} steps in {seconds} s, loss {first} → **{last}**, "
               "peak memory +{peak} GB over the weights. Comparing answers…") if event.stopped else
            N_("**Training done**: {steps} steps in {seconds} s, loss {first} → **{last}**, peak "
               "memory +{peak} GB over the weights. Comparing answers…"))
    return t(text, lang, first=f"{event.first_loss:.3f}", last=f"{event.last_loss:.3f}", **values)


def loss_frame(losses) -> pd.DataFrame:
    return pd.DataFrame(losses, columns=["step", "loss"]).astype({"step": "int64", "loss": "float64"})


# -- lesson cells ----------------------------------------------------------------------------------
async def run_train(pool, steps="10", rank="8", alpha="16", learning_rate="0.001",
                    targets="q_proj,v_proj", examples="8", compare="", model="", lang="en"):
    settings = settings_from(steps, rank, alpha, learning_rate, targets.split(","))
    rows = [list(pair) for pair in EXAMPLES[:int(examples)]]
    model = model or default_model(pool.device)
    async for update in run(pool, rows, model, default_precision(pool.device), settings, compare,
                            Learner(None, lang)):
        columns = [t(c, lang) for c in (N_("prompt"), N_("base"), N_("adapted"))]
        table = ("\n\n" + markdown_table(columns, update.compare)
                 if update.compare else "")
        yield update.status + table


def run_targets(pool, model="qwen3.5-0.8b", rank="8", targets=",".join(QWEN35_TARGETS),
                lang="en"):
    """What LoRA of `rank` on `targets` adapts in `model`, counted from its config.json: the
    lesson's cell does the same on the meta device, so no weights are loaded."""
    with user_errors(lang):
        spec = get_model(model)
        folder = fetch(spec, weights=False)
    rank, names = int(rank), [name.strip() for name in targets.split(",") if name.strip()]
    count = count_adapter(folder, spec.is_vision, rank, names)
    columns = (N_("module"), N_("matrices"), N_("LoRA parameters, r × (in + out)"))
    table = markdown_table([t(c, lang) for c in columns],
                           [[f"`{name}`", matrices, f"{params:,}"]
                            for name, matrices, params in count.rows])
    lines = [t(N_("LoRA of rank {rank} on {model}: **{trainable}** parameters train, **{share}** "
                  "of its {base}."), lang, rank=rank, model=spec.hub_id,
               trainable=f"{count.trainable:,}", share=f"{count.share:.2%}", base=f"{count.base:,}")]
    if spec.is_vision:
        lines.append(t(N_("Adapted matrices in the vision tower: {vision}."), lang,
                       vision=count.vision))
    if count.missing:
        lines.append(t(N_("No layer of this model is called {names}."), lang,
                       names=", ".join(f"`{name}`" for name in count.missing)))
    yield "\n\n".join([table, *lines])


RUNNERS = {"train": run_train, "targets": run_targets}


def notebook_files() -> dict:
    return {}


# -- the tab ---------------------------------------------------------------------------------------
def build(pool) -> dict:
    gr.Markdown("Teach a small Qwen a format with LoRA: edit the examples, train for a few steps, "
                "watch the loss, then compare the base and the adapted model on new questions.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            data = gr.Dataframe(pd.DataFrame(EXAMPLES, columns=["prompt", "response"]),
                                interactive=True, wrap=True, max_height=320,
                                label="Training examples (edit, add or delete rows)",
                                elem_id="ft-data", column_count=(2, "fixed"))
            compare_text = gr.Textbox(
                "\n".join(COMPARE), lines=3, elem_id="ft-compare-on", elem_classes=[VERBATIM],
                label="Compare on (one question per line, not in the data)",
                info="The built-in examples and questions are the lesson's code, word for word, "
                     "so they stay in English; yours can be in any language.")
        with gr.Column(scale=2):
            ui = _settings_panel(pool)
    with gr.Row():
        go = gr.Button("Train", variant="primary", elem_id="ft-go")
        stop = gr.Button("Stop", elem_id="ft-stop")
    status = gr.Markdown(elem_id="ft-status")
    plot = gr.LinePlot(loss_frame([]), x="step", y="loss", title="Training loss", x_title="Step",
                       y_title="Loss", height=260, elem_id="ft-plot")
    compare = gr.Dataframe(headers=["prompt", "base", "adapted"], interactive=False, wrap=True,
                           elem_id="ft-compare", label="The same questions, without and with the adapter")
    adapter = gr.File(label="The adapter (safetensors, zipped)", interactive=False, height=80,
                      elem_id="ft-adapter")
    summary = gr.State(None)

    async def handler(rows, model, precision, steps, rank, alpha, lr, targets, compare_on,
                      request: gr.Request):
        learner = learner_of(request)
        settings = settings_from(steps, rank, alpha, lr, targets, lang=learner.lang)
        async for update in run(pool, rows, model, PRECISIONS.get(precision, precision), settings,
                                compare_on, learner):
            yield (update.status, loss_frame(update.losses),
                   update.compare or gr.skip(), update.adapter or gr.skip(), update.summary)

    inputs = [data, ui["model"], ui["precision"], ui["steps"], ui["rank"], ui["alpha"], ui["lr"],
              ui["targets"], compare_text]
    event = go.click(handler, inputs, [status, plot, compare, adapter, summary],
                     api_name="finetune")
    stop.click(None, cancels=[event])
    return {"summary": summary, "compare": compare, "data": data}


def _settings_panel(pool) -> dict:
    device = pool.device
    offered = {label: p for label, p in PRECISIONS.items() if not precision_problem(p, device)}
    default = next(label for label, p in offered.items() if p == default_precision(device))
    first = default_model(device)
    model = gr.Dropdown(MODELS, value=first, label="Base model", elem_id="ft-model")
    precision = gr.Dropdown(list(offered), value=default, label="Base precision",
                            info="nf4 keeps the frozen base in 4 bits (QLoRA)", elem_id="ft-precision")
    steps = gr.Slider(1, 200, value=20 if device == "cpu" else 60, step=1, label="Steps",
                      elem_id="ft-steps")
    with gr.Row():
        rank = gr.Dropdown([1, 2, 4, 8, 16, 32, 64], value=8, label="Rank r", elem_id="ft-rank")
        alpha = gr.Number(16, label="Alpha", precision=0, elem_id="ft-alpha")
    lr = gr.Number(1e-3, label="Learning rate", elem_id="ft-lr")
    targets = gr.CheckboxGroup(list(TARGETS), value=default_targets(get_model(first)),
                               label="Target modules", elem_id="ft-targets")
    # A new model brings its own suggestion: Qwen3.5 has q_proj and v_proj in 6 of 24 layers.
    model.change(lambda key: default_targets(get_model(key)), model, targets,
                 api_visibility="private", show_progress="hidden")
    return {"model": model, "precision": precision, "steps": steps, "rank": rank, "alpha": alpha,
            "lr": lr, "targets": targets}


DEMO = Demo(build=build, runners=RUNNERS, checks=CHECKS, notebook_files=notebook_files)
