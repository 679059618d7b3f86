"""The vision lesson's demo: upload an image (or pick one the app drew), see what size it will be
resized to and how many visual tokens it becomes, ask about it, then ask follow-ups.

Qwen3.5-0.8B on a CPU (natively multimodal, and the smallest vision tower and language model of
the lab's vision models), Qwen3-VL-4B on a GPU (nf4 when bf16 would take over half the pool);
Qwen2-VL, Qwen2.5-VL, Qwen3-VL and the other Qwen3.5 sizes stay selectable. Qwen2/2.5-VL see
28x28-pixel blocks, Qwen3-VL and Qwen3.5 32x32 (images.factor()). Only precisions that read
images are offered: int4 here is ONNX Runtime GenAI's text decoder, with no vision tower.
`answers()` is the one function behind the tab and the `vision` API (through `ask()`) and the
lesson's Run buttons; `describe()` is the pixel-budget preview (`vision_plan` API): the selected
model's own image processor says what size and how many visual tokens, so the preview is what is
sent. The try-it tasks the app checks are in tasks.py (CHECKS).
Run alone: python -m qwenlab.demos.vision
"""

from __future__ import annotations

import asyncio

import gradio as gr

from qwenlab.demos.vision.images import (
    ImageProblem,
    Plan,
    Prepared,
    blank,
    factor,
    image_part,
    open_image,
    plan,
)
from qwenlab.demos.vision.samples import QUESTIONS, make_samples
from qwenlab.demos.vision.tasks import (
    CHECKS,  # noqa: F401  the try-it tasks the app checks
    IMAGE_STATS,  # the stats line's image part: CHECKS read it back
)
from qwenlab.demos.vision.upload import ImageUpload
from qwenlab.errors import QwenLabError
from qwenlab.loading import precision_problem, resolve_device
from qwenlab.pool import estimate_bytes
from qwenlab.prompts import prepare_messages
from qwenlab.registry import PRECISIONS, Sampling, get_model, models_with
from qwenlab.web.demo import Demo
from qwenlab.web.examples import examples
from qwenlab.web.i18n import N_, lang_of, t
from qwenlab.web.ui import (
    Learner,
    answer_in,
    answer_stream,
    check_prompt,
    clear_if_asked,
    learner_error,
    learner_of,
    markdown_table,
    ran_note,
    run_output,
    who,
)

MAX_TOKENS_LIMIT = 4096    # visual tokens; Qwen's recommended ceiling is 1280
CPU_LIMITS = (64, 256)     # about 256 visual tokens keeps a CPU answer under a minute
GPU_LIMITS = (256, 1280)   # the Qwen2.5-VL and Qwen3-VL READMEs' suggested token budget
CELL_MODEL = "qwen3.5-0.8b"  # the lesson's cells load Qwen/Qwen3.5-0.8B; their Run buttons too
# Qwen3.5 model cards, "non-thinking mode for VL tasks": the registry's Qwen3.5 default is the
# cards' text preset (temperature 1.0, presence 2.0); a question about an image takes this one.
QWEN3_5_VL = Sampling(temperature=0.7, top_p=0.8, top_k=20, min_p=0.0, presence_penalty=1.5)


def default_model(device: str | None = None) -> str:
    return "qwen3-vl-4b" if (device or resolve_device()) == "cuda" else CELL_MODEL


def precisions(device: str, key: str) -> list[str]:
    """The precisions `key` can read images at on `device`. Not int4: the ONNX engine runs a
    model's text decoder only (Qwen3.5's text part), so an image would have nowhere to go."""
    spec = get_model(key)
    return [p for p in PRECISIONS if p != "int4" and not precision_problem(p, device, spec)]


def default_precision(pool, key: str) -> str:
    """bf16 where it fits easily; nf4 on a GPU where bf16 would take over half the pool."""
    if pool.device == "cuda" and not precision_problem("nf4", "cuda"):
        if estimate_bytes(get_model(key), "bf16") > pool.budget / 2:
            return "nf4"
    return "fp16" if precision_problem("bf16", pool.device) else "bf16"


