"""A page built in English, put into the learner's language when it loads.

`collect()` walks the built Blocks once and notes, for every component, the English a learner
sees on it: its label, info and placeholder; a button's text; a tab's, accordion's or
sidebar's title; a plot's title and axis titles; a table's headers (its cells stay) and an
examples table's column names; the shown labels of a radio, dropdown or checkbox group (their
values stay, so handlers still receive the English); a text box's prefilled example, unless
the demo marks the box VERBATIM (code, markup, or text the lesson's code uses word for word);
and the text of a Markdown block that is not bound to a lesson (lesson pages are localized
from their translated files, see shell.py). `updates()` turns those notes into one update per
component for a language, from the string table (i18n.py). `shown_text()` is the English the
table must cover for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from qwenlab.web.demo import VERBATIM
from qwenlab.web.i18n import t

ATTRS = ("label", "info", "placeholder")
PLOT_ATTRS = ("title", "x_title", "y_title")
PLOTS = (gr.BarPlot, gr.LinePlot, gr.ScatterPlot)
TITLED = (gr.Tab, gr.Accordion, gr.Sidebar)
VALUED = (gr.Button, gr.Markdown)  # DownloadButton is a Button
CHOOSING = (gr.Radio, gr.Dropdown, gr.CheckboxGroup)
NOT_SHOWN = {"Api", "State", "BrowserState", "Timer"}  # blocks with nothing on screen


@dataclass
class Slot:
    component: object
    attrs: dict            # attribute -> English
    choices: list | None   # [(English label, value)], for choosing components
    headers: list | None = None  # a table's English headers (its cells stay as they are)


def collect(app: gr.Blocks, skip: set[int]) -> list[Slot]:
    """Every component of `app` with English on it, except those whose id() is in `skip`."""
    slots = []
    for block in app.blocks.values():
        if id(block) in skip or type(block).__name__ in NOT_SHOWN:
            continue
        attrs = {name: getattr(block, name) for name in ATTRS
                 if isinstance(getattr(block, name, None), str) and getattr(block, name).strip()}
        if isinstance(block, TITLED) and isinstance(getattr(block, "label", None), str):
            attrs["label"] = block.label
        if isinstance(block, PLOTS):
            attrs |= {name: getattr(block, name) for name in PLOT_ATTRS
                      if isinstance(getattr(block, name, None), str) and _words(getattr(block, name))}
        if isinstance(block, VALUED) and isinstance(block.value, str) and _words(block.value):
            attrs["value"] = block.value
        if (isinstance(block, gr.Textbox) and isinstance(block.value, str) and _words(block.value)
                and VERBATIM not in (block.elem_classes or [])):
            attrs["value"] = block.value
        choices = None
        if isinstance(block, CHOOSING) and block.choices:
            choices = [(label, value) for label, value in block.choices
                       if not _identifier(str(label))] and list(block.choices)
        headers = (list(block.value["headers"])
                   if isinstance(block, gr.Dataframe) and _worded_headers(block.value) else
                   list(block.headers) if isinstance(block, gr.Dataset) and block.headers
                   and any(_words(str(h)) for h in block.headers) else None)
        if attrs or headers or (choices and any(_words(str(label)) for label, _ in choices)):
            slots.append(Slot(block, attrs, choices, headers))
    return slots


def _worded_headers(value) -> bool:
    return (isinstance(value, dict)
            and any(_words(str(h)) for h in value.get("headers") or []))


def _table(value: dict, headers: list[str]) -> pd.DataFrame:
    """The table as built, under `headers` (an empty table's rows are one blank row in Gradio's
    value: it has none)."""
    rows = [row for row in value.get("data") or [] if any(cell not in ("", None) for cell in row)]
    return pd.DataFrame(rows, columns=headers)


def _identifier(text: str) -> bool:
    """A model key, a precision or a module name (qwen2.5-0.5b, nf4, q_proj): never translated."""
    return " " not in text and any(ch.isdigit() or ch == "_" for ch in text)


def _words(text: str) -> bool:
    """Text a person reads, not a number or a symbol alone."""
    return any(ch.isalpha() for ch in text)


def updates(slots: list[Slot], lang: str) -> list:
    """One update per slot for `lang` (gr.skip() for English: the page already is)."""
    if lang == "en":
        return [gr.skip()] * len(slots)
    out = []
    for slot in slots:
        changed = {name: t(text, lang) for name, text in slot.attrs.items()}
        if slot.headers and isinstance(slot.component, gr.Dataset):  # examples: column names
            changed["headers"] = [t(str(h), lang) for h in slot.headers]
        elif slot.headers:  # a table: the same cells under translated headers
            changed["value"] = _table(slot.component.value, [t(str(h), lang) for h in slot.headers])
        if slot.choices:
            changed["choices"] = [(str(label) if _identifier(str(label)) else t(str(label), lang),
                                   value) for label, value in slot.choices]
        out.append(type(slot.component)(**changed) if isinstance(slot.component, TITLED)
                   else gr.update(**changed))
    return out


def shown_text(slots: list[Slot]) -> set[str]:
    """The English strings the page shows on its slots: what each language must translate
    (with the handlers' messages, see shell/keys.py)."""
    found: set[str] = set()
    for slot in slots:
        found |= {text for text in slot.attrs.values() if _words(text)}
        found |= {str(h) for h in slot.headers or [] if _words(str(h)) and not _identifier(str(h))}
        found |= {str(label) for label, _ in slot.choices or []
                  if _words(str(label)) and not _identifier(str(label))}
    return found
