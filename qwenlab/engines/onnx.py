"""The fast CPU path: Qwen text models as int4 ONNX, run by ONNX Runtime GenAI.

This module owns the conversion (onnxruntime_genai's model builder, run on the Hugging Face
checkpoint the first time a model is asked for at int4, cached on disk and reused), loading
the converted folder (through the C API, engines/oga.py), and the search options a generator
takes; engines/lanes.py runs the answers, streaming token ids like TransformersEngine so that
generation.py (chat template, thinking split, stats, Stop) works unchanged. The pool sees an
int4 model as one more (model, precision, device) entry. Nothing here knows about Gradio.

Covered: the Qwen2/Qwen2.5 and Qwen3 text models, and Qwen3.5's text part (its images go
through transformers), on CPU. The VL models, the embedding and the reranker stay on
transformers.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from qwenlab import config, system
from qwenlab.errors import N_, LoadError, Message
from qwenlab.registry import ModelSpec, Sampling

log = logging.getLogger(__name__)

ENGINE = "onnxruntime-genai"
ARCHES = ("qwen2", "qwen3", "qwen3_5")  # Qwen3.5: its text part (the builder's qwen3_5_text)
INSTALL = "pip install 'qwenlab[onnx]'"
BUILD_FORMAT = 1  # bump to rebuild every cached model after a change in how they are built
Progress = Callable[[str, "float | None", str], None]


def problem(spec: ModelSpec | None, device: str) -> str | None:
    """Why int4 (ONNX Runtime GenAI) cannot serve `spec` on `device`, or None when it can."""
    if device != "cpu":
        return Message(N_("the int4 ONNX engine is this app's CPU path; on a GPU use nf4 or "
                          "bf16"))
    if spec is not None and (spec.arch not in ARCHES or not spec.capabilities & {"chat"}):
        return Message(N_("the ONNX builder path covers Qwen text models; {model} stays on "
                          "transformers"), model=spec.key)
    if not system.installed("onnxruntime_genai"):  # looked up, not imported: see system.py
        return Message(N_("int4 needs ONNX Runtime GenAI: {install}"), install=INSTALL)
    from qwenlab.engines import oga  # no onnxruntime import: the C library loads on first use

    return oga.version_problem(system.version("onnxruntime-genai"))


def folder_for(spec: ModelSpec, source: str) -> Path:
    """Where the converted model lives: one folder per registry key and checkpoint source."""
    tag = re.sub(r"[^A-Za-z0-9]+", "-", str(Path(source).resolve()))[-60:]
    return config.cache_dir() / "onnx" / f"{spec.key}-int4-cpu-v{BUILD_FORMAT}{tag}"


def _stamp(source: str) -> dict:
    """What the conversion was made from: if the checkpoint changes, convert again."""
    files = sorted(Path(source).glob("*.safetensors")) + [Path(source) / "config.json"]
    return {f.name: [f.stat().st_size, int(f.stat().st_mtime)] for f in files if f.is_file()}


def is_built(spec: ModelSpec, source: str) -> bool:
    marker = folder_for(spec, source) / "qwenlab-source.json"
    try:
        return json.loads(marker.read_text()) == _stamp(source)
    except (OSError, ValueError):
        return False


_BUILD_LOCK = threading.Lock()  # one conversion at a time: each takes all the cores it can


def build(spec: ModelSpec, source: str, progress: Progress | None = None) -> Path:
    """Convert the checkpoint in `source` to int4 ONNX (once), reporting progress."""
    report = progress or (lambda *_: None)
    target = folder_for(spec, source)
    with _BUILD_LOCK:
        if is_built(spec, source):
            return target
        layers = _layers(json.loads((Path(source) / "config.json").read_text()))
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-m", source,
                   "-o", str(partial), "-p", "int4", "-e", "cpu",
                   "-c", str(partial / "hf-cache")]
        report("convert", 0.0, Message(N_("Converting {model} to int4 ONNX (first use only; "
                                          "cached)"), model=spec.key))
        started = time.perf_counter()
        tail = _run_builder(command, layers, spec, report)
        if not (partial / "genai_config.json").is_file():
            raise BuildError(N_("Converting {model} to ONNX failed:\n{log}"), model=spec.key,
                             log="\n".join(tail))
        shutil.rmtree(partial / "hf-cache", ignore_errors=True)
        (partial / "qwenlab-source.json").write_text(json.dumps(_stamp(source)))
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        log.info("converted %s to int4 ONNX in %.0f s", spec.key, time.perf_counter() - started)
        return target


def _layers(config: dict) -> int:
    """Decoder layers, for the conversion's progress (a multimodal config nests its text part)."""
    return config.get("num_hidden_layers") or config.get("text_config", {}).get("num_hidden_layers", 1)


def _run_builder(command: list[str], layers: int, spec: ModelSpec, report: Progress) -> list[str]:
    """Run the builder, turning its log into progress; returns its last lines for errors."""
    tail: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1) as proc:
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-15:]
            if m := re.match(r"Reading layer (\d+)", line):
                report("convert", 0.6 * (int(m[1]) + 1) / layers,
                       Message(N_("Converting {model} to int4 ONNX: layer {layer} of {layers}"),
                               model=spec.key, layer=int(m[1]) + 1, layers=layers))
            elif m := re.search(r"start to quantize /model/layers\.(\d+)/", line):
                report("convert", 0.6 + 0.35 * (int(m[1]) + 1) / layers,
                       Message(N_("Quantizing {model} to int4: layer {layer} of {layers}"),
                               model=spec.key, layer=int(m[1]) + 1, layers=layers))
    return tail


class BuildError(LoadError):
    """The ONNX builder did not produce a model."""


def load(spec: ModelSpec, source: str, progress: Progress | None = None):
    """(the model, bytes of weights on disk, its folder), converting first when needed. The
    model is loaded through the C API (engines/oga.py), whose calls let other threads run."""
    from qwenlab.engines import oga

    folder = build(spec, source, progress)
    nbytes = sum(f.stat().st_size for f in folder.glob("model.onnx*"))
    return oga.Model(folder, json.dumps(session_options())), nbytes, folder


def session_options() -> dict:
    """Overlaid on the model's genai_config.json at load: one intra-op thread per physical
    core (QWENLAB_ONNX_THREADS to change it; see bench/cpu.py for what was measured)."""
    threads = config.onnx_threads()
    return {"model": {"decoder": {"session_options": {"intra_op_num_threads": threads}}}}


def _search_options(sampling: Sampling, max_length: int) -> dict:
    options = {"max_length": max_length, "do_sample": bool(sampling.do_sample),
               "repetition_penalty": float(sampling.repetition_penalty or 1.0)}
    if sampling.do_sample:
        options |= {"temperature": float(sampling.temperature), "top_p": float(sampling.top_p),
                    "top_k": int(sampling.top_k)}
    return options
