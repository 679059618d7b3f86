"""qwenlab.web: the app around the demos. The kit (this folder) is what every demo uses: chat
and streaming helpers around the pool (ui.py), the string tables and the page's language
(i18n.py, localize.py, strings/), progress kept in the browser (progress.py) and the `Demo`
record a demo declares itself with (demo.py). The kit imports only the core (qwenlab). The
shell (shell/) arranges lessons and demos into the app and is the only part that imports the
demos. In the repository this folder is webui/; installed, it is qwenlab/web."""
