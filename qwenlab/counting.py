"""Tokenizers and image processors loaded without their model, to count tokens and visual
tokens before a model is loaded (the multilingual demo's costs, the vision preview, the serve
lesson's token view). At most COUNTING_CACHE of each are kept, the least recently used going
first, and the pool counts what they hold in its budget (and lets them go first when it needs
room). It loads no weights.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

from qwenlab.errors import N_, LoadError
from qwenlab.loading import fetch
from qwenlab.registry import ModelSpec

COUNTING_CACHE = 4             # tokenizers (and image processors) kept for counting, at most
TOKENIZER_BYTES = 150 * 10**6  # what one Qwen tokenizer holds (its vocabulary and merges)


class _Recent:
    """The last few pieces loaded for counting, by source folder, oldest dropped first."""

    def __init__(self, size: int, item_bytes: int):
        self.size, self.item_bytes = size, item_bytes
        self.items: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, source: str, make: Callable[[], Any]) -> Any:
        with self.lock:
            if source in self.items:
                self.items.move_to_end(source)
                return self.items[source]
        made = make()  # outside the lock: loading a tokenizer takes a second
        with self.lock:
            self.items[source] = made
            while len(self.items) > self.size:
                self.items.popitem(last=False)
            return made

    @property
    def nbytes(self) -> int:
        return len(self.items) * self.item_bytes

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_TOKENIZERS = _Recent(COUNTING_CACHE, TOKENIZER_BYTES)
_IMAGE_PROCESSORS = _Recent(COUNTING_CACHE, 10**6)


def counting_bytes() -> int:
    """Memory the counting caches hold (the pool charges it to its budget)."""
    return _TOKENIZERS.nbytes + _IMAGE_PROCESSORS.nbytes


def drop_counting_caches() -> None:
    """Let the counting pieces go (the pool does, before it evicts a model to make room)."""
    _TOKENIZERS.clear()
    _IMAGE_PROCESSORS.clear()


def load_tokenizer(spec: ModelSpec):
    """Just the tokenizer (for counting tokens), from the same source as the model; cached."""
    source = fetch(spec, weights=False)

    def make():
        if spec.is_vision:
            from transformers import AutoProcessor

            return AutoProcessor.from_pretrained(source).tokenizer
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(source)

    return _TOKENIZERS.get(source, make)


def load_image_processor(spec: ModelSpec):
    """Just the image processor of a vision model (to count an image's visual tokens before the
    model is loaded), from the same source as the model; cached. No tokenizer, no weights."""
    if not spec.is_vision:
        raise LoadError(N_("{model} does not take images, so it has no image processor"),
                        model=spec.key)
    source = fetch(spec, weights=False)

    def make():
        from transformers import AutoImageProcessor

        try:
            return AutoImageProcessor.from_pretrained(source)
        except (OSError, ValueError, ImportError) as exc:
            raise LoadError(N_("Could not load the image processor of {model} from {source}: "
                               "{error}"), model=spec.key, source=source, error=str(exc)) from exc

    return _IMAGE_PROCESSORS.get(source, make)
