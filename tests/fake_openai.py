"""A minimal OpenAI-compatible server for tests: GET /v1/models, and POST /v1/chat/completions
that streams the deltas it was given, as vLLM does (server-sent events, then [DONE]).

Used where the real server cannot be run here (vLLM needs a GPU): it replays the stream shapes
vLLM's reasoning parser produces, `delta.reasoning` (current) or `delta.reasoning_content`
(before vLLM PR #33402), so the client is tested against both.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def fake_openai(deltas: list[dict], usage: dict | None = None, finish_reason: str = "stop"):
    """Serve `deltas` (each a choices[0].delta dict) to every chat request, then a chunk with
    `finish_reason`, and, where the request asks for it (stream_options.include_usage) and
    `usage` is given, a last chunk with no choices and that usage, as vLLM does; yields
    (base URL, list of request bodies received)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

        def do_GET(self):
            body = json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]})
            self._send(200, "application/json", body.encode())

        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(request)
            chunks = [{"id": "c", "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                      for delta in deltas]
            chunks.append({"id": "c", "object": "chat.completion.chunk",
                           "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]})
            if usage and (request.get("stream_options") or {}).get("include_usage"):
                chunks.append({"id": "c", "object": "chat.completion.chunk", "choices": [],
                               "usage": usage})
            stream = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            self._send(200, "text/event-stream", stream.encode())

        def _send(self, status, kind, body):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", received
    finally:
        server.shutdown()
        server.server_close()
