"""The multilingual lesson's demo: one question answered (or one text translated) in several
languages, each in its own panel, right-to-left where the script is; and a tokenizer view that
counts, with the model's real tokenizer, what the same sentence costs in each language.

Run alone: python -m demos.multilingual
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from qwenlab.errors import LoadError
from qwenlab.loading import load_tokenizer, resolve_device
from qwenlab.registry import get_model
from webui.ui import answer_stream, check_prompt, learner_of, markdown_table

# language -> (native name, right-to-left?, "Hello, how are you today?" in it: editable in the UI)
LANGUAGES = {
    "English": ("English", False, "Hello, how are you today?"),
    "Chinese": ("中文", False, "你好，今天怎么样？"),
    "Spanish": ("Español", False, "Hola, ¿cómo estás hoy?"),
    "French": ("Français", False, "Bonjour, comment allez-vous aujourd'hui ?"),
    "German": ("Deutsch", False, "Hallo, wie geht es dir heute?"),
    "Japanese": ("日本語", False, "こんにちは、今日はお元気ですか？"),
    "Arabic": ("العربية", True, "مرحبًا، كيف حالك اليوم؟"),
    "Hindi": ("हिन्दी", False, "नमस्ते, आज आप कैसे हैं?"),
    "Marathi": ("मराठी", False, "नमस्कार, आज तुम्ही कसे आहात?"),
    "Urdu": ("اردو", True, "ہیلو، آج آپ کیسے ہیں؟"),
    "Burmese": ("မြန်မာ", False, "မင်္ဂလာပါ၊ ဒီနေ့ နေကောင်းလား။"),
    "Punjabi": ("ਪੰਜਾਬੀ", False, "ਸਤ ਸ੍ਰੀ ਅਕਾਲ, ਅੱਜ ਤੁਸੀਂ ਕਿਵੇਂ ਹੋ?"),
    "Swahili": ("Kiswahili", False, "Hujambo, habari za leo?"),
}
DEFAULT_PICK = ["English", "Chinese", "Marathi", "Urdu", "Swahili"]
MODES = ("Answer the question", "Translate the text")
MAX_LANGUAGES = 6  # each language is one generation: keep a CPU class responsive


def default_model(device: str | None = None) -> str:
    return "qwen3-1.7b" if (device or resolve_device()) == "cuda" else "qwen3-0.6b"


def instruction(mode: str, language: str, text: str) -> tuple[str, str]:
    """(system, user) for one language."""
    if mode == MODES[1]:
        return ("You are a careful translator.",
                f"Translate the following text into {language}. Reply with the translation only.\n\n{text}")
    return f"Always answer in {language}, whatever language the question is in.", text


def answer_all(pool, text: str, languages: list[str], mode: str = MODES[0], model: str | None = None,
               max_new_tokens: int = 256, learner: str | None = None):
    """Yields (answers by language, stats lines) as each language's answer streams in turn."""
    text = check_prompt(text)
    languages = [lang for lang in LANGUAGES if lang in (languages or [])]
    if not languages:
        raise gr.Error("Pick at least one language.")
    if len(languages) > MAX_LANGUAGES:
        raise gr.Error(f"Pick at most {MAX_LANGUAGES} languages at a time.")
    if mode not in MODES:
        raise gr.Error(f"Mode is one of: {', '.join(MODES)}")
    model = model or default_model(pool.device)
    spec = get_model(model)
    answers, stats = {}, []
    for language in languages:
        system, user = instruction(mode, language, text)
        for update in answer_stream(pool, model, [{"role": "user", "content": user}], system=system,
                                    thinking=False, sampling=spec.preset(thinking=False),
                                    max_new_tokens=int(max_new_tokens), learner=learner):
            answers[language] = update.loading or update.answer
            if update.final:
                stats.append(f"{language}: {update.final.summary()}")
            yield answers, stats


def count_tokens(rows, model: str | None = None) -> pd.DataFrame:
    """Tokens per sentence with the model's own tokenizer, most expensive first."""
    spec = get_model(model or default_model())
    try:
        tokenizer = load_tokenizer(spec)
    except LoadError as exc:
        raise gr.Error(str(exc)) from exc
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=["language", "sentence"])
    out = []
    for language, sentence in frame[["language", "sentence"]].itertuples(index=False):
        sentence = str(sentence or "").strip()
        if not sentence:
            continue
        tokens = len(tokenizer.encode(sentence, add_special_tokens=False))
        out.append({"language": str(language), "tokens": tokens, "characters": len(sentence),
                    "tokens per character": round(tokens / len(sentence), 2)})
    if not out:
        raise gr.Error("Type at least one sentence to count.")
    return pd.DataFrame(out).sort_values("tokens", ascending=False, kind="stable").reset_index(drop=True)


