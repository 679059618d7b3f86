"""Qwen Lab: build the Blocks app and launch it (the same as `qwenlab serve`).

Honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT as Gradio does, QWENLAB_MODEL_DIR for local or
tiny checkpoints, QWENLAB_POOL_BUDGET_GB and QWENLAB_DEVICE (see qwenlab/config.py).
"""

from webui.shell import main

if __name__ == "__main__":
    main()
