"""What a lesson's demo offers the app, as one typed record.

A demo module (qwenlab.demos.<id>) exposes `DEMO = Demo(...)`: how to build its tab on a pool,
the runners behind its lesson's Run buttons, the try-it checks the app can mark, and, where it
has them, what it sets when a page loads in a language and the sample files its notebook
reads. The shell reads these fields and nothing else (as simonw/llm declares its hooks in
hookspecs.py). Nothing here imports a demo or the shell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

# elem_classes mark of a text box whose prefilled text the page keeps as written in every
# language (code, markup, or text the lesson's code uses word for word); every other prefilled
# example is put into the learner's language with the page (see localize.py)
VERBATIM = "verbatim"


@dataclass(frozen=True)
class Check:
    """A try-it task the app checks itself: `fn(*values of the demo's components named in
    reads, **the task's args)` returns (done, a sentence for the learner)."""

    reads: tuple[str, ...]
    fn: Callable[..., tuple[bool, str]]


@dataclass(frozen=True)
class Demo:
    """One lesson's live demo."""

    build: Callable[[Any], dict | None]            # build(pool) -> its components by name
    runners: Mapping[str, Callable] = field(default_factory=dict)  # lesson cells' Run buttons
    checks: Mapping[str, Check] = field(default_factory=dict)      # try-it tasks, by name
    on_load: Callable[[Any, str], dict] | None = None  # on_load(pool, lang) -> {name: update}
    notebook_files: Callable[[], dict] | None = None  # {file name: path} the notebook reads
