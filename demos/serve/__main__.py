"""python -m demos.serve: the serving demo on its own."""

from demos.serve import build
from webui.shell import serve_one

serve_one("serve", build)