def sampling_for(key: str) -> Sampling | None:
    """The sampling for a question about an image: Qwen3.5's cards give one for VL tasks; the
    other models' registry presets are already their vision presets (None: the default)."""
    return QWEN3_5_VL if get_model(key).arch == "qwen3_5" else None


def default_limits(device: str) -> tuple[int, int]:
    return GPU_LIMITS if device == "cuda" else CPU_LIMITS


def prepare(path: str | None, min_tokens: int, max_tokens: int,
            model: str | None = None) -> tuple[Prepared, Plan]:
    """Open the upload and plan its size with `model`'s image processor (the default model's
    when None); a QwenLabError (ImageProblem, mostly) says what is wrong."""
    if not path:
        raise ImageProblem(N_("Upload an image or pick one of the samples first."))
    prepared = open_image(path)
    return prepared, plan(prepared, min_tokens, max_tokens, model or default_model())


def describe(path: str | None, min_tokens: int = 64, max_tokens: int = 256,
             model: str | None = None, lang: str = "en") -> str:
    """Markdown: what `model` will receive for this image under this pixel budget."""
    if not path:
        return t(N_("Upload an image or pick a sample to see how the model will see it."), lang)
    try:
        model = model or default_model()
        prepared, p = prepare(path, min_tokens, max_tokens, model)
    except QwenLabError as exc:  # the image, the budget, or the processor could not load
        return f"⚠️ {t(str(exc), lang)}"
    w, h = prepared.source_size
    notes = "".join(f"\n- {t(note, lang)}" for note in prepared.notes + resize_notes(p))
    seen = t(N_("**{name}**: {width}×{height} → resized to **{new_width}×{new_height}** = "
                "{columns}×{rows} blocks of {block}×{block} → **{tokens} visual tokens**"), lang,
             name=prepared.name, width=w, height=h, new_width=p.width, new_height=p.height,
             columns=p.width // p.block, rows=p.height // p.block, block=p.block, tokens=p.tokens)
    b = p.block
    return (f"{seen}{notes}\n\n"
            f"`min_pixels={int(min_tokens)}*{b}*{b}`, `max_pixels={int(max_tokens)}*{b}*{b}`, "
            + t(N_("counted by {model}'s image processor ({patch}-pixel patches, merged 2×2 "
                   "into one visual token per {block}×{block} pixels)"), lang, model=model,
                patch=b // 2, block=b))


def resize_notes(p: Plan) -> list[str]:
    """Say so when the image processor moved the size qwen_vl_utils chose, and why (English:
    describe() translates each note)."""
    if p.first_size in (None, (p.width, p.height)):
        return []
    w, h = p.first_size
    lo, hi = p.min_pixels // p.block ** 2, p.max_pixels // p.block ** 2
    values = dict(width=w, height=h, columns=w // p.block, rows=h // p.block, new_width=p.width,
                  new_height=p.height, low=lo, high=hi, block=p.block)
    if lo <= p.tokens <= hi:
        return [N_("qwen-vl-utils resized it to {width}×{height} ({columns}×{rows} blocks of "
                   "{block}×{block}); the image processor, given the same limits, resized it "
                   "again to {new_width}×{new_height}").format(**values)]
    return [N_("qwen-vl-utils resized it to {width}×{height} ({columns}×{rows} blocks of "
               "{block}×{block}); the image processor, given the same limits, resized it again "
               "to {new_width}×{new_height}, outside {low} to {high} visual tokens: with limits "
               "this close, rounding to whole {block}×{block} blocks overshoots them. Set them "
               "further apart to stay within.").format(**values)]


def conversation(prepared: Prepared, p: Plan, history: list, question: str) -> list[dict]:
    """The chat for the model: the image goes in the first user turn, follow-ups are text."""
    image = image_part(prepared.image, p.min_pixels, p.max_pixels)
    turns = prepare_messages(list(history or []), vision=False)
    turns = [t for t in turns if t["role"] in ("user", "assistant")]
    turns.append({"role": "user", "content": question})
    first = turns[0]
    first["content"] = [image, {"type": "text", "text": first["content"]}]
    return turns


async def answers(pool, path: str | None, question: str, history: list | None = None,
                  min_tokens: int = 64, max_tokens: int = 256, model: str | None = None,
                  precision: str | None = None, max_new_tokens: int = 256,
                  learner: str | None = None):
    """Checks the inputs, then yields (Update, Plan) as the answer streams."""
    question = check_prompt(question, learner)
    lang = who(learner)[1]
    model = model or default_model(pool.device)
    spec = get_model(model)
    if not spec.is_vision:
        raise learner_error(lang, t(N_("{model} does not take images; pick one of {models}."), lang,
                         model=model, models=", ".join(s.key for s in models_with("vision"))))
    try:  # opening and resizing a big photo takes a while: not on the event loop
        prepared, p = await asyncio.to_thread(prepare, path, min_tokens, max_tokens, model)
    except QwenLabError as exc:
        raise learner_error(lang, t(getattr(exc, 'message', str(exc)), lang)) from exc
    precision = precision or default_precision(pool, model)
    if precision not in precisions(pool.device, model):
        raise learner_error(lang, t(N_("{model} cannot read images at {precision} here; pick one of "
                            "{precisions}."), lang, model=model, precision=precision,
                         precisions=", ".join(precisions(pool.device, model))))
    messages = conversation(prepared, p, history, question)
    async for update in answer_stream(pool, model, messages, precision=precision,
                                      sampling=sampling_for(model),
                                      max_new_tokens=int(max_new_tokens), measure_memory=True,
                                      learner=learner, system=answer_in(learner)):
        yield update, p


async def ask(pool, path: str | None, question: str, history: list | None = None,
              min_tokens: int = 64, max_tokens: int = 256, model: str | None = None,
              precision: str | None = None, max_new_tokens: int = 256,
              learner: str | None = None):
    """Yields (chat messages, stats) as the answer streams."""
    lang = who(learner)[1]
    shown = list(history or []) + [{"role": "user", "content": (question or "").strip()}]
    async for update, p in answers(pool, path, question, history, min_tokens, max_tokens, model,
                                   precision, max_new_tokens, learner):
        if update.loading:
            yield shown + [{"role": "assistant", "content": update.loading}], ""
            continue
        answer = update.answer or (
            "*({})*".format(t(N_("The model finished without writing any text."), lang))
            if update.final else "…")
        yield shown + [{"role": "assistant", "content": answer}], stats_line(update, p, lang)


def stats_line(update, p: Plan, lang: str = "en") -> str:
    if not update.final:
        return ""
    parts = [t(update.final.summary(), lang), t(IMAGE_STATS, lang, width=p.width, height=p.height,
                                       tokens=p.tokens, prompt=update.final.prompt_tokens)]
    if update.peak_bytes is not None:
        parts.append(t(N_("peak +{gb} GB over the weights while answering"), lang,
                       gb=f"{update.peak_bytes / 1e9:.2f}"))
    return " · ".join(parts)


# -- lesson cells --------------------------------------------------------------------------------
def run_tokens(pool, sizes="1920x1080,1280x720,640x480,28x28", min_tokens="4", max_tokens="16384",
               model="", models="", lang="en"):
    """A table: image sizes, what each model's own pipeline resizes them to, and their visual
    tokens (from its image processor, as the preview counts them). `models`: keys, commas
    between, one block of rows each (the lesson compares a 28-pixel and a 32-pixel model)."""
    keys = [k.strip() for k in (models or model or default_model(pool.device)).split(",")]
    rows, limits = [], []
    for key in keys:
        b = factor(key)
        limits.append(f"{key}: `min_pixels={min_tokens}*{b}*{b}`, `max_pixels={max_tokens}*{b}*{b}`")
        for size in sizes.split(","):
            w, h = (int(v) for v in size.strip().lower().split("x"))
            try:
                p = plan(blank(w, h), int(min_tokens), int(max_tokens), key)
            except ImageProblem as exc:
                rows.append((key, f"{b}×{b}", f"{w}×{h}", "—", f"⚠️ {t(exc.message, lang)}"))
                continue
            rows.append((key, f"{b}×{b}", f"{w}×{h}", f"{p.width}×{p.height}", f"{p.tokens:,}"))
    yield ("  \n".join(limits) + "\n\n"
           + markdown_table([t(c, lang) for c in (N_("model"), N_("block"), N_("image"),
                                                   N_("resized to"), N_("visual tokens"))], rows))


async def run_ask(pool, sample="sales-chart", question="", min_tokens="64", max_tokens="256",
                  max_new_tokens="128", model="", lang="en"):
    """The cell's question about a sample: its visual tokens first, as the cell prints them,
    then the answer as it streams and what ran (qwenlab.web.ui.run_output)."""
    path = make_samples()[sample]
    async for update, p in answers(pool, path, question or QUESTIONS[sample], [], int(min_tokens),
                                   int(max_tokens), model=model or None,
                                   max_new_tokens=int(max_new_tokens), learner=Learner(None, lang)):
        seen = t(N_("visual tokens: {tokens} (image {width}×{height})"), lang, tokens=p.tokens,
                 width=p.width, height=p.height)
        yield f"![{sample}](/gradio_api/file={path})\n\n{seen}\n\n{run_output(update, lang=lang)}"


async def run_budgets(pool, sample="receipt", budgets="64,512", question="", max_new_tokens="64",
                      model="", lang="en"):
    """The same question at several max_pixels budgets (min_pixels 4 blocks, as in the cell):
    visual tokens, time to the first new token and to the last, answer."""
    path = make_samples()[sample]
    rows = []
    for budget in (int(b) for b in budgets.split(",")):
        yield t(N_("Asking with at most {budget} visual tokens…"), lang, budget=budget)
        async for update, p in answers(pool, path, question or QUESTIONS[sample], [], 4, budget,
                                       model=model or None, max_new_tokens=int(max_new_tokens),
                                       learner=Learner(None, lang)):
            pass
        final = update.final
        first = "n/a" if final.ttft_s is None else f"{final.ttft_s:.2f} s"
        rows.append((budget, f"{p.width}×{p.height}", p.tokens, first, f"{final.total_s:.2f} s",
                     " ".join(update.answer.split())[:160] or t(N_("(no text)"), lang)))
    columns = (N_("max tokens"), N_("resized to"), N_("visual tokens"), N_("first token"),
               N_("all tokens"), N_("answer"))
    yield (markdown_table([t(c, lang) for c in columns], rows)
           + f"\n\n`{final.model} {final.precision} on {final.device}`{ran_note(final, lang)}")


RUNNERS = {"tokens": run_tokens, "ask": run_ask, "budgets": run_budgets}


def notebook_files() -> dict[str, str]:
    """The sample images the lesson's cells open, for its downloadable notebook."""
    return {f"{name}.png": path for name, path in make_samples().items()}


def build(pool) -> dict:
    gr.Markdown("Upload an image or pick a sample, check what the model will see, then ask. "
                "Follow-up questions are about the same image; a new image starts a new chat.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300) as left:
            ui = _image_panel(pool)
        with gr.Column(scale=3, min_width=320):
            ui |= _chat_panel()
    with left:  # under the upload box, though the question box is in the other column
        samples = examples(sample_rows, [ui["image"], ui["question"]],
                           label="Or pick a sample the app drew (matplotlib)",
                           elem_id="vision-samples")
    _wire(pool, **ui)
    # by name, for the try-it checks (demos/vision/tasks.py CHECKS) and on_load
    return ui | {"samples": samples}


def sample_rows(lang: str = "en") -> list[list[str]]:
    """[image path, its question] for each sample, the question in the page's language (the
    models read it; the Run cells keep the lesson's English, as its code does)."""
    return [[path, t(QUESTIONS[name], lang)] for name, path in make_samples().items()]


def on_load(pool, lang: str) -> dict:
    """What the shell sets when a page in `lang` first opens this lesson: the samples' questions
    in that language (the page translates the table's column names)."""
    return {"samples": gr.update(samples=sample_rows(lang))}


def _image_panel(pool) -> dict:
    """The upload, its pixel budget and preview, and the model: components by name."""
    lo, hi = default_limits(pool.device)
    model_key = default_model(pool.device)
    image = ImageUpload(type="filepath", label="Image", sources=["upload", "clipboard"],
                        height=300, elem_id="vision-image")
    with gr.Accordion("Pixel budget: how many visual tokens the image may become", open=True):
        min_tokens = gr.Slider(4, 1280, value=lo, step=4, elem_id="vision-min",
                               label="Minimum visual tokens",
                               info="min_pixels = n × block × block (28 px for Qwen2/2.5-VL, "
                                    "32 for Qwen3-VL and Qwen3.5); smaller images are scaled up")
        max_tokens = gr.Slider(4, MAX_TOKENS_LIMIT, value=hi, step=4, elem_id="vision-max",
                               label="Maximum visual tokens",
                               info="max_pixels = n × block × block; larger images are scaled "
                                    "down")
    plan_md = gr.Markdown(describe(None), elem_id="vision-plan")
    with gr.Row():
        model = gr.Dropdown([s.key for s in models_with("vision")], value=model_key,
                            label="Model")
        precision = gr.Dropdown(precisions(pool.device, model_key),
                                value=default_precision(pool, model_key), label="Precision",
                                info="Precisions that read images (int4 here is text only)")
    return dict(image=image, min_tokens=min_tokens, max_tokens=max_tokens, plan_md=plan_md,
                model=model, precision=precision)


def _chat_panel() -> dict:
    chat = gr.Chatbot(height=400, label="Conversation about this image", elem_id="vision-chat")
    question = gr.Textbox(lines=2, label="Question", elem_id="vision-question",
                          placeholder="Ask about the image; then ask a follow-up.")
    with gr.Row():
        go = gr.Button("Ask", variant="primary", elem_id="vision-ask")
        stop = gr.Button("Stop")
        new = gr.Button("New chat")
    tokens = gr.Slider(16, 1024, value=256, step=16, label="Max new tokens",
                       elem_id="vision-tokens")
    stats = gr.Markdown(elem_id="vision-stats")
    return dict(chat=chat, question=question, go=go, stop=stop, new=new, tokens=tokens,
                stats=stats)


def _wire(pool, image, min_tokens, max_tokens, plan_md, model, precision, chat, question, go,
          stop, new, tokens, stats) -> None:
    async def handler(path, question, history, lo, hi, model, precision, tokens,
                      request: gr.Request):
        async for shown in ask(pool, path, question, history, lo, hi, model, precision, tokens,
                               learner_of(request)):
            yield shown

    inputs = [image, question, chat, min_tokens, max_tokens, model, precision, tokens]
    event = go.click(handler, inputs, [chat, stats], api_name="vision")
    submitted = question.submit(handler, inputs, [chat, stats], api_visibility="private")
    for done in (event, submitted):  # clear the box, unless the learner has typed on meanwhile
        done.success(clear_if_asked, [chat, question], question, api_visibility="private")
    stop.click(None, cancels=[event, submitted])
    new.click(lambda: ([], ""), None, [chat, stats], api_visibility="private")
    # The model matters too: its own image processor counts the tokens.
    def preview(path, lo, hi, model, request: gr.Request):
        return describe(path, lo, hi, model, lang_of(request))

    gr.on([image.change, min_tokens.change, max_tokens.change, model.change], preview,
          [image, min_tokens, max_tokens, model], plan_md, api_name="vision_plan",
          show_progress="hidden")
    image.change(lambda: ([], ""), None, [chat, stats], api_visibility="private")
    model.change(lambda key: gr.Dropdown(choices=precisions(pool.device, key),
                                         value=default_precision(pool, key)),
                 model, precision, api_visibility="private")


DEMO = Demo(build=build, runners=RUNNERS, checks=CHECKS, on_load=on_load,
            notebook_files=notebook_files)
