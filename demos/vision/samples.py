"""Sample images the vision demo draws itself (matplotlib), so nothing is copied from elsewhere
and the right answers are known: they are in the data below.

make_samples() writes them once into a cache folder and returns {name: path}.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from qwenlab.web.i18n import N_

SALES = {"Q1": 120, "Q2": 145, "Q3": 98, "Q4": 172}  # thousand euros
RECEIPT = [("Cappuccino", 2, 3.20), ("Bagel, cream cheese", 1, 3.90),
           ("Orange juice", 1, 3.50), ("Blueberry muffin", 2, 2.60)]
TAX_RATE = 0.08

QUESTIONS = {  # N_(): the live demo offers them in the page's language
    "sales-chart": N_("Which quarter had the highest sales, and how much higher were they than "
                      "in the lowest quarter?"),
    "receipt": N_("What is the total on this receipt, and which line cost the most?"),
    "scene": N_("Describe this picture in two sentences."),
}
VERSION = 3
FOLDER = Path(tempfile.gettempdir()) / f"qwenlab-samples-v{VERSION}"  # the app serves files here


def receipt_lines() -> tuple[list[str], float]:
    """The receipt as printed, and its total."""
    lines = ["CORNER CAFE", "12 Harbour Street", "2026-03-14  09:41", "-" * 32]
    subtotal = 0.0
    for item, count, price in RECEIPT:
        amount = count * price
        subtotal += amount
        lines.append(f"{count} x {item[:22]:<22}{amount:>6.2f}")
    tax = round(subtotal * TAX_RATE, 2)
    total = round(subtotal + tax, 2)
    lines += ["-" * 32, f"{'Subtotal':<26}{subtotal:>6.2f}", f"{'Tax 8%':<26}{tax:>6.2f}",
              f"{'TOTAL':<26}{total:>6.2f}", "", "   Thank you, see you soon!"]
    return lines, total


def _chart(path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    bars = ax.bar(list(SALES), list(SALES.values()), color=["#4C78A8", "#4C78A8", "#E45756", "#54A24B"])
    ax.bar_label(bars, labels=[f"€{v}k" for v in SALES.values()], padding=3, fontsize=12)
    ax.set_title("Quarterly sales 2025", fontsize=15, weight="bold")
    ax.set_ylabel("Sales (thousand €)")
    ax.set_ylim(0, max(SALES.values()) * 1.2)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _receipt(path: Path) -> None:
    import matplotlib.pyplot as plt

    lines, _total = receipt_lines()
    fig = plt.figure(figsize=(3.6, 5.2), dpi=150, facecolor="#d9d4c7")  # small print needs pixels
    ax = fig.add_axes((0.06, 0.03, 0.88, 0.94))
    ax.set_facecolor("white")
    ax.set_xticks([])
    ax.set_yticks([])
    for y, line in enumerate(lines):
        ax.text(0.04, 1 - (y + 1.2) / (len(lines) + 1.5), line, family="DejaVu Sans Mono",
                fontsize=9, weight="bold" if line.startswith(("CORNER", "TOTAL")) else "normal",
                transform=ax.transAxes)
    fig.savefig(path, facecolor=fig.get_facecolor())
    plt.close(fig)


def _scene(path: Path) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, Ellipse, Polygon, Rectangle

    fig = plt.figure(figsize=(6.4, 4.2), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 64)
    ax.set_ylim(0, 42)
    ax.axis("off")
    shapes = [
        Rectangle((0, 14), 64, 28, color="#9fd3f5"),                 # sky
        Circle((54, 34), 4, color="#ffd23f"),                        # sun
        Ellipse((14, 34), 12, 4, color="white"), Ellipse((24, 36), 10, 3.4, color="white"),
        Rectangle((0, 0), 64, 15, color="#6ab04c"),                  # grass
        Rectangle((18, 12), 18, 12, color="#f4e1c1"),                # house
        Polygon([(16, 24), (27, 32), (38, 24)], color="#c0392b"),    # roof
        Rectangle((25, 12), 4, 7, color="#7f5539"),                  # door
        Rectangle((20, 17), 3.5, 3.5, color="#5dade2"), Rectangle((31, 17), 3.5, 3.5, color="#5dade2"),
        Rectangle((46, 12), 2, 8, color="#7f5539"),                  # tree trunk
        Circle((47, 22), 5, color="#2e8b57"),                        # tree crown
    ]
    for shape in shapes:
        ax.add_patch(shape)
    fig.savefig(path)
    plt.close(fig)


def make_samples(folder: Path | None = None) -> dict[str, str]:
    """Draw the samples (once) and return {name: PNG path}."""
    folder = folder or FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, draw in (("sales-chart", _chart), ("receipt", _receipt), ("scene", _scene)):
        path = folder / f"{name}.png"
        if not path.is_file():
            import matplotlib  # only when drawing: it is not needed once the files exist
            from PIL import Image

            matplotlib.use("Agg")
            partial = path.with_suffix(".tmp.png")
            draw(partial)
            with Image.open(partial) as drawn:  # matplotlib writes RGBA; a photo-like RGB is simpler
                drawn.convert("RGB").save(partial)
            partial.replace(path)
        paths[name] = str(path)
    return paths
