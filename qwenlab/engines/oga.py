"""ONNX Runtime GenAI through its C API, so that a forward pass lets the rest of the app run.

onnxruntime-genai's Python module holds the GIL through `generate_next_token` (0.18: no
`gil_scoped_release` in src/python/python.cpp). A step for a batch of sixteen takes about 60 ms
on two cores, and all that time no other Python thread moves: not Gradio's event loop sending
the tokens already written, not the next learner's prompt being tokenized. Measured: a thread
counting in a loop did 35 times less while a batch was written. The same library's C API
(`ort_genai_c.h`, exported by the libonnxruntime-genai.so in the wheel) called through ctypes
releases the GIL for every call, so the engine and the server take turns on the cores instead
of the server waiting for whole steps.

Only the calls the lanes need are bound: a model from a folder (with a JSON overlay), a
generator over a batch, its steps and its newest tokens. Each wrapper owns its C object and
destroys it when closed or collected.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

from qwenlab.errors import N_, Message

_P = ctypes.c_void_p
_SIGNATURES = {  # name: (argument types, result type); OgaResult* is None on success
    "OgaResultGetError": ([_P], ctypes.c_char_p),
    "OgaDestroyResult": ([_P], None),
    "OgaCreateConfig": ([ctypes.c_char_p, ctypes.POINTER(_P)], _P),
    "OgaConfigOverlay": ([_P, ctypes.c_char_p], _P),
    "OgaDestroyConfig": ([_P], None),
    "OgaCreateModelFromConfig": ([_P, ctypes.POINTER(_P)], _P),
    "OgaDestroyModel": ([_P], None),
    "OgaCreateGeneratorParams": ([_P, ctypes.POINTER(_P)], _P),
    "OgaDestroyGeneratorParams": ([_P], None),
    "OgaGeneratorParamsSetSearchNumber": ([_P, ctypes.c_char_p, ctypes.c_double], _P),
    "OgaGeneratorParamsSetSearchBool": ([_P, ctypes.c_char_p, ctypes.c_bool], _P),
    "OgaCreateGenerator": ([_P, _P, ctypes.POINTER(_P)], _P),
    "OgaDestroyGenerator": ([_P], None),
    "OgaGenerator_IsDone": ([_P], ctypes.c_bool),
    "OgaGenerator_AppendTokens": ([_P, ctypes.POINTER(ctypes.c_int32), ctypes.c_size_t], _P),
    "OgaGenerator_GenerateNextToken": ([_P], _P),
    "OgaGenerator_GetNextTokens": ([_P, ctypes.POINTER(ctypes.POINTER(ctypes.c_int32)),
                                    ctypes.POINTER(ctypes.c_size_t)], _P),
}
# The C API of this minor version is what is bound here (ort_genai_c.h); another minor version
# may change a signature, which crashes the process instead of failing to import.
SUPPORTED = ("0.18", "0.19")  # at least, below
_NAMES = ("libonnxruntime-genai.so", "libonnxruntime-genai.dylib", "onnxruntime-genai.dll")
_lib = None
_lib_lock = threading.Lock()


def version_problem(installed: str | None) -> str | None:
    """Why this version of onnxruntime-genai cannot be used, or None when it can."""
    from packaging.version import InvalidVersion, Version

    low, high = SUPPORTED
    try:
        fits = installed is not None and Version(low) <= Version(installed) < Version(high)
    except InvalidVersion:
        fits = False
    if fits:
        return None
    return Message(N_("onnxruntime-genai {version} is installed, but Qwen Lab binds the C API "
                      "of {supported}: {install}"),
                   version=installed or Message(N_("(version unknown)")), supported=f"{low}.x",
                   install=f"pip install 'onnxruntime-genai>={low},<{high}'")


class GenAIError(RuntimeError):
    """An OgaResult's error message."""


def library() -> ctypes.CDLL:
    """The installed onnxruntime-genai's C library (the one its Python module loads)."""
    global _lib
    with _lib_lock:
        if _lib is None:
            import onnxruntime_genai

            problem = version_problem(getattr(onnxruntime_genai, "__version__", None))
            if problem:  # checked again here: a changed C signature would crash, not fail
                raise GenAIError(problem)
            folder = Path(onnxruntime_genai.__file__).parent
            found = [folder / name for name in _NAMES if (folder / name).is_file()]
            if not found:
                raise GenAIError(f"onnxruntime-genai's C library is not in {folder}")
            lib = ctypes.CDLL(str(found[0]))
            for name, (arguments, result) in _SIGNATURES.items():
                function = getattr(lib, name)
                function.argtypes, function.restype = arguments, result
            _lib = lib
        return _lib


def _check(result) -> None:
    if result:
        lib = library()
        message = (lib.OgaResultGetError(result) or b"unknown error").decode(errors="replace")
        lib.OgaDestroyResult(result)
        raise GenAIError(message)


class Model:
    """An og model loaded from `folder`, with `overlay` (JSON) laid over its genai_config."""

    def __init__(self, folder: str | Path, overlay: str | None = None):
        lib = library()
        config = _P()
        _check(lib.OgaCreateConfig(str(folder).encode(), ctypes.byref(config)))
        try:
            if overlay:
                _check(lib.OgaConfigOverlay(config, overlay.encode()))
            self.handle = _P()
            _check(lib.OgaCreateModelFromConfig(config, ctypes.byref(self.handle)))
        finally:
            lib.OgaDestroyConfig(config)

    def close(self) -> None:
        handle, self.handle = getattr(self, "handle", None), None
        if handle:
            library().OgaDestroyModel(handle)

    __del__ = close


class Generator:
    """A batch of `rows` prompts written together. `search`: og's search options (numbers and
    booleans, e.g. max_length, temperature, do_sample); batch_size is set from the rows."""

    def __init__(self, model: Model, search: dict, rows: list[list[int]], pad_id: int):
        lib = library()
        params = _P()
        _check(lib.OgaCreateGeneratorParams(model.handle, ctypes.byref(params)))
        try:
            for name, value in dict(search, batch_size=len(rows)).items():
                if isinstance(value, bool):
                    _check(lib.OgaGeneratorParamsSetSearchBool(params, name.encode(), value))
                else:
                    _check(lib.OgaGeneratorParamsSetSearchNumber(params, name.encode(), float(value)))
            self.handle = _P()
            _check(lib.OgaCreateGenerator(model.handle, params, ctypes.byref(self.handle)))
        finally:
            lib.OgaDestroyGeneratorParams(params)
        self.model = model  # the model outlives its generators
        width = max(len(row) for row in rows)
        flat = [token for row in rows for token in row + [pad_id] * (width - len(row))]
        _check(lib.OgaGenerator_AppendTokens(self.handle, (ctypes.c_int32 * len(flat))(*flat),
                                             len(flat)))

    def step(self) -> list[int]:
        """One forward pass for every row; each row's new token."""
        lib = library()
        _check(lib.OgaGenerator_GenerateNextToken(self.handle))
        tokens, count = ctypes.POINTER(ctypes.c_int32)(), ctypes.c_size_t()
        _check(lib.OgaGenerator_GetNextTokens(self.handle, ctypes.byref(tokens), ctypes.byref(count)))
        return tokens[:count.value]

    def done(self) -> bool:
        return bool(library().OgaGenerator_IsDone(self.handle))

    def close(self) -> None:
        handle, self.handle = getattr(self, "handle", None), None
        if handle:
            library().OgaDestroyGenerator(handle)

    __del__ = close
