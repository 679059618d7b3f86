"""ModelPool: one shared, cached set of loaded models under a memory budget.

The pool owns leases (a lease pins its model), the budget (measured weight bytes plus
headroom, plus what each model's engine reserves for its batches, plus the tokenizers kept
for counting), least-recently-used eviction of idle models, one load per key however many
sessions ask at once, and the stats and events the UI shows. A private lease (fine-tuning
changes the weights it holds) gets a copy of its own, charged to the same budget and freed on
release. It decides what to evict under its lock and frees it after letting go of the lock
(stopping an engine, collecting garbage and trimming the heap take time no lease should wait
for). It also carries the classroom's per-learner rate and the fine-tuning line
(admission.py), which every demo shares. It does not know how a model is loaded (loading.py),
how text is generated (generation.py), which lesson asked, or anything of Gradio.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import json
import logging
import struct
import threading
import time
import weakref
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from qwenlab import config, counting, loading
from qwenlab.admission import JobLine, Rate
from qwenlab.engines import remote
from qwenlab.errors import N_, LoadError, Message, PoolFull, PrecisionUnavailable
from qwenlab.loading import Loaded, Progress
from qwenlab.registry import ModelSpec, estimate_weight_bytes, get_model

log = logging.getLogger(__name__)
GB = 1e9

Key = tuple  # (registry key, precision, device), plus a serial number for a private copy


@dataclass
class _Entry:
    key: Key
    charge: int                        # bytes held against the budget
    pins: int = 0
    state: str = "loading"             # loading | ready
    loaded: Loaded | None = None
    hits: int = 0
    last_used: float = field(default_factory=time.monotonic)
    private: bool = False              # one borrower's own copy: freed on release, never shared
    extra: int = 0                     # bytes charged beside the weights (training activations)


class ModelPool:
    """Thread-safe. `lease()` is the one way in; everything else is for the UI and tests."""

    def __init__(self, budget_bytes: int | None = None, device: str | None = None,
                 loader: Callable[..., Loaded] = loading.load):
        self.device = loading.resolve_device(device)
        self.budget = int(budget_bytes if budget_bytes is not None else default_budget(self.device))
        self._load = loader
        self._entries: dict[Key, _Entry] = {}
        self._cond = threading.Condition()
        self._counters = {"hits": 0, "loads": 0, "evictions": 0, "errors": 0}
        self._private_ids = itertools.count(1)
        self._load_seconds = 0.0
        self.events: deque[dict] = deque(maxlen=200)
        # The operator's classroom limits travel with the pool, so every demo sees the same:
        # each learner's rate, and the line for jobs that take a whole private copy of a model
        # and every core (fine-tuning), one at a time per machine. The line's name is in the
        # messages it sends (a place in line, a refusal), so it is a Message to translate.
        self.rates = Rate.from_config()
        self.training = JobLine.from_config(Message(N_("fine-tuning")))

    # -- leasing ---------------------------------------------------------------------------
    @contextmanager
    def lease(self, key: str, precision: str | None = None, device: str | None = None,
              progress: Progress | None = None) -> Iterator[Loaded]:
        """Pin a model for the duration of a `with` block, loading it first if needed."""
        loaded = self.acquire(key, precision, device, progress)
        try:
            yield loaded
        finally:
            self.release(loaded)

    def acquire(self, key: str, precision: str | None = None, device: str | None = None,
                progress: Progress | None = None, private: bool = False,
                extra_bytes: int = 0) -> Loaded:
        """The model, pinned until release(). private: a copy no one else is given (a caller
        that changes its weights, like fine-tuning), charged with `extra_bytes` beside the
        weights and freed as soon as it is released."""
        spec = get_model(key)
        if precision in (None, "remote") and remote.endpoint_for(spec):
            precision, device = "remote", "remote"  # the operator sent this key elsewhere
        else:
            device = loading.resolve_device(device) if device else self.device
            precision = precision or default_precision(device, spec)
            problem = loading.precision_problem(precision, device, spec)
            if problem:
                raise PrecisionUnavailable(loading.UNAVAILABLE, precision=precision,
                                           device=device, problem=problem)
        k = (key, precision, device, next(self._private_ids)) if private else (key, precision, device)
        victims: list[_Entry] = []
        try:
            with self._cond:
                entry = None if private else self._wait_for(k, progress)
                if entry is not None:
                    return entry.loaded
                estimate = int(estimate_bytes(spec, precision) * (1 + config.HEADROOM)) + extra_bytes
                victims = self._make_room(estimate, spec, precision)
                entry = self._entries[k] = _Entry(k, charge=estimate, pins=1, private=private,
                                                  extra=extra_bytes)
                self._event("load", k, f"estimated {estimate / GB:.2f} GB"
                            + (" (a private copy)" if private else ""))
        finally:
            self._free(victims)
        return self._finish_load(entry, spec, progress)

    def ready(self, key: str, precision: str | None = None) -> Loaded | None:
        """The model pinned at once if it is loaded and shared, else None (then `acquire`,
        which may load, in a thread of its own): lets an async handler skip a thread."""
        spec = get_model(key)
        if precision in (None, "remote") and remote.endpoint_for(spec):
            k = (key, "remote", "remote")
        else:
            k = (key, precision or default_precision(self.device, spec), self.device)
        with self._cond:
            entry = self._entries.get(k)
            if entry is None or entry.state != "ready":
                return None
            return self._pin(entry)

    def release(self, loaded: Loaded) -> None:
        victims: list[_Entry] = []
        with self._cond:
            for entry in self._entries.values():
                if entry.loaded is loaded:
                    entry.pins = max(0, entry.pins - 1)
                    entry.last_used = time.monotonic()
                    if entry.private and not entry.pins:
                        victims.append(self._evict(entry, "private copy released"))
                    break
        self._free(victims)

    def _wait_for(self, k: Key, progress: Progress | None) -> _Entry | None:
        """Under the lock: a ready entry (now pinned), or None when the caller should load."""
        told = False
        while (entry := self._entries.get(k)) is not None:
            if entry.state == "ready":
                self._pin(entry)
                return entry
            if progress and not told:
                progress("load", None, Message(N_("{model} is being loaded for another "
                                                  "learner; waiting"), model=k[0]))
                told = True
            self._cond.wait()
        return None

    def _pin(self, entry: _Entry) -> Loaded:
        """Under the lock: one more lease of a ready entry."""
        entry.pins += 1
        entry.hits += 1
        entry.last_used = time.monotonic()
        self._counters["hits"] += 1
        self._event("hit", entry.key, "")
        return entry.loaded

    def _finish_load(self, entry: _Entry, spec: ModelSpec, progress: Progress | None) -> Loaded:
        key, precision, device = entry.key[:3]
        try:
            loaded = self._load(spec, precision, device, progress)
        except BaseException as exc:
            with self._cond:
                del self._entries[entry.key]
                self._counters["errors"] += 1
                self._event("error", entry.key, str(exc))
                self._cond.notify_all()
            raise
        victims: list[_Entry] = []
        try:
            with self._cond:
                entry.loaded, entry.state = loaded, "ready"
                cache = loaded.engine.reserve()
                entry.charge = int(loaded.nbytes * (1 + config.HEADROOM)) + cache + entry.extra
                self._counters["loads"] += 1
                self._load_seconds += loaded.load_seconds
                self._event("ready", entry.key, f"{loaded.nbytes / GB:.3f} GB in "
                            f"{loaded.load_seconds:.1f} s"
                            + (f", {cache / GB:.2f} GB batching cache" if cache else ""))
                try:  # the measured size may exceed the estimate
                    victims = self._make_room(0, spec, precision)
                except PoolFull:
                    del self._entries[entry.key]
                    victims = [entry]
                    self._cond.notify_all()
                    raise
                self._cond.notify_all()
        finally:
            self._free(victims)
        return loaded

    # -- budget and eviction -----------------------------------------------------------------
    def _used(self) -> int:
        return sum(e.charge for e in self._entries.values()) + counting.counting_bytes()

    def _make_room(self, need: int, spec: ModelSpec, precision: str) -> list[_Entry]:
        """Under the lock: the idle models to evict, least recently used first, until `need`
        fits (the tokenizers kept for counting go first); they leave the pool here, and the
        caller frees them once it lets go of the lock. Nothing is evicted when even evicting
        every idle model would not make room: then PoolFull says who holds the memory."""
        if self._used() + need > self.budget:
            counting.drop_counting_caches()
        idle = sorted((e for e in self._entries.values() if e.pins == 0 and e.state == "ready"),
                      key=lambda e: e.last_used)
        if self._used() - sum(e.charge for e in idle) + need > self.budget:
            raise PoolFull(self._full_message(need, spec, precision))
        victims = []
        while self._used() + need > self.budget:
            victims.append(self._evict(idle.pop(0), "to make room"))
        return victims

    def _full_message(self, need: int, spec: ModelSpec, precision: str) -> Message:
        busy = sorted({e.key[0] for e in self._entries.values() if e.pins or e.state == "loading"})
        template = N_("{model} at {precision} needs {gb} GB (weights plus {headroom} headroom) "
                      "but the pool budget is {budget} GB; in use by other learners: {busy}. "
                      "Pick a smaller model or precision, or raise QWENLAB_POOL_BUDGET_GB.") \
            if busy else N_("{model} at {precision} needs {gb} GB (weights plus {headroom} "
                            "headroom) but the pool budget is {budget} GB. Pick a smaller model "
                            "or precision, or raise QWENLAB_POOL_BUDGET_GB.")
        return Message(template, model=spec.key, precision=precision, gb=f"{need / GB:.2f}",
                       headroom=f"{config.HEADROOM:.0%}", budget=f"{self.budget / GB:.2f}",
                       busy=", ".join(busy))

    def _evict(self, entry: _Entry, why: str) -> _Entry:
        """Under the lock: the entry leaves the pool (the caller frees it outside the lock)."""
        del self._entries[entry.key]
        self._counters["evictions"] += 1
        self._event("evict", entry.key, why)
        return entry

    def evict_idle(self) -> int:
        """Evict every idle model; returns how many went."""
        with self._cond:
            victims = [self._evict(e, "asked") for e in list(self._entries.values())
                       if e.pins == 0 and e.state == "ready"]
            count = len(victims)
        self._free(victims)
        return count

    @staticmethod
    def _free(victims: list[_Entry]) -> None:
        """Outside the lock: stop each evicted model's engine (which lets go of the model), drop
        every reference we hold, then give the memory back for real. Empties `victims`.

        A full gc.collect() costs a few hundred ms with transformers loaded, and is only needed
        when a model sits in a reference cycle; a weakref tells us whether one does.
        """
        if not victims:
            return
        models = []
        while victims:
            loaded = victims.pop().loaded
            if loaded is None:
                continue
            loaded.engine.close()  # its driver thread ends, and with it what the batch held
            try:
                models.append(weakref.ref(loaded.model))
            except TypeError:  # a model that cannot be weakly referenced: collect to be sure
                models.append(lambda: True)
            del loaded
        if any(model() is not None for model in models):
            gc.collect()
        release_memory()

    # -- telemetry ----------------------------------------------------------------------------
    def _event(self, kind: str, k: Key, detail: str) -> None:
        self.events.append({"time": time.time(), "kind": kind, "model": k[0],
                            "precision": k[1], "device": k[2], "detail": detail})

    def stats(self) -> dict:
        now = time.monotonic()
        with self._cond:
            entries = list(self._entries.values())
            used = self._used()
            counters, load_seconds = dict(self._counters), self._load_seconds
        models = [{
            "model": e.key[0], "precision": e.key[1], "device": e.key[2],
            "state": "private" if e.private and e.state == "ready" else e.state,
            "bytes": e.loaded.nbytes if e.loaded else None, "charge": e.charge,
            "leases": e.pins, "hits": e.hits, "idle_seconds": round(now - e.last_used, 1),
            "load_seconds": round(e.loaded.load_seconds, 2) if e.loaded else None,
            **(e.loaded.engine.stats() if e.loaded else {"active": 0, "waiting": 0, "limit": 0}),
        } for e in entries]
        return {"device": self.device, "budget_bytes": self.budget, "used_bytes": used,
                "models": models, "load_seconds": round(load_seconds, 2), **counters,
                "limits": {"per_minute": self.rates.per_minute,
                           "max_waiting": config.max_waiting(),
                           "training": self.training.stats()}}


def default_precision(device: str, spec: ModelSpec | None = None) -> str:
    """bf16 (fp16 on GPUs without it); on CPU, int4 ONNX wherever that engine covers the model."""
    if device == "cuda" and loading.precision_problem("bf16", device):
        return "fp16"
    if (device == "cpu" and spec is not None and config.cpu_engine() == "auto"
            and not loading.precision_problem("int4", device, spec)):
        return "int4"
    return "bf16"


def default_budget(device: str) -> int:
    """QWENLAB_POOL_BUDGET_GB, else a share of the free GPU memory (or of available RAM)."""
    gb = config.budget_gb()
    if gb is not None:
        return int(gb * GB)
    if device == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info()
    else:
        import psutil

        free = psutil.virtual_memory().available
    return int(free * config.DEFAULT_BUDGET_SHARE)


def estimate_bytes(spec: ModelSpec, precision: str) -> int:
    """Weight bytes before loading: from the local files' tensor shapes, else the registry."""
    if precision == "remote":
        return 0  # served elsewhere: no weights here
    try:
        source = loading.local_source(spec)
    except LoadError:
        source = None
    if source is not None:
        counts = safetensors_param_counts(source)
        if counts is not None:
            return estimate_weight_bytes(counts[0], counts[1], precision)
    return spec.weight_bytes(precision)


def safetensors_param_counts(folder: Path) -> tuple[int, int] | None:
    """(linear-ish params, embedding + LM head params) from safetensors headers alone."""
    files = sorted(Path(folder).glob("*.safetensors"))
    if not files:
        return None
    body = embed = 0
    for path in files:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
        for name, info in header.items():
            if name == "__metadata__":
                continue
            numel = 1
            for dim in info["shape"]:
                numel *= dim
            if "embed_tokens" in name or "lm_head" in name:
                embed += numel
            else:
                body += numel
    return body, embed


def release_memory() -> None:
    """Return freed memory to the device: CUDA's cache, and glibc's heap on Linux."""
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
