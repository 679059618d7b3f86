"""python -m demos.math: the math demo on its own."""

from demos.math import build
from webui.shell import serve_one

serve_one("math", build)
