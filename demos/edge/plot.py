"""The lab's bar plots: which rows they show and how they are labelled."""

from __future__ import annotations

import pandas as pd

from qwenlab.demos.edge.lab import COLUMNS, NUMBERS

PLOTS = (("tokens/s", "tokens/s ↑"), ("weights GB", "weights GB ↓"),
         ("first token s", "first token s ↓"))


def plot_frame(rows: list[dict]) -> pd.DataFrame:
    """The rows that ran, with short labels for the bar plots ("#2 nf4", plus the model when
    the session has compared more than one)."""
    done = [r for r in rows if str(r["status"]).startswith("ok")]
    several = len({r["model"] for r in done}) > 1
    data = pd.DataFrame([r | {"label": f"#{r['run']} {r['precision']}"
                              + (f" {r['model'].removeprefix('qwen')}" if several else "")}
                         for r in done], columns=COLUMNS + ["label"])
    # typed even when empty: the plot takes its axis types from the first frame it is given
    return data.astype({column: "float64" for column in NUMBERS} | {"run": "int64"})