def sentences() -> pd.DataFrame:
    return pd.DataFrame([(lang, s) for lang, (_, _, s) in LANGUAGES.items()], columns=["language", "sentence"])


def run_answer(pool, question="", languages="English,Urdu", mode=MODES[0], max_new_tokens="128"):
    for answers, stats in answer_all(pool, question, languages.split(","), mode, None, int(max_new_tokens)):
        yield "\n\n".join(f"**{lang}**\n\n{text}" for lang, text in answers.items()) + \
            ("\n\n" + "\n\n".join(f"`{s}`" for s in stats) if stats else "")


def run_count(pool, model=""):
    frame = count_tokens(sentences(), model or None)
    yield markdown_table(frame.columns, frame.itertuples(index=False))


RUNNERS = {"answer": run_answer, "count": run_count}


def build(pool) -> None:
    gr.Markdown("Ask once, read the answer in several languages; then see what the same sentence "
                "costs in tokens in each. Qwen3 runs with thinking off here.")
    with gr.Row():
        mode = gr.Radio(list(MODES), value=MODES[0], label="Mode")
        model = gr.Dropdown(["qwen3-0.6b", "qwen3-1.7b", "qwen3-4b"], value=default_model(pool.device),
                            label="Model")
        tokens = gr.Slider(32, 1024, value=256, step=32, label="Max new tokens per language")
    text = gr.Textbox("What is one healthy habit everyone should have?", label="Question or text",
                      lines=2, elem_id="ml-text")
    languages = gr.CheckboxGroup(list(LANGUAGES), value=DEFAULT_PICK,
                                 label=f"Languages (up to {MAX_LANGUAGES})", elem_id="ml-languages")
    with gr.Row():
        go = gr.Button("Answer", variant="primary", elem_id="ml-go")
        stop = gr.Button("Stop")
    panels = {}
    with gr.Row(equal_height=False):
        for lang, (native, rtl, _) in LANGUAGES.items():
            panels[lang] = gr.Markdown(label=f"{lang} · {native}", rtl=rtl, container=True,
                                       visible=lang in DEFAULT_PICK, min_width=240,
                                       elem_id=f"ml-{lang.lower()}")
    stats = gr.Markdown(elem_id="ml-stats")

    def respond(text, picked, mode, model, tokens, request: gr.Request):
        shown = [gr.Markdown(value="", visible=lang in (picked or [])) for lang in LANGUAGES]
        yield *shown, ""
        for answers, lines in answer_all(pool, text, picked, mode, model, tokens,
                                         learner_of(request)):
            yield *[gr.Markdown(value=answers.get(lang, ""), visible=lang in picked) for lang in LANGUAGES], \
                "\n\n".join(lines)

    event = go.click(respond, [text, languages, mode, model, tokens], [*panels.values(), stats],
                     api_name="multilingual")
    mode.change(lambda m: gr.Button(value="Translate" if m == MODES[1] else "Answer"), mode, go,
                api_visibility="private")
    stop.click(None, cancels=[event])
    _token_costs(model)


def _token_costs(model) -> None:
    """The same sentence in each language, counted with the selected model's tokenizer."""
    gr.Markdown("### What a sentence costs in tokens\nEdit the sentences if you like; counts use the "
                "selected model's own tokenizer.")
    table = gr.Dataframe(sentences(), interactive=True, wrap=True, elem_id="ml-sentences",
                         column_count=(2, "fixed"))
    count = gr.Button("Count tokens", elem_id="ml-count")
    chart = gr.BarPlot(x="language", y="tokens", y_lim=[0, None], sort="-y", height=320,
                       elem_id="ml-chart", label="Tokens for the same sentence")
    counts = gr.Dataframe(interactive=False, elem_id="ml-counts")

    def counted(rows, model):
        frame = count_tokens(rows, model)
        return frame, frame

    count.click(counted, [table, model], [chart, counts], api_name="multilingual_tokens")


if __name__ == "__main__":
    from webui.shell import serve_one

    serve_one("multilingual", build)
