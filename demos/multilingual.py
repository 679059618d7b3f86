"""The multilingual lesson's demo: one question answered (or one text translated) in several
languages, each in its own panel, right-to-left where the script is; and a tokenizer view that
counts what the same sentence costs in each language with both vocabularies of today's family,
Qwen2.5/Qwen3's and Qwen3.5's, through the real tokenizers (qwenlab.counting's cache).

RUNNERS serve the lesson's Run buttons with the functions the tab uses, on the model and limits
the cells show. CHECKS read what the learner did in this session (the tokens each answer used,
the sentences counted), never the quality of an answer: the tiny test models answer noise.
Run alone: python -m qwenlab.demos.multilingual
"""

from __future__ import annotations

import unicodedata

import gradio as gr
import pandas as pd

from qwenlab.counting import load_tokenizer
from qwenlab.errors import LoadError
from qwenlab.languages import language as page_language
from qwenlab.loading import resolve_device
from qwenlab.registry import get_model
from qwenlab.web.demo import Check, Demo
from qwenlab.web.i18n import N_, lang_of, t
from qwenlab.web.ui import (
    Learner,
    answer_stream,
    check_prompt,
    learner_error,
    learner_of,
    markdown_table,
    run_output,
    table_rows,
    who,
)

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
# The chat's choices: Qwen3.5 (201 languages, its own vocabulary) first, Qwen3 (119) to compare.
CHAT_MODELS = ["qwen3.5-0.8b", "qwen3.5-2b", "qwen3.5-4b", "qwen3-0.6b", "qwen3-1.7b", "qwen3-4b"]
# The two vocabularies of today's family, each read from a small checkpoint that ships it: Qwen2,
# Qwen2.5 and Qwen3 share 151,643 byte-level BPE tokens; Qwen3.5 brought 248,044 of its own.
VOCABULARIES = {"Qwen3": "qwen3-0.6b", "Qwen3.5": "qwen3.5-0.8b"}
OLD, NEW = (f"{name} tokens" for name in VOCABULARIES)
RATIO = "Qwen3.5 ÷ Qwen3"
COMPARE_COLUMNS = ["language", OLD, NEW, RATIO, "bytes", "characters"]


def default_model(device: str | None = None) -> str:
    """Qwen3.5 answers: the 0.8B on a CPU, the 2B on a GPU (both answer without thinking by
    default, and the demo asks for none: each language is a generation of its own)."""
    return "qwen3.5-2b" if (device or resolve_device()) == "cuda" else "qwen3.5-0.8b"


def vocabulary_of(model: str) -> str:
    """Which of VOCABULARIES a registry model reads text with."""
    return "Qwen3.5" if get_model(model).arch == "qwen3_5" else "Qwen3"


def instruction(mode: str, language: str, text: str) -> tuple[str, str]:
    """(system, user) for one language."""
    if mode == MODES[1]:
        return ("You are a careful translator.",
                f"Translate the following text into {language}. Reply with the translation only.\n\n{text}")
    return f"Always answer in {language}, whatever language the question is in.", text


async def answer_all(pool, text: str, languages: list[str], mode: str = MODES[0],
                     model: str | None = None, max_new_tokens: int = 256,
                     learner: str | None = None):
    """Yields {language: its latest Update} as each language's answer streams in turn."""
    text = check_prompt(text, learner)
    lang = who(learner)[1]
    languages = [name for name in LANGUAGES if name in (languages or [])]
    if not languages:
        raise learner_error(lang, t(N_("Pick at least one language."), lang))
    if len(languages) > MAX_LANGUAGES:
        raise learner_error(lang, t(N_("Pick at most {count} languages at a time."), lang, count=MAX_LANGUAGES))
    if mode not in MODES:
        raise learner_error(lang, t(N_("Mode is one of: {modes}"), lang,
                         modes=", ".join(t(m, lang) for m in MODES)))
    model = model or default_model(pool.device)
    spec = get_model(model)
    updates = {}
    for language in languages:
        system, user = instruction(mode, language, text)
        async for update in answer_stream(pool, model, [{"role": "user", "content": user}],
                                          system=system, thinking=False,
                                          sampling=spec.preset(thinking=False),
                                          max_new_tokens=int(max_new_tokens), learner=learner):
            updates[language] = update
            yield updates


