"""Every environment variable Qwen Lab reads, in one place, with its default.

Other modules call these functions instead of reading os.environ themselves, so that a
teacher or a Space owner can find every knob here. Nothing here imports torch at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

# Fraction of free memory (GPU, or RAM on CPU) the pool may use when no budget is set.
DEFAULT_BUDGET_SHARE = 0.6
# Each loaded model is charged this much more than its measured weights, for the KV cache
# and activations of the requests it serves.
HEADROOM = 0.15


def model_dir() -> Path | None:
    """QWENLAB_MODEL_DIR: load checkpoints from DIR/<registry key>/ instead of the Hub."""
    value = os.environ.get("QWENLAB_MODEL_DIR", "").strip()
    return Path(value).expanduser() if value else None


def budget_gb() -> float | None:
    """QWENLAB_POOL_BUDGET_GB: memory the model pool may fill; unset means a share of what is free."""
    value = os.environ.get("QWENLAB_POOL_BUDGET_GB", "").strip()
    if not value:
        return None
    try:
        budget = float(value)
    except ValueError:
        raise ValueError(f"QWENLAB_POOL_BUDGET_GB must be a number of gigabytes, not {value!r}") from None
    if budget <= 0:
        raise ValueError(f"QWENLAB_POOL_BUDGET_GB must be positive, not {value!r}")
    return budget


def device() -> str:
    """QWENLAB_DEVICE: auto (CUDA when there is one), cpu or cuda."""
    value = os.environ.get("QWENLAB_DEVICE", "auto").strip().lower() or "auto"
    if value not in {"auto", "cpu", "cuda"}:
        raise ValueError(f"QWENLAB_DEVICE must be auto, cpu or cuda, not {value!r}")
    return value


def hub_offline() -> bool:
    """HF_HUB_OFFLINE: the Hugging Face convention for "never touch the network"."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
