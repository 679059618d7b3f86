"""`qwenlab serve`: the web app's command, registered with the core CLI through the
`qwenlab.commands` entry point (pyproject.toml), so the core never imports the app."""

from __future__ import annotations


def register(sub) -> None:
    serve = sub.add_parser("serve", help="serve the web app (same as python app.py)")
    serve.add_argument("--host", default=None, help="default: GRADIO_SERVER_NAME or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: GRADIO_SERVER_PORT or 7860")
    serve.add_argument("--demo", default=None, metavar="LESSON",
                       help="serve one lesson's demo alone (family, math, vision, ...)")
    serve.set_defaults(func=_serve)


def _serve(args) -> int:
    from qwenlab.web.shell.app import main  # gradio is imported only when the app is served

    main(host=args.host, port=args.port, demo=args.demo)
    return 0