def stats_lines(updates: dict, lang: str = "en") -> list[str]:
    return [f"{t(name, lang)}: {t(u.final.summary(), lang)}" for name, u in updates.items()
            if u.final]


def tokens_used(updates: dict) -> dict[str, int]:
    """{language: tokens its answer generated}, for the languages that finished."""
    return {lang: u.final.new_tokens for lang, u in updates.items() if u.final}


def count_rows(rows, model: str | None = None, lang: str = "en") -> list[dict]:
    """Each non-empty sentence with its tokens (one model's own tokenizer), UTF-8 bytes and
    characters, in the order given. NFC first, as Qwen's tokenizer does: the count cell too."""
    spec = get_model(model or default_model())
    try:
        tokenizer = load_tokenizer(spec)
    except LoadError as exc:
        raise learner_error(lang, t(getattr(exc, 'message', str(exc)), lang)) from exc
    out = []
    for language, sentence in ((list(row) + ["", ""])[:2] for row in table_rows(rows)):
        sentence = unicodedata.normalize("NFC", str(sentence or "").strip())
        if sentence:
            out.append({"language": str(language), "sentence": sentence,
                        "tokens": len(tokenizer.encode(sentence, add_special_tokens=False)),
                        "bytes": len(sentence.encode("utf-8")), "characters": len(sentence)})
    if not out:
        raise learner_error(lang, t(N_("Type at least one sentence to count."), lang))
    return out


COUNT_COLUMNS = ["language", "tokens", "bytes", "characters"]


def cost_table(counted: list[dict]) -> pd.DataFrame:
    """Counted rows, most expensive first (a stable sort: ties keep the table's order)."""
    frame = pd.DataFrame(counted)[COUNT_COLUMNS]
    return frame.sort_values("tokens", ascending=False, kind="stable").reset_index(drop=True)


def count_tokens(rows, model: str | None = None, lang: str = "en") -> pd.DataFrame:
    """One model's tokenizer: each sentence's tokens, bytes and characters, dearest first."""
    return cost_table(count_rows(rows, model, lang))


def compare_rows(rows, lang: str = "en") -> list[dict]:
    """Each non-empty sentence counted with both vocabularies, with Qwen3.5's count as a share
    of Qwen3's, its bytes and its characters, in the order given."""
    old, new = (count_rows(rows, key, lang) for key in VOCABULARIES.values())
    return [{"language": a["language"], "sentence": a["sentence"], OLD: a["tokens"],
             NEW: b["tokens"], RATIO: round(b["tokens"] / a["tokens"], 2), "bytes": a["bytes"],
             "characters": a["characters"]} for a, b in zip(old, new)]


def compare_table(compared: list[dict], vocabulary: str = "Qwen3") -> pd.DataFrame:
    """Compared rows, dearest first in `vocabulary` (stable: ties keep the table's order)."""
    frame = pd.DataFrame(compared)[COMPARE_COLUMNS]
    return frame.sort_values(f"{vocabulary} tokens", ascending=False,
                             kind="stable").reset_index(drop=True)


def sentences(lang: str = "en") -> pd.DataFrame:
    """The editable table: each language's name (in the page's language) and its sentence."""
    return pd.DataFrame([(t(name, lang), s) for name, (_, _, s) in LANGUAGES.items()],
                        columns=[t(N_("language"), lang), t(N_("sentence"), lang)])


# -- lesson cell runners: the cells show Qwen3.5-0.8B, so the Run buttons use it on any device -
CELL_MODEL = "qwen3.5-0.8b"


async def run_answer(pool, question="", languages="English,Urdu,Swahili", mode=MODES[0],
                     max_new_tokens="128", model=CELL_MODEL, lang="en"):
    """One block per language; the last goes through run_output, which says where the server
    ran something other than the cell's transformers code."""
    async for updates in answer_all(pool, question, languages.split(","), mode, model,
                                    int(max_new_tokens), learner=Learner(None, lang)):
        *done, (last, update) = updates.items()
        blocks = [f"**{t(name, lang)}**\n\n{u.answer}"
                  + (f"\n\n`{t(u.final.summary(), lang)}`" if u.final else "")
                  for name, u in done]
        yield "\n\n".join([*blocks, f"**{t(last, lang)}**\n\n{run_output(update, lang=lang)}"])


