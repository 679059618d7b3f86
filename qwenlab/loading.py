"""Turn one (spec, precision, device) into a loaded model with its tokenizer or processor.

This is the code a user with the Hub runs: `snapshot_download` (with progress) then
`from_pretrained`, quantization through `BitsAndBytesConfig`, vision models through
`AutoModelForImageTextToText` + `AutoProcessor`; int4 goes to ONNX Runtime GenAI
(engines/onnx.py), converted from the same checkpoint; a key the operator sent to a remote
server loads only its tokenizer (engines/remote.py). The engine that will run the model is
chosen and built here, once, with what it needs (the model, the ids that end a turn, its
limits from config.py), and held on the frozen `Loaded`. With QWENLAB_MODEL_DIR set, the same
calls read DIR/<key>/ instead. It does not cache or evict models (pool.py) and does not
generate (generation.py); the small pieces loaded without a model, for counting, are
counting.py's.
torch and transformers are imported inside functions so that `import qwenlab` stays light.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from qwenlab import config, system
from qwenlab.engines import Engine
from qwenlab.errors import N_, LoadError, Message, PrecisionUnavailable
from qwenlab.registry import ModelSpec, check_precision

log = logging.getLogger(__name__)

# progress(stage, fraction or None, message): stage is "download", "load" or "ready"; the
# message is a Message (qwenlab.errors), which the UI translates as a template.
Progress = Callable[[str, "float | None", str], None]

# Weights, configs, tokenizer and template files: what from_pretrained reads.
HUB_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.tiktoken"]
TOKENIZER_PATTERNS = [p for p in HUB_PATTERNS if p != "*.safetensors"]


@dataclass(frozen=True)
class Loaded:
    """A model in memory, the engine that runs it, and what the generation code needs beside."""

    spec: ModelSpec
    precision: str
    device: str
    model: Any
    tokenizer: Any
    engine: Engine                     # what runs it, chosen and built at load (engines/)
    eos: frozenset[int] = frozenset()  # the ids that end a turn
    processor: Any = None              # vision models only
    nbytes: int = 0                    # measured after load
    load_seconds: float = 0.0
    source: str = ""


def resolve_device(device: str | None = None) -> str:
    """auto -> cuda where a CUDA GPU answers, else cpu; asked without importing torch."""
    device = device or config.device()
    if device == "auto":
        return "cuda" if system.cuda_available() else "cpu"
    if device == "cuda" and not system.cuda_available():
        raise LoadError(N_("QWENLAB_DEVICE=cuda but no CUDA device answers"))
    return device


def precision_problem(precision: str, device: str, spec: ModelSpec | None = None) -> str | None:
    """Why `precision` cannot run on `device` (for `spec`, when given), or None when it can."""
    check_precision(precision)
    if precision == "int4":
        from qwenlab.engines import onnx

        return onnx.problem(spec, device)
    if precision == "bf16" and device == "cuda":
        import torch

        if not torch.cuda.is_bf16_supported():
            return Message(N_("this GPU has no bfloat16 support; use fp16"))
    if precision not in ("int8", "nf4"):
        return None
    # Looked up, not imported: importing bitsandbytes costs seconds (see system.py).
    installed = system.version("bitsandbytes") if system.installed("bitsandbytes") else None
    if installed is None:
        return Message(N_("{precision} needs bitsandbytes: {install}"), precision=precision,
                       install="pip install 'qwenlab[quantize]'")
    from packaging.version import Version

    if device == "cpu" and Version(installed) < Version("0.48"):
        return Message(N_("bitsandbytes {version} has no CPU kernels; 0.48 or newer does"),
                       version=installed)
    if device not in ("cpu", "cuda"):
        return Message(N_("bitsandbytes {precision} is not supported on {device}"),
                       precision=precision, device=device)
    return None


# Layers bitsandbytes' CPU nf4 kernel cannot pack: it needs output sizes in blocks of 32, and
# Qwen3.5's Gated DeltaNet gates (in_proj_a, in_proj_b) have one output per value head (16 in
# the 0.8B and 2B). They stay in 16 bits, as the LM head always does: a few thousand weights.
NF4_SKIP = {"qwen3_5": ["lm_head", "in_proj_a", "in_proj_b"]}


UNAVAILABLE = N_("{precision} on {device} is unavailable: {problem}")


def load_kwargs(precision: str, device: str, spec: ModelSpec | None = None) -> dict:
    """The from_pretrained arguments for a precision, exactly as a user would write them."""
    import torch

    problem = precision_problem(precision, device)
    if problem:
        raise PrecisionUnavailable(UNAVAILABLE, precision=precision, device=device,
                                   problem=problem)
    kwargs: dict = {"device_map": {"": device}}
    if precision in ("fp32", "bf16", "fp16"):
        kwargs["dtype"] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
        return kwargs
    from transformers import BitsAndBytesConfig

    if precision == "int8":
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
        kwargs["dtype"] = torch.float16  # LLM.int8 computes in fp16 either way
    else:
        compute = torch.bfloat16 if device == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
        skip = NF4_SKIP.get(spec.arch) if spec is not None else None
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=compute, bnb_4bit_use_double_quant=True,
            **({"llm_int8_skip_modules": skip} if skip else {}),
        )
        kwargs["dtype"] = compute
    return kwargs


def local_source(spec: ModelSpec) -> Path | None:
    """DIR/<key> when QWENLAB_MODEL_DIR is set (it must then exist), else None."""
    root = config.model_dir()
    if root is None:
        return None
    path = root / spec.key
    if not (path / "config.json").is_file():
        raise LoadError(N_("QWENLAB_MODEL_DIR is {root} but {path} holds no checkpoint; build "
                           "tiny ones with `qwenlab tiny {root}` or unset QWENLAB_MODEL_DIR"),
                        root=str(root), path=str(path))
    return path


def fetch(spec: ModelSpec, progress: Progress | None = None, weights: bool = True) -> str:
    """The checkpoint's local folder: QWENLAB_MODEL_DIR, the HF cache, or a Hub download
    (without the weights when only the tokenizer is wanted)."""
    local = local_source(spec)
    if local is not None:
        return str(local)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    offline = config.hub_offline()
    try:
        return snapshot_download(
            spec.hub_id, allow_patterns=HUB_PATTERNS if weights else TOKENIZER_PATTERNS,
            local_files_only=offline,
            tqdm_class=_download_reporter(spec, progress) if progress else None,
        )
    except LocalEntryNotFoundError as exc:
        if offline:
            raise LoadError(N_("{hub_id} is not in the Hugging Face cache and HF_HUB_OFFLINE=1 "
                               "is set: run `qwenlab prefetch {model}` with network, or set "
                               "QWENLAB_MODEL_DIR"), hub_id=spec.hub_id, model=spec.key) from exc
        raise LoadError(NO_DOWNLOAD, hub_id=spec.hub_id, error=str(exc)) from exc
    except OSError as exc:  # connection errors, missing repo, disk full
        raise LoadError(NO_DOWNLOAD, hub_id=spec.hub_id, error=str(exc)) from exc


NO_DOWNLOAD = N_("Could not download {hub_id} from the Hugging Face Hub: {error}")


def _download_reporter(spec: ModelSpec, progress: Progress):
    """A tqdm class that forwards the snapshot's byte counter to `progress`."""
    from tqdm.auto import tqdm

    class Reporter(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = False
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            result = super().update(n)
            if self.unit == "B" and self.total:
                progress("download", min(self.n / self.total, 1.0),
                         Message(N_("Downloading {hub_id}: {done} / {total} MB"),
                                 hub_id=spec.hub_id, done=f"{self.n / 1e6:.0f}",
                                 total=f"{self.total / 1e6:.0f}"))
            return result

    return Reporter


def load(spec: ModelSpec, precision: str, device: str, progress: Progress | None = None) -> Loaded:
    """Fetch and load one checkpoint; raise LoadError with a clear message when it fails."""
    report = progress or (lambda *_: None)
    if precision == "remote":
        return _load_remote(spec, progress)
    if precision == "int4":
        return _load_onnx(spec, device, progress)
    kwargs = load_kwargs(precision, device, spec)  # refuses an unavailable precision first
    report("download", None, Message(LOOKING, hub_id=spec.hub_id))
    source = fetch(spec, progress)
    report("load", None, Message(N_("Loading {model} at {precision} on {device}"),
                                 model=spec.key, precision=precision, device=device))
    started = time.perf_counter()
    try:
        model, tokenizer, processor = _from_pretrained(spec, source, kwargs)
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        raise LoadError(N_("Could not load {model} ({precision}, {device}) from {source}: "
                           "{error}"), model=spec.key, precision=precision, device=device,
                        source=source, error=str(exc)) from exc
    seconds = time.perf_counter() - started
    nbytes = model.get_memory_footprint()
    report("ready", 1.0, Message(N_("{model} ready: {gb} GB in {seconds} s"), model=spec.key,
                                 gb=f"{nbytes / 1e9:.2f}", seconds=f"{seconds:.1f}"))
    log.info("loaded %s %s %s: %.0f MB in %.1f s", spec.key, precision, device, nbytes / 1e6, seconds)
    eos = eos_ids(configured_eos(source), tokenizer)
    return Loaded(spec, precision, device, model, tokenizer,
                  transformers_engine(spec, precision, device, model, eos), eos, processor,
                  nbytes, seconds, source)


LOOKING = N_("Looking for {hub_id}")


def label(spec: ModelSpec, precision: str) -> str:
    """How a model's engine names itself in messages: `qwen3-0.6b (int4)`."""
    return f"{spec.key} ({precision})"


def transformers_engine(spec: ModelSpec, precision: str, device: str, model,
                        eos: frozenset[int]) -> Engine:
    """Continuous batching for text models where QWENLAB_BATCHING says so, else plain generate,
    each with the operator's limits (config.py)."""
    from qwenlab.engines import batching
    from qwenlab.engines.plain import TransformersEngine

    if batching.applies(spec, device):
        return batching.BatchingEngine(model, eos, label(spec, precision),
                                       config.max_active_per_model(device, batched=True),
                                       config.max_waiting())
    return TransformersEngine(model, label(spec, precision), config.max_active_per_model(device),
                              config.max_waiting())


def _load_remote(spec: ModelSpec, progress: Progress | None) -> Loaded:
    """A remote engine: nothing to load but the tokenizer (for prompt checks and counts)."""
    from qwenlab.engines import remote

    endpoint = remote.endpoint_for(spec)
    if endpoint is None:
        raise LoadError(N_("{model} has no remote engine; set QWENLAB_REMOTE_MODELS"),
                        model=spec.key)
    if "chat" not in spec.capabilities:
        raise LoadError(N_("{model}: remote engines serve the chat models only here"),
                        model=spec.key)
    report = progress or (lambda *_: None)
    report("load", None, Message(N_("Connecting to {name} at {url}"), name=endpoint.name,
                                 url=endpoint.url))
    started = time.perf_counter()
    try:
        remote.check(endpoint)
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(fetch(spec, weights=False))
    except LoadError:
        raise
    except (OSError, ValueError) as exc:
        raise LoadError(N_("Could not load the tokenizer of {model}: {error}"), model=spec.key,
                        error=str(exc)) from exc
    seconds = time.perf_counter() - started
    report("ready", 1.0, Message(N_("{model} served by {name} at {url}"), model=spec.key,
                                 name=endpoint.name, url=endpoint.url))
    engine = remote.RemoteEngine(endpoint, label(spec, "remote"),
                                 config.max_active_per_model("remote", batched=True),
                                 config.max_waiting())
    return Loaded(spec, "remote", "remote", endpoint, tokenizer, engine,
                  eos_ids(None, tokenizer), load_seconds=seconds, source=endpoint.url)


def _load_onnx(spec: ModelSpec, device: str, progress: Progress | None) -> Loaded:
    """int4 through ONNX Runtime GenAI: convert the checkpoint on first use, then load it."""
    from qwenlab.engines import onnx

    problem = onnx.problem(spec, device)
    if problem:
        raise PrecisionUnavailable(UNAVAILABLE, precision="int4", device=device,
                                   problem=problem)
    report = progress or (lambda *_: None)
    report("download", None, Message(LOOKING, hub_id=spec.hub_id))
    source = fetch(spec, progress)
    started = time.perf_counter()
    try:
        model, nbytes, folder = onnx.load(spec, source, progress)
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(source)
        eos = eos_ids(configured_eos(source), tokenizer)
    except LoadError:
        raise
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        raise LoadError(N_("Could not load {model} (int4 ONNX) from {source}: {error}"),
                        model=spec.key, source=source, error=str(exc)) from exc
    seconds = time.perf_counter() - started
    report("ready", 1.0, Message(N_("{model} ready (int4 ONNX): {gb} GB in {seconds} s"),
                                 model=spec.key, gb=f"{nbytes / 1e9:.2f}",
                                 seconds=f"{seconds:.1f}"))
    log.info("loaded %s int4 onnx: %.0f MB in %.1f s", spec.key, nbytes / 1e6, seconds)
    # Batched answers for a classroom (engines/lanes.py); one learner alone is a batch of one.
    import json

    from qwenlab.engines.lanes import LanesEngine

    engine = LanesEngine(model, folder, eos, label(spec, "int4"),
                         config.max_active_per_model("cpu", batched=True), config.max_waiting(),
                         checkpoint=json.loads((Path(source) / "config.json").read_text()))
    return Loaded(spec, "int4", device, model, tokenizer, engine, eos, None, nbytes, seconds,
                  source)


def configured_eos(source: str):
    """The generation config's end-of-turn ids, or the model config's where a checkpoint ships
    no generation_config.json (Qwen3.5's repositories have none)."""
    from transformers import AutoConfig, GenerationConfig

    try:
        return GenerationConfig.from_pretrained(source).eos_token_id
    except OSError:
        config = AutoConfig.from_pretrained(source)
        return getattr(config.get_text_config(), "eos_token_id", None)


def eos_ids(configured, tokenizer) -> frozenset[int]:
    """The ids that end a turn: the generation config's (`configured`: an id, a list or None),
    and the tokenizer's own."""
    ids = set(configured if isinstance(configured, (list, tuple)) else
              [configured] if configured is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return frozenset(ids)


def _from_pretrained(spec: ModelSpec, source: str, kwargs: dict):
    """As each card documents: vision-language models (Qwen2/2.5/3-VL, and Qwen3.5, which is
    natively multimodal) through AutoModelForImageTextToText and their processor; the
    embedding model as AutoModel (its last hidden state is pooled) and the reranker as a
    causal LM (it scores "yes" against "no"), both padding on the left; the rest as causal LMs."""
    if spec.is_vision:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        processor = AutoProcessor.from_pretrained(source)
        model = AutoModelForImageTextToText.from_pretrained(source, **kwargs)
        return model.eval(), processor.tokenizer, processor
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    scores = bool({"embed", "rerank"} & spec.capabilities)
    tokenizer = AutoTokenizer.from_pretrained(source, **({"padding_side": "left"} if scores else {}))
    cls = AutoModel if "embed" in spec.capabilities else AutoModelForCausalLM
    model = cls.from_pretrained(source, **kwargs)
    return model.eval(), tokenizer, None
