"""The `qwenlab` command: models, chat, tiny, prefetch, and commands registered by plugins.

The CLI only parses arguments and prints; the work happens in registry, pool, loading,
generation and tiny. Errors the user can act on (errors.QwenLabError) are printed as one line,
exit status 1. The core never imports the app: the web app adds its `serve` command through
the `qwenlab.commands` entry point group (pyproject.toml), as simonw/llm's plugins add theirs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import entry_points

from qwenlab.errors import N_, BadRequest, QwenLabError
from qwenlab.registry import MODELS, PRECISIONS

PLUGIN_GROUP = "qwenlab.commands"  # each entry point: a function that adds subcommands

log = logging.getLogger(__name__)


def cmd_models(args) -> int:
    header = ["key", "hub id", "params", "context", "capabilities"] + [f"{p} GB" for p in PRECISIONS]
    rows = [[spec.key, spec.hub_id, f"{spec.params_b:.2f}B", f"{spec.context:,}",
             ",".join(sorted(spec.capabilities))]
            + [f"{spec.weight_bytes(p) / 1e9:.2f}" for p in PRECISIONS] for spec in MODELS.values()]
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    print("\nGB: weights alone, estimated from the parameter count; the pool measures them after "
          "load. int8/nf4 keep embeddings in 16-bit, as bitsandbytes does; int4 is the ONNX "
          "builder's format, the CPU default.")
    return 0


def cmd_chat(args) -> int:
    from qwenlab.events import Final, TextDelta, ThinkingDelta
    from qwenlab.generation import stream_chat
    from qwenlab.pool import ModelPool

    pool = ModelPool(device=args.device)
    dim = ("\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "")

    def progress(stage, fraction, message):
        print(f"[{stage}] {message}", file=sys.stderr)

    with pool.lease(args.key, args.precision, progress=progress) as loaded:
        thinking = not args.no_think
        shown_thinking = False
        for event in stream_chat(loaded, [{"role": "user", "content": args.prompt}],
                                 thinking=thinking, max_new_tokens=args.max_new_tokens):
            if isinstance(event, ThinkingDelta):
                if not shown_thinking:
                    print(f"{dim[0]}[thinking]", flush=True)
                    shown_thinking = True
                print(event.text, end="", flush=True)
            elif isinstance(event, TextDelta):
                if shown_thinking:
                    print(f"{dim[1]}\n[answer]", flush=True)
                    shown_thinking = False
                print(event.text, end="", flush=True)
            elif isinstance(event, Final):
                print(dim[1])
                print(f"-- {event.summary()}")
    return 0


def cmd_lessons(args) -> int:
    import json

    from qwenlab.languages import LANGUAGES
    from qwenlab.lessons import load_lessons

    if args.lang not in LANGUAGES:
        raise BadRequest(N_("--lang is one of {languages}, not {lang}"),
                         languages=", ".join(LANGUAGES), lang=repr(args.lang))
    rows = [{"id": lesson.id, "order": lesson.order, "title": lesson.title, "demo": lesson.demo,
             "models": lesson.models, "lang": lesson.lang, "stale": lesson.stale,
             "fallback": lesson.fallback, **lesson.counts()} for lesson in load_lessons(args.lang)]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    columns = ["order", "id", "lang", "stale", "fallback", "cells", "code_cells", "run_bindings",
               "quiz_questions", "takeaways", "links", "tasks", "checked_tasks"]
    table = [[str(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    for row in [columns] + table:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0


def cmd_tiny(args) -> int:
    from qwenlab.tiny import build_all, install_hub_cache

    for path in build_all(args.dir, args.only or None):
        print(path)
    if args.hub_cache:
        for path in install_hub_cache(args.dir, args.hub_cache, args.only or None):
            print(path)
    return 0


def cmd_prefetch(args) -> int:
    from qwenlab.engines import onnx
    from qwenlab.loading import fetch
    from qwenlab.registry import get_model

    for key in args.keys or list(MODELS):
        spec = get_model(key)
        last = [-1]

        def progress(stage, fraction, message):
            if fraction is None or int(fraction * 20) != last[0]:
                last[0] = int((fraction or 0) * 20)
                print(f"  {message}", file=sys.stderr)

        source = fetch(spec, progress)
        print(f"{key}: {source}")
        if args.onnx and not onnx.problem(spec, "cpu"):
            print(f"{key} int4 ONNX: {onnx.build(spec, source, progress)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qwenlab", description="Learn the Qwen model family.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the pool does")
    sub = parser.add_subparsers(dest="command", required=True)
    for plugin in entry_points(group=PLUGIN_GROUP):
        plugin.load()(sub)  # e.g. qwenlab.web.shell.cli:register adds `serve`

    sub.add_parser("models", help="table of registry checkpoints").set_defaults(func=cmd_models)

    chat = sub.add_parser("chat", help="stream one answer to the terminal")
    chat.add_argument("key", help="registry key, see `qwenlab models`")
    chat.add_argument("prompt")
    chat.add_argument("--precision", choices=PRECISIONS, default=None,
                      help="default: int4 (ONNX) on CPU where it covers the model, else bf16")
    chat.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    chat.add_argument("--max-new-tokens", type=int, default=512)
    chat.add_argument("--no-think", action="store_true", help="Qwen3: answer without thinking")
    chat.set_defaults(func=cmd_chat)

    lessons = sub.add_parser("lessons", help="every lesson with its cells, Run bindings, quiz, "
                                             "takeaways, links and tasks counted")
    lessons.add_argument("--json", action="store_true", help="one JSON object per lesson")
    lessons.add_argument("--lang", default="en", help="mr, ur, my, pa, sw or en (default): "
                                                       "which are translated, stale or English")
    lessons.set_defaults(func=cmd_lessons)

    tiny = sub.add_parser("tiny", help="write tiny random checkpoints of every registry model")
    tiny.add_argument("dir")
    tiny.add_argument("--only", nargs="*", choices=list(MODELS), help="just these keys")
    tiny.add_argument("--hub-cache", metavar="HUB_DIR",
                      help="also lay them out as a Hugging Face cache under their real Hub ids "
                           "(use with HF_HUB_CACHE=HUB_DIR HF_HUB_OFFLINE=1)")
    tiny.set_defaults(func=cmd_tiny)

    prefetch = sub.add_parser("prefetch", help="download checkpoints from the Hub ahead of time")
    prefetch.add_argument("keys", nargs="*", choices=list(MODELS) + [[]], metavar="KEY")
    prefetch.add_argument("--onnx", action="store_true",
                          help="also convert the text models to int4 ONNX (the CPU default)")
    prefetch.set_defaults(func=cmd_prefetch)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except QwenLabError as exc:
        print(f"qwenlab: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
