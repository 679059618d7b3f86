"""The Qwen Lab web app: the shell that arranges lessons and demos (shell.py), the helpers every
demo uses around the pool (ui.py), and the `serve` command (cli.py). Demos live in demos/; the
core in qwenlab/, which never imports this package."""
