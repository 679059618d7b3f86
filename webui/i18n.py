"""The app in the learner's language: which language a page is in, the string table, and the
updates that turn a page built in English into that language when it loads.

How a language is chosen: the header's picker stores it in the browser and reloads the page
with `?lang=xx`; a page opened without `?lang=` gets the stored choice, else the browser's
language if Qwen Lab speaks it, else English (HEAD_JS does this before Gradio starts, so every
event's request carries `?lang=`, and handlers read it with `lang_of`).

Why not gr.I18n alone: it follows the browser's Accept-Language header only (no picker, no
`?lang=`), and Gradio 6 ships front-end locales for Urdu but not for Marathi, Burmese, Punjabi or
Swahili, so its keys would fall back to English for four of our five languages. Gradio's own
built-in strings ("Drop Image Here") still follow the browser where it has them; everything Qwen
Lab says goes through this table.

The table is keyed by the English text itself (strings/<lang>.yaml is a list of
{en: English, tr: translation} entries), so the page is written in English as before; the
translators' tool (shell/keys.py) lists every string a learner can see (the built app's text
plus the messages handlers send, marked with `N_()`), and a test fails when a language lacks
one. A message with values in it ("Number {place} in line for {model}") is a
pattern: `t()` matches the English and fills the translation with the same values.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import yaml

from qwenlab.errors import N_, Message  # noqa: F401 - N_ marks handlers' messages too
from qwenlab.languages import LANGUAGES, SOURCE, Language, language

STRINGS = Path(__file__).resolve().parent / "strings"


def lang_of(request) -> str:
    """The language of the page a request came from: its ?lang=, else English."""
    params = getattr(request, "query_params", None) or {}
    return language(params.get("lang")).code


@lru_cache(maxsize=None)
def table(lang: str) -> dict[str, str]:
    """English text -> translation, for one language ({} for English)."""
    path = STRINGS / f"{lang}.yaml"
    if lang == SOURCE or not path.is_file():
        return {}
    entries = yaml.load(path.read_text(encoding="utf-8"),
                        Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or []
    return {entry["en"]: entry["tr"] for entry in entries if entry.get("tr")}


@lru_cache(maxsize=None)
def _patterns(lang: str) -> list[tuple[re.Pattern, str]]:
    """The table's entries with {placeholders}, as regexes over the English."""
    out = []
    for english, translated in table(lang).items():
        if "{" not in english:
            continue
        pattern, seen = re.escape(english), set()
        for name in re.findall(r"\{(\w+)\}", english):
            group = f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"  # a name used twice
            pattern, seen = pattern.replace(re.escape("{" + name + "}"), group, 1), seen | {name}
        out.append((re.compile(pattern + r"\Z", re.S), translated))
    return out


def t(text: str, lang: str | None, **values) -> str:
    """`text` in `lang`: its translation (values filled in), a pattern's translation filled with
    the values read from the English, or the English itself where the table has none. A
    Message (qwenlab.errors) is translated as its template, then filled with its values."""
    if isinstance(text, Message):
        return _message(text, lang)
    if not isinstance(text, str) or not lang or lang == SOURCE:
        return text.format(**values) if values and isinstance(text, str) else text
    found = table(lang).get(text)
    if found is not None:
        return found.format(**values) if values else found
    if values:  # a template the table lacks: match the patterns against the filled-in text
        text = text.format(**values)
    for pattern, translated in _patterns(lang):
        match = pattern.match(text)
        if match:  # the values read from the English are translated too where the table can
            return translated.format(**{name: table(lang).get(value, value)
                                        for name, value in match.groupdict().items()})
    return text


def _message(message: Message, lang: str | None) -> str:
    if not lang or lang == SOURCE:
        return str(message)
    values = {name: t(value, lang) if isinstance(value, Message) else
              table(lang).get(value, value) if isinstance(value, str) else value
              for name, value in message.values.items()}
    found = table(lang).get(message.template)
    return found.format(**values) if found is not None else str(message)


def table_entry(text: str, lang: str | None) -> str:
    """The translation of `text` with its {placeholders} left for the caller to fill."""
    return table(lang).get(text, text) if lang and lang != SOURCE else text


def direction(lang: str) -> str:
    return "rtl" if language(lang).rtl else "ltr"


def font_css() -> str:
    """Fonts that draw each script well, by the page's lang attribute (set by HEAD_JS). A Latin
    font comes first so that code names and English terms inside the prose keep their shapes;
    the browser falls through to the script's font for every glyph the Latin one lacks."""
    rules = [f':lang({lang.code}) body, :lang({lang.code}) .prose, :lang({lang.code}) .md, '
             f':lang({lang.code}) button, :lang({lang.code}) label '
             f'{{ font-family: "Noto Sans", "Segoe UI", Roboto, {lang.fonts}, var(--font), sans-serif; }}'
             for lang in LANGUAGES.values() if lang.fonts]
    rules.append(':lang(ur) .prose, :lang(ur) .md { line-height: 2.1; }')  # Nastaliq is tall
    # Right to left: Gradio marks every Markdown block dir="ltr" (its rtl= is per component,
    # fixed at build); the page's direction wins here. A chat message takes the direction of
    # its own first letters (a model may answer in English on an Urdu page); lesson prose does
    # not, since an Urdu sentence often starts with a name such as Qwen.
    rules.append('html[dir=rtl] .prose { direction: rtl; text-align: start; }')
    rules.append('html[dir=rtl] [data-testid=bot], html[dir=rtl] [data-testid=user] '
                 '{ unicode-bidi: plaintext; text-align: start; }')
    # code reads left to right in every language
    rules.append('[dir=rtl] .code-cell, [dir=rtl] pre, [dir=rtl] code { direction: ltr; '
                 'text-align: left; unicode-bidi: isolate; }')
    return "\n".join(rules)


