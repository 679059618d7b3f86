"""Past one machine: a registry key served by a remote OpenAI-compatible engine (vLLM,
`transformers serve`, Ollama) instead of a local load.

The operator maps keys to endpoints in QWENLAB_REMOTE_MODELS (config.py). The pool then hands
out a `Loaded` whose model is a `RemoteModel` (no weights here: it costs the budget nothing)
and whose tokenizer is the checkpoint's own, fetched without the weights, so that prompt
lengths are checked and tokens counted exactly as for a local model. `RemoteEngine` streams
the server's chat completion as `Text` pieces, reasoning marked where the server split it off,
and generation.py makes the same events of them as of a local model's ids: thinking split,
final stats, Stop (the connection is closed). Nothing here knows about Gradio.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator

from qwenlab import config
from qwenlab.engines import Engine, Request, Text, ToolCall, Usage
from qwenlab.engines.driver import Driver, Job
from qwenlab.engines.threaded import Threaded
from qwenlab.errors import N_, RemoteError
from qwenlab.registry import ModelSpec, Sampling

ENGINE = "remote"
TIMEOUT_S = 30.0  # to connect and to wait between two chunks


@dataclass(frozen=True)
class RemoteModel:
    url: str      # the OpenAI-compatible base URL, ending in /v1
    name: str     # the model name the server knows (default: the Hub id)

    def __str__(self) -> str:
        return f"{self.name} at {self.url}"


def endpoint_for(spec: ModelSpec) -> RemoteModel | None:
    """The remote engine configured for this key, if any."""
    entry = config.remote_models().get(spec.key)
    if entry is None:
        return None
    url, name = entry
    return RemoteModel(url.rstrip("/"), name or spec.hub_id)


def request_body(remote: RemoteModel, messages: list[dict], sampling: Sampling,
                 max_new_tokens: int, thinking: bool | None,
                 tools: list[dict] | None = None) -> dict:
    body = {"model": remote.name, "messages": messages, "max_tokens": max_new_tokens,
            "stream": True, "stream_options": {"include_usage": True}}  # the exact token count
    if sampling.do_sample:
        body |= {"temperature": sampling.temperature, "top_p": sampling.top_p}
    else:
        body["temperature"] = 0.0
    if thinking is not None:  # Qwen3: vLLM and transformers serve forward this to the template
        body["chat_template_kwargs"] = {"enable_thinking": bool(thinking)}
    if tools:  # vLLM parses the calls back with --enable-auto-tool-choice --tool-call-parser
        body["tools"] = tools
    return body


class RemoteEngine(Engine):
    """Chat completions from the operator's server; text in, text out. Each answer is one HTTP
    stream in a worker of the driver's `Threaded` batch, `limit` at once (the server batches
    them itself; the limit only keeps this machine's line honest)."""

    name = ENGINE
    continues = False  # it takes a chat, not token ids: no second pass from ids

    def __init__(self, remote: RemoteModel, label: str, limit: int, max_waiting: int):
        self.remote = remote
        self.driver = Driver(label, lambda: Threaded(label, self._stream, limit), limit,
                             max_waiting)

    def where(self, device: str) -> str:
        return self.remote.url

    def _stream(self, job: Job, put: Callable[[Any], None], stopped: Callable[[], bool]) -> None:
        request: Request = job.request
        prompt = request.prompt
        body = request_body(self.remote, prompt.messages, request.sampling,
                            request.max_new_tokens, prompt.thinking, prompt.tools)
        for piece in stream_text(self.remote, body, stopped):
            put(piece)


def stream_text(remote: RemoteModel, body: dict,
                stopped: Callable[[], bool]) -> Iterator[Text | Usage]:
    """Text pieces from the server's stream, reasoning marked, then what it reported of its
    count and why it stopped (a server that sends no `usage` leaves the count to us); closes
    the stream once `stopped()`."""
    import httpx

    headers = {"Authorization": f"Bearer {config.remote_api_key()}"} if config.remote_api_key() else {}
    try:
        with httpx.stream("POST", f"{remote.url}/chat/completions", json=body, headers=headers,
                          timeout=httpx.Timeout(TIMEOUT_S, read=TIMEOUT_S * 4)) as response:
            if response.status_code != 200:
                detail = response.read().decode(errors="replace")[:300]
                raise RemoteError(N_("{name} at {url} answered HTTP {status}: {detail}"),
                                  name=remote.name, url=remote.url,
                                  status=response.status_code, detail=detail)
            usage = Usage()
            for line in response.iter_lines():
                if stopped():
                    return  # leaving the block closes the connection; the server stops
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                for choice in chunk.get("choices") or []:
                    yield from _pieces(choice.get("delta") or {})
                    usage = replace(usage, finish_reason=choice.get("finish_reason") or usage.finish_reason)
                count = (chunk.get("usage") or {}).get("completion_tokens")
                if isinstance(count, int):
                    usage = replace(usage, new_tokens=count)
            yield usage
    except httpx.HTTPError as exc:
        raise RemoteError(N_("Could not reach {name} at {url}: {error}. Is the server running?"),
                          name=remote.name, url=remote.url, error=str(exc)) from exc


def _pieces(delta: dict) -> Iterator[Text | ToolCall]:
    """A streamed delta's reasoning, answer text and tool-call pieces. vLLM's reasoning parser
    (`--reasoning-parser qwen3`, for Qwen3 and Qwen3.5) sends reasoning as `reasoning`; before
    vLLM PR #33402 it was `reasoning_content` (still what some servers send). Its tool-call
    parser (`--tool-call-parser hermes` for Qwen3, `qwen3_coder` for Qwen3.5 and Qwen3-Coder)
    sends `tool_calls`, passed through as they come."""
    reasoning = delta.get("reasoning") or delta.get("reasoning_content")
    if reasoning:
        yield Text(reasoning, reasoning=True)
    if delta.get("content"):
        yield Text(delta["content"])
    for call in delta.get("tool_calls") or []:
        function = call.get("function") or {}
        yield ToolCall(int(call.get("index", 0)), call.get("id"), function.get("name"),
                       function.get("arguments") or "")


def check(remote: RemoteModel) -> None:
    """Fail early, with a clear message, when nothing answers at the URL."""
    import httpx

    try:
        httpx.get(f"{remote.url}/models", timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise RemoteError(N_("Could not reach {name} at {url} ({error}); check "
                             "QWENLAB_REMOTE_MODELS and that the server is running"),
                          name=remote.name, url=remote.url, error=str(exc)) from exc
