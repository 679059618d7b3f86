"""Facts about this machine that several modules need: CPU cores, whether a CUDA GPU is there,
whether an optional package is installed, and at which version.

Each answer is cheap on purpose. Building the UI asks all of these, and importing torch
(about 3 s on two cores) or bitsandbytes (another 3.5 s: its CPU backend compiles kernels at
import) only to ask would double the app's cold start. So: the CUDA driver is asked directly
through ctypes unless torch is already imported, and packages are looked up, not imported.
This module imports nothing of Qwen Lab.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import os
import sys
from functools import lru_cache


def physical_cores() -> int:
    try:
        import psutil

        return psutil.cpu_count(logical=False) or os.cpu_count() or 1
    except ImportError:
        return os.cpu_count() or 1


@lru_cache(maxsize=1)
def cuda_available() -> bool:
    """Whether a CUDA GPU can be used: torch's answer when torch is loaded already, else the
    driver's own device count (what torch.cuda.is_available() asks underneath)."""
    if "torch" in sys.modules:
        return bool(sys.modules["torch"].cuda.is_available())
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False  # no NVIDIA driver: no GPU, whatever torch was built for
    count = ctypes.c_int(0)
    if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return False
    return count.value > 0


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's flags as /proc/cpuinfo lists them (avx2, avx512_vnni, amx_int8, ...); none
    where there is no such file."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX-512 BF16 or AMX): there bf16 trains and
    prefills faster than fp32; on AVX2-only CPUs it is slower (bench/finetune.py, NOTES.md)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def installed(package: str) -> bool:
    """Whether `package` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def version(distribution: str) -> str | None:
    """The installed version of a distribution, or None; reads metadata, imports nothing."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
