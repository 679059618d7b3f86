"""Qwen Lab: build the Blocks app and launch it (the same as `qwenlab serve`).

Honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT as Gradio does, QWENLAB_MODEL_DIR for local or
tiny checkpoints, QWENLAB_POOL_BUDGET_GB and QWENLAB_DEVICE (see qwenlab/config.py).

Runs from a checkout too, where a Hugging Face Space starts it: the repository keeps webui/ and
demos/ beside qwenlab/, and the wheel (pyproject.toml) or an editable install makes them
qwenlab.web and qwenlab.demos. A checkout whose requirements are installed but not the package
itself gets the same names from `_checkout_folders` below.
"""

import importlib.abc
import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent


class _CheckoutFolders(importlib.abc.MetaPathFinder):
    """qwenlab.web -> webui/, qwenlab.demos -> demos/, as pyproject.toml maps them."""

    FOLDERS = {"qwenlab.web": "webui", "qwenlab.demos": "demos"}

    def find_spec(self, name, path=None, target=None):
        folder = self.FOLDERS.get(name)
        if folder is None:
            return None
        return importlib.util.spec_from_file_location(
            name, HERE / folder / "__init__.py", submodule_search_locations=[str(HERE / folder)])


def _checkout_folders() -> None:
    import sys

    if importlib.util.find_spec("qwenlab.web") is None:
        sys.meta_path.append(_CheckoutFolders())


_checkout_folders()

if __name__ == "__main__":
    from qwenlab.web.shell.app import main

    main()
