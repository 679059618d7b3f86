"""python -m demos.vision: the vision demo on its own."""

from demos.vision import build
from webui.shell import serve_one

serve_one("vision", build)
