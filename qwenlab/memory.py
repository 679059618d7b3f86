"""Peak memory while something runs: what generating an answer costs on top of the weights.

On CUDA this is torch's allocator peak (exact, this process's tensors). On CPU there is no
allocator counter, so a thread samples the process's resident memory every few milliseconds;
the figure is the process's, so other learners' requests running at the same time count too.
"""

from __future__ import annotations

import threading

SAMPLE_S = 0.005


class PeakMemory:
    """`with PeakMemory(device) as peak: ...`, then `peak.bytes` is the peak above the start."""

    def __init__(self, device: str):
        self.device = device
        self.bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
        else:
            import psutil

            process = psutil.Process()
            self._base = self._peak = process.memory_info().rss

            def sample():
                while not self._stop.wait(SAMPLE_S):
                    self._peak = max(self._peak, process.memory_info().rss)

            self._thread = threading.Thread(target=sample, name="peak-memory", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            self.bytes = max(0, torch.cuda.max_memory_allocated() - self._base)
            return
        self._stop.set()
        self._thread.join()
        import psutil

        self._peak = max(self._peak, psutil.Process().memory_info().rss)
        self.bytes = max(0, self._peak - self._base)
