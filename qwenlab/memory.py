"""Peak memory while something runs: what generating an answer costs on top of the weights.

On CUDA this is torch's allocator peak (exact, this process's tensors). On CPU there is no
allocator counter, so a thread samples the process's memory every few milliseconds: on Linux
its anonymous resident memory (what computation allocates; weights memory-mapped from
safetensors and paged in on first use are file-backed and do not count), elsewhere its RSS.
The figure is the process's, so other learners' requests running at the same time count too.
"""

from __future__ import annotations

import os
import threading

SAMPLE_S = 0.005


class PeakMemory:
    """`with PeakMemory(device) as peak: ...`, then `peak.bytes` is the peak above the start;
    or `start()`, then `stop()` (which returns it, and may be called again)."""

    def __init__(self, device: str):
        self.device = device
        self.bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False

    def __enter__(self) -> PeakMemory:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> PeakMemory:
        self._running = True
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
        else:
            self._base = self._peak = _resident()

            def sample():
                while not self._stop.wait(SAMPLE_S):
                    self._peak = max(self._peak, _resident())

            self._thread = threading.Thread(target=sample, name="peak-memory", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> int:
        if not self._running:
            return self.bytes
        self._running = False
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            self.bytes = max(0, torch.cuda.max_memory_allocated() - self._base)
            return self.bytes
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, _resident())
        self.bytes = max(0, self._peak - self._base)
        return self.bytes


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident() -> int:
    """Anonymous resident bytes (Linux: resident minus file-backed pages), else RSS."""
    try:
        with open("/proc/self/statm", "rb") as f:
            _size, resident, shared = f.read().split()[:3]
        return (int(resident) - int(shared)) * _PAGE
    except OSError:
        import psutil

        return psutil.Process().memory_info().rss
