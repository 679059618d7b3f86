"""Every environment variable Qwen Lab reads, in one place, with its default.

Other modules call these functions instead of reading os.environ themselves, so that a
teacher or a Space owner can find every knob here. Nothing here imports torch at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

from qwenlab import system
from qwenlab.errors import N_, ConfigError

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
        raise ConfigError(N_("QWENLAB_POOL_BUDGET_GB must be a number of gigabytes, not {value}"),
                          value=repr(value)) from None
    if budget <= 0:
        raise ConfigError(N_("QWENLAB_POOL_BUDGET_GB must be positive, not {value}"),
                          value=repr(value))
    return budget


def device() -> str:
    """QWENLAB_DEVICE: auto (CUDA when there is one), cpu or cuda."""
    value = os.environ.get("QWENLAB_DEVICE", "auto").strip().lower() or "auto"
    if value not in {"auto", "cpu", "cuda"}:
        raise ConfigError(N_("QWENLAB_DEVICE must be auto, cpu or cuda, not {value}"),
                          value=repr(value))
    return value


def cache_dir() -> Path:
    """QWENLAB_CACHE_DIR: where converted models live (default ~/.cache/qwenlab)."""
    value = os.environ.get("QWENLAB_CACHE_DIR", "").strip()
    if value:
        return Path(value).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "qwenlab"


def cpu_engine() -> str:
    """QWENLAB_CPU_ENGINE: on CPU, auto serves text models with int4 ONNX Runtime GenAI where it
    is installed and covers the model; transformers keeps bf16 transformers as the default."""
    value = os.environ.get("QWENLAB_CPU_ENGINE", "auto").strip().lower() or "auto"
    if value not in {"auto", "transformers"}:
        raise ConfigError(N_("QWENLAB_CPU_ENGINE must be auto or transformers, not {value}"),
                          value=repr(value))
    return value


def onnx_threads() -> int:
    """QWENLAB_ONNX_THREADS: ONNX Runtime threads per model (default: physical cores)."""
    value = os.environ.get("QWENLAB_ONNX_THREADS", "").strip()
    if value:
        return _positive_int("QWENLAB_ONNX_THREADS", 1)
    return system.physical_cores()


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(N_("{variable} must be a whole number, not {value}"), variable=name,
                          value=repr(value)) from None
    if number < 1:
        raise ConfigError(N_("{variable} must be at least 1, not {value}"), variable=name,
                          value=repr(value))
    return number


def max_active_per_model(device: str, batched: bool = False) -> int:
    """QWENLAB_MAX_ACTIVE_PER_MODEL: answers one model writes at once; the rest wait in line.

    Default: 32 for int4 lanes on a CPU (batched=True there: two batches of sixteen, so a class
    of 32 starts at once), 16 for continuous batching, 2 where more at once would only share
    the same cores (bench/classroom.py measured each)."""
    if batched and device == "cpu":
        default = 32
    else:
        default = 16 if batched or batching(device) else 2
    return _positive_int("QWENLAB_MAX_ACTIVE_PER_MODEL", default)


def max_new_tokens_cap() -> int | None:
    """QWENLAB_MAX_NEW_TOKENS: the most new tokens any one answer may have, whatever a learner's
    slider says; a teacher or a Space owner lowers it so that many learners' turns stay short
    on shared cores. Unset: no cap beyond each request's own and the model's context."""
    if not os.environ.get("QWENLAB_MAX_NEW_TOKENS", "").strip():
        return None
    return _positive_int("QWENLAB_MAX_NEW_TOKENS", 1)


def max_waiting() -> int:
    """QWENLAB_MAX_WAITING: requests that may wait in line in all before new ones are refused."""
    return _positive_int("QWENLAB_MAX_WAITING", 64)


def requests_per_minute() -> int:
    """QWENLAB_REQUESTS_PER_MINUTE: answers one learner (browser session) may ask for per minute."""
    return _positive_int("QWENLAB_REQUESTS_PER_MINUTE", 20)


def remote_models() -> dict[str, tuple[str, str | None]]:
    """QWENLAB_REMOTE_MODELS: registry keys served by a remote OpenAI-compatible engine instead
    of a local load, as KEY=URL[#SERVED_NAME] separated by spaces or commas, e.g.
    "qwen2.5-7b=http://gpu-box:8000/v1 qwen3-4b=http://localhost:11434/v1#qwen3:4b".
    The served name defaults to the Hub id (what vLLM and transformers serve expect)."""
    value = os.environ.get("QWENLAB_REMOTE_MODELS", "").replace(",", " ").split()
    out = {}
    for item in value:
        key, sep, target = item.partition("=")
        if not sep or not target.startswith(("http://", "https://")):
            raise ConfigError(N_("QWENLAB_REMOTE_MODELS entries look like key=http://host:port/v1, "
                                "not {entry}"), entry=repr(item))
        url, _, name = target.partition("#")
        out[key] = (url, name or None)
    return out


def remote_api_key() -> str | None:
    """QWENLAB_REMOTE_API_KEY: sent as a bearer token to the remote engines, if they need one."""
    return os.environ.get("QWENLAB_REMOTE_API_KEY", "").strip() or None


def batching(device: str) -> bool:
    """QWENLAB_BATCHING: auto (continuous batching on a GPU; on a CPU the default int4 ONNX
    engine answers one request at a time), on (also on a CPU, for transformers models: see
    QWENLAB_CPU_ENGINE) or off."""
    value = os.environ.get("QWENLAB_BATCHING", "auto").strip().lower() or "auto"
    if value not in {"auto", "on", "off"}:
        raise ConfigError(N_("QWENLAB_BATCHING must be auto, on or off, not {value}"),
                          value=repr(value))
    return value == "on" or (value == "auto" and device == "cuda")


def hub_offline() -> bool:
    """HF_HUB_OFFLINE: the Hugging Face convention for "never touch the network"."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