# Labels Gradio draws itself, which its own locale (the browser's, ~40 languages, none of mr,
# my, pa or sw) never puts into ours: the toast's title and a component's error badge; the
# image upload box, an editable table's drop hint and the page footer; and the tooltips and
# screen-reader names of its controls
GRADIO_WORDS = (N_("Error"), N_("Drop Image Here"), N_("- or -"), N_("Click to Upload"),
                N_("Use via API"), N_("Built with Gradio"),
                N_("Drop CSV or TSV files here to import data into dataframe"),
                # tooltips (title) and what a screen reader says (aria-label)
                N_("Upload file"), N_("Paste from clipboard"),
                N_("Drop an image file here to upload"), N_("Fullscreen"),
                N_("Copy table data"), N_("Reset to default value"), N_("Toggle Sidebar"),
                N_("number input for {label}"), N_("range slider for {label}"),
                N_("chatbot conversation"), N_("Table actions"), N_("Empty value"),
                N_("Gradio footer navigation"), N_("Vega visualization"), N_("Dropdown"),
                N_("Textbox"), N_("Dataframe"))


def gradio_words() -> dict[str, dict[str, str]]:
    """{language: {Gradio's English label: ours}} for the labels Gradio draws itself."""
    return {code: {word: t(word, code) for word in GRADIO_WORDS if t(word, code) != word}
            for code in LANGUAGES if code != SOURCE}


def head_js() -> str:
    """Before Gradio starts: settle the page's language, put it in the URL, and set the page's
    lang and direction (Urdu reads right to left)."""
    codes = {code: lang.rtl for code, lang in LANGUAGES.items()}
    return f"""<script>
(function () {{
  const known = {str({c: int(r) for c, r in codes.items()}).replace("'", '"')};
  const gradioWords = {json.dumps(gradio_words(), ensure_ascii=False)};
  const url = new URL(window.location.href);
  const pick = (code) => (code || "").toLowerCase().split("-")[0];
  let lang = pick(url.searchParams.get("lang"));
  if (!(lang in known)) lang = pick(localStorage.getItem("qwenlab-lang"));
  if (!(lang in known)) lang = (navigator.languages || [navigator.language]).map(pick)
      .find((code) => code in known) || "en";
  localStorage.setItem("qwenlab-lang", lang);
  if (url.searchParams.get("lang") !== lang) {{
    url.searchParams.set("lang", lang);
    history.replaceState(null, "", url);
  }}
  const apply = () => {{  // Gradio sets <html lang> to its own locale: keep ours
    const root = document.documentElement, dir = known[lang] ? "rtl" : "ltr";
    if (root.lang !== lang) root.lang = lang;
    if (root.dir !== dir) root.dir = dir;
  }};
  apply();
  new MutationObserver(apply).observe(document.documentElement,
      {{attributes: true, attributeFilter: ["lang", "dir"]}});
  // Gradio's own labels that its locale (the browser's, in ~40 languages) never translates
  // into ours (GRADIO_WORDS): the toast's title ("Error", its type), a component's red error
  // badge, the upload box, the footer; and the tooltips of Gradio's buttons. Only text that
  // reads exactly as Gradio's English is changed, so Svelte keeps its own nodes.
  const words = gradioWords[lang] || {{}};
  const templates = Object.keys(words).filter((en) => en.endsWith("{{label}}"))
      .map((en) => [en.slice(0, -"{{label}}".length), words[en]]);
  const relabel = () => {{
    for (const el of document.querySelectorAll(
        ".toast-title, span.error, [data-testid=upload-text], [data-testid=upload-text] span, " +
        "footer, footer a, footer button, .drop-hint")) {{
      for (const node of el.childNodes) {{
        const said = node.nodeType === 3 ? node.nodeValue.trim() : "";
        if (said in words) node.nodeValue = node.nodeValue.replace(said, words[said]);
      }}
    }}
    for (const el of document.querySelectorAll("[title], [aria-label]")) {{
      for (const name of ["title", "aria-label"]) {{
        const said = el.getAttribute(name);
        if (said in words) {{ el.setAttribute(name, words[said]); continue; }}
        for (const [start, ours] of templates) {{  // "number input for {{label}}"
          if (said && said.startsWith(start)) {{
            el.setAttribute(name, ours.replace("{{label}}", said.slice(start.length)));
            break;
          }}
        }}
      }}
    }}
  }};
  if (Object.keys(words).length) {{
    new MutationObserver(relabel).observe(document.documentElement,
        {{childList: true, subtree: true, characterData: true}});
  }}
  window.qwenlabSetLanguage = (code) => {{
    localStorage.setItem("qwenlab-lang", code);
    const next = new URL(window.location.href);
    next.searchParams.set("lang", code);
    window.location.assign(next);
  }};
}})();
</script>"""


def picker_choices() -> list[tuple[str, str]]:
    return [(lang.native, code) for code, lang in LANGUAGES.items()]


def system_prompt(lang: str) -> str | None:
    """What a chat demo tells the model so that it answers in the learner's language."""
    if lang == SOURCE:
        return None
    return (f"Answer in {language(lang).english} unless the user asks for another language.")


def learner_language(lang: str) -> Language:
    return language(lang)