def run_count(pool, lang="en"):
    frame = compare_table(compare_rows(sentences(lang), lang))
    yield markdown_table([t(c, lang) for c in frame.columns], frame.itertuples(index=False))


RUNNERS = {"answer": run_answer, "count": run_count}


def build(pool) -> dict:
    gr.Markdown("Ask once, read the answer in several languages; then see what the same sentence "
                "costs in tokens in each. The models answer with thinking off here.")
    with gr.Row():
        mode = gr.Radio(list(MODES), value=MODES[0], label="Mode")
        model = gr.Dropdown(CHAT_MODELS, value=default_model(pool.device), label="Model")
        tokens = gr.Slider(32, 1024, value=256, step=32, label="Max new tokens per language",
                           elem_id="ml-tokens")
    text = gr.Textbox("What is one healthy habit everyone should have?", label="Question or text",
                      lines=2, elem_id="ml-text")
    languages = gr.CheckboxGroup(list(LANGUAGES), value=DEFAULT_PICK,
                                 label=f"Languages (up to {MAX_LANGUAGES})", elem_id="ml-languages")
    with gr.Row():
        go = gr.Button("Answer", variant="primary", elem_id="ml-go")
        stop = gr.Button("Stop")
    panels = {}
    with gr.Row(equal_height=False):
        for lang, (_, rtl, _) in LANGUAGES.items():
            panels[lang] = gr.Markdown(_panel(lang, None), rtl=rtl, container=True,
                                       visible=lang in DEFAULT_PICK, min_width=240,
                                       elem_id=f"ml-{lang.lower()}")
    stats = gr.Markdown(elem_id="ml-stats")
    runs = gr.State([])  # one {language: tokens generated} per Answer press: the try-it check reads it
    runs_line = gr.Markdown(elem_id="ml-runs")

    async def respond(text, picked, mode, model, tokens, runs, request: gr.Request):
        learner = learner_of(request)
        yield *_panels(picked, {}, learner.lang), "", runs
        async for updates in answer_all(pool, text, picked, mode, model, tokens, learner):
            yield *_panels(picked, updates, learner.lang), "\n\n".join(stats_lines(updates, learner.lang)), \
                _with_run(runs, tokens_used(updates))

    def runs_view(runs, request: gr.Request):
        return runs_markdown(runs, lang_of(request))

    def mode_button(mode, request: gr.Request):
        return gr.Button(value=t(N_("Translate") if mode == MODES[1] else N_("Answer"),
                                 lang_of(request)))

    event = go.click(respond, [text, languages, mode, model, tokens, runs], [*panels.values(), stats, runs],
                     api_name="multilingual")
    event.then(runs_view, runs, runs_line, api_visibility="private")
    mode.change(mode_button, mode, go, api_visibility="private")
    # a stopped run keeps the languages that finished: show them too
    stop.click(None, cancels=[event]).then(runs_view, runs, runs_line, api_visibility="private")
    return {"runs": runs, "languages": languages, **_token_costs(model)}


def first_pick(lang: str) -> list[str]:
    """The languages ticked when the tab opens: the learner's own first where the demo offers
    it, then the default pick, at most MAX_LANGUAGES."""
    own = page_language(lang).english
    picked = ([own] if own in LANGUAGES else []) + [name for name in DEFAULT_PICK if name != own]
    return picked[:MAX_LANGUAGES]


def on_load(pool, lang: str) -> dict:
    """Updates the shell applies when a page in `lang` first opens this lesson: the learner's
    language ticked, and the sentences under the language names of the page."""
    return {"languages": gr.update(value=first_pick(lang)),
            "sentences": gr.update(value=sentences(lang))}


def _with_run(runs: list, used: dict) -> list:
    return [*runs, used] if used else runs


def _panels(picked, updates: dict, lang: str = "en") -> list:
    """One Markdown update per language: shown with its name on top if picked, else hidden
    (a Markdown component draws no label of its own)."""
    picked = picked or []
    return [gr.Markdown(value=_panel(name, updates.get(name), lang) if name in picked else "",
                        visible=name in picked) for name in LANGUAGES]


