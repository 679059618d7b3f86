"""The shell: the part of the app that arranges lessons and demos into one page (app.py), a
lesson's notebook-style page (page.py), the `serve` command (cli.py) and the translators' key
collector (keys.py). It is the only part of Qwen Lab that imports the demos."""
