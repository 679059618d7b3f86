"""python -m demos.finetune: the fine-tuning demo on its own."""

from demos.finetune import build
from webui.shell import serve_one

serve_one("finetune", build)