def _panel(language: str, update, lang: str = "en") -> str:
    text = "" if update is None else update.loading or update.answer
    return f"**{t(language, lang)} · {LANGUAGES[language][0]}**\n\n{text or '…'}"


def runs_markdown(runs, lang: str = "en") -> str:
    """The session's runs so far, tokens per language: what the cheaper-answer task compares."""
    lines = ["- " + t(N_("Run {run}: {counts}"), lang, run=i, counts=" · ".join(
                 f"{t(name, lang)} {n}" for name, n in run.items()))
             for i, run in enumerate(runs or [], 1) if run]
    title = t(N_("Tokens per answer, run by run (this session)"), lang)
    return f"**{title}**\n\n" + "\n".join(lines) if lines else ""


def _token_costs(model) -> dict:
    """The same sentence in each language, counted with both vocabularies; the chart and the
    order follow the selected model's."""
    gr.Markdown("### What a sentence costs in tokens\nEdit the sentences if you like. Each is "
                "counted with both vocabularies: Qwen3's (shared with Qwen2 and Qwen2.5) and "
                "Qwen3.5's new one. The chart shows the selected model's.")
    table = gr.Dataframe(sentences(), interactive=True, wrap=True, elem_id="ml-sentences",
                         column_count=(2, "fixed"))
    count = gr.Button("Count tokens", elem_id="ml-count")
    chart = gr.BarPlot(x="language", y="tokens", y_lim=[0, None], sort="-y", height=320,
                       elem_id="ml-chart", label="Tokens for the same sentence, selected model")
    counts = gr.Dataframe(headers=COMPARE_COLUMNS, interactive=False, elem_id="ml-counts")
    counted = gr.State([])  # the sentences last counted, with their counts: the try-it check reads it

    def count_now(rows, model, request: gr.Request):
        found = compare_rows(rows, lang_of(request))
        vocabulary = vocabulary_of(model)
        frame = compare_table(found, vocabulary)
        chart = frame[["language", f"{vocabulary} tokens"]].set_axis(["language", "tokens"], axis=1)
        return chart, frame, found

    count.click(count_now, [table, model], [chart, counts, counted], api_name="multilingual_tokens")
    return {"counted": counted, "sentences": table}


# -- try-it tasks the app checks (lessons/en/03-multilingual.md, "Try it") ---------------------
def answer_got_cheaper(runs, language: str = "Urdu") -> tuple[bool, str]:
    """The latest answer in `language` generated fewer tokens than the first one this session."""
    counts = [run[language] for run in runs or [] if language in run]
    if not counts:
        return False, N_("Ask something with *{language}* among the languages first.").format(
            language=language)
    first, latest = counts[0], counts[-1]
    if len(counts) == 1:
        return False, N_("Your first {language} answer used {first} tokens. Change something (a "
                         "shorter request, a lower token limit) and ask again.").format(
                             language=language, first=first)
    if latest < first:
        return True, N_("{language}: {first} → {latest} tokens, {fewer} fewer than your first "
                        "answer.").format(language=language, first=first, latest=latest,
                                          fewer=first - latest)
    return False, N_("Your latest {language} answer used {latest} tokens, not fewer than the first "
                     "({first}). Try a lower *Max new tokens per language*.").format(
                         language=language, latest=latest, first=first)


def counted_own_sentence(counted) -> tuple[bool, str]:
    """The learner counted at least one sentence that is not one of the demo's own."""
    ours = {s for _, _, s in LANGUAGES.values()}
    own = [row for row in counted or [] if row["sentence"] not in ours]
    if not own:
        return False, (N_("Edit a sentence in the table (or its language), then press *Count "
                          "tokens*.") if counted else
                       N_("Press *Count tokens* after editing a sentence."))
    row = own[0]
    return True, N_("{language}: {old} tokens with Qwen3's vocabulary, {new} with Qwen3.5's, for "
                    "{characters} characters ({bytes} bytes).").format(
                        language=row["language"], old=row[OLD], new=row[NEW],
                        characters=row["characters"], bytes=row["bytes"])


CHECKS = {"answer_got_cheaper": Check(("runs",), answer_got_cheaper),
          "counted_own_sentence": Check(("counted",), counted_own_sentence)}


DEMO = Demo(build=build, runners=RUNNERS, checks=CHECKS, on_load=on_load)
