"""The translators' tool: every English string a learner can see, and what a language lacks.

    python -m qwenlab.web.shell.keys missing sw    # YAML entries to fill in
    python -m qwenlab.web.shell.keys keys          # every key

The keys are the built app's visible text (labels, infos, placeholders, buttons, choices,
tabs and static Markdown, as localize.collect finds them, minus what lesson files translate)
plus every message marked with N_() in the core (errors, progress lines, the stats line), the
kit and the demos, read from their source as xgettext does. It builds the whole app, so it sits
on top of the shell and nothing imports it.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import sys
from pathlib import Path

import yaml

from qwenlab.web.i18n import table
from qwenlab.web.localize import collect, shown_text


def sources() -> list[Path]:
    """The folders whose N_() messages belong in the table: the core, the kit and the demos
    (in a wheel the last two sit inside the first; a set of keys does not mind)."""
    return [Path(importlib.util.find_spec(name).origin).parent
            for name in ("qwenlab", "qwenlab.web", "qwenlab.demos")]


def message_keys(folders: list[Path] | None = None) -> set[str]:
    """Every N_("...") in the core, the kit and the demos (or in `folders`), read from the
    source: messages that exist only when a handler runs or an error is raised are in the table
    all the same."""
    found = set()
    for folder in folders or sources():
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "N_"
                        and node.args and isinstance(node.args[0], ast.Constant)):
                    found.add(node.args[0].value)
    return found


def all_keys() -> set[str]:
    """Every English string a learner can see: the built page's and the handlers' messages."""
    from qwenlab.pool import ModelPool
    from qwenlab.web.shell.app import build_shell

    app, bound = build_shell(ModelPool(budget_bytes=int(1e9), device="cpu"))
    return message_keys() | shown_text(collect(app, skip=bound))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qwenlab.web.shell.keys")
    parser.add_argument("command", choices=["missing", "keys"])
    parser.add_argument("lang", nargs="?", default="en")
    args = parser.parse_args(argv)
    wanted = sorted(all_keys())
    if args.command == "missing":
        wanted = [key for key in wanted if key not in table(args.lang)]
    yaml.dump([{"en": key, "tr": ""} for key in wanted], sys.stdout, Dumper=_Literal,
              allow_unicode=True, width=100, sort_keys=False)
    return 0


class _Literal(yaml.SafeDumper):
    """Writes text with line breaks as a |- block, as a translator would."""


_Literal.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


if __name__ == "__main__":
    raise SystemExit(main())
