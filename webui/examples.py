"""A table of examples that fills a demo's inputs when a learner clicks a row.

gr.Examples puts a row into its inputs with every prop they were built with (label, info,
placeholder) next to the value, so on a page in another language a click turned the inputs'
labels back into English. examples() is the same table, a gr.Dataset, whose click sets the
values only: what the page shows around them stays in the learner's language.
"""

from __future__ import annotations

from typing import Callable

import gradio as gr

from qwenlab.web.i18n import lang_of


def examples(rows: Callable[[str], list[list]], inputs: list, label: str,
             elem_id: str | None = None) -> gr.Dataset:
    """The rows `rows(lang)` gives (one value per input) as a clickable table over `inputs`.
    The table is built with the English rows; a demo that shows other rows in another language
    sets them in its on_load (gr.update(samples=rows(lang))), and a click reads the row of the
    learner's language again, so what is shown is what is filled in."""
    table = gr.Dataset(components=inputs, samples=rows("en"), type="index", label=label,
                       elem_id=elem_id)

    def fill(index, request: gr.Request):
        row = rows(lang_of(request))[index]
        values = [gr.update(value=value) for value in row]
        return values[0] if len(values) == 1 else values

    table.click(fill, table, inputs, api_visibility="private", show_progress="hidden",
                queue=False)
    return table
