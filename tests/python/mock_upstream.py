"""A mock upstream on 127.0.0.1 that speaks three providers' real wire
formats — OpenAI's Chat Completions and Embeddings, Anthropic's Messages,
Gemini's generateContent / streamGenerateContent / batchEmbedContents —
JSON and SSE streams, with their error bodies. Each API refuses, as the
real one does, a top-level request field it does not know (400 in its own
error shape), so a library argument leaked into a body fails the test.

Tests script it per model (``mock.on("gpt-4o-mini", text=…, status=…,
delay=…, tool_call=…)``), hold requests until a number of them have
arrived (``mock.hold(50)``), require a key per API (``mock.keys``), and
read every request it saw (``mock.requests``). Run alone
(``python tests/python/mock_upstream.py``) it serves until killed and
prints its URL, for the benchmark.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

# https://platform.openai.com/docs/api-reference/chat/create
OPENAI_CHAT_FIELDS = {
    "model", "messages", "temperature", "top_p", "n", "stream", "stream_options", "stop",
    "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias",
    "logprobs", "top_logprobs", "user", "seed", "tools", "tool_choice", "parallel_tool_calls",
    "response_format", "functions", "function_call", "reasoning_effort", "modalities", "audio",
    "prediction", "store", "service_tier", "web_search_options", "verbosity",
    "prompt_cache_key", "safety_identifier",
}
# https://platform.openai.com/docs/api-reference/embeddings/create
OPENAI_EMBED_FIELDS = {"model", "input", "dimensions", "encoding_format", "user"}
# https://docs.anthropic.com/en/api/messages
ANTHROPIC_FIELDS = {
    "model", "messages", "system", "max_tokens", "metadata", "stop_sequences", "stream",
    "temperature", "top_k", "top_p", "tools", "tool_choice", "thinking", "service_tier",
    "container", "mcp_servers", "output_config",
}
# https://ai.google.dev/api/generate-content#request-body
GEMINI_FIELDS = {
    "contents", "systemInstruction", "system_instruction", "tools", "toolConfig", "tool_config",
    "safetySettings", "safety_settings", "generationConfig", "generation_config", "cachedContent",
}
GEMINI_EMBED_FIELDS = {"requests"}


@dataclass
class Behaviour:
    """What the mock answers for one model."""

    text: Optional[str] = None
    #: An error status: answered with the API's own error body.
    status: Optional[int] = None
    message: str = "mock failure"
    #: The error's type/code where the API names one (OpenAI's ``code``).
    code: Optional[str] = None
    retry_after: Optional[str] = None
    #: Seconds before the answer starts.
    delay: float = 0.0
    #: Seconds between stream events.
    event_delay: float = 0.0
    #: (name, arguments JSON) of one tool call to answer with.
    tool_call: Optional[Tuple[str, str]] = None
    prompt_tokens: int = 12
    completion_tokens: int = 7
    #: How many of the next requests get this error, then answers normally (None: all).
    times: Optional[int] = None


@dataclass
class Seen:
    """One request the mock received."""

    api: str
    path: str
    headers: Dict[str, str]
    body: Any
    model: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a cancelled call, a process that exits) is no failure here.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


class MockUpstream:
    def __init__(self) -> None:
        self.behaviours: Dict[str, Behaviour] = {}
        self.requests: List[Seen] = []
        #: API ("openai", "anthropic", "gemini") -> the key it requires.
        self.keys: Dict[str, str] = {}
        self._barrier: Optional[threading.Barrier] = None
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "MockUpstream":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def on(self, model: str, **behaviour: Any) -> None:
        self.behaviours[model] = Behaviour(**behaviour)

    def hold(self, count: int, timeout: float = 20.0) -> None:
        """Holds each request until ``count`` have arrived (then all answer);
        a request still held after ``timeout`` seconds answers 503."""
        self._barrier = threading.Barrier(count, timeout=timeout)

    def reset(self) -> None:
        with self._lock:
            self.behaviours.clear()
            self.requests.clear()
            self.keys.clear()
            self._barrier = None

    def seen(self, model: Optional[str] = None) -> List[Seen]:
        with self._lock:
            return [r for r in self.requests if model is None or r.model == model]

    # What the handler asks.
    def _record(self, seen: Seen) -> Behaviour:
        with self._lock:
            self.requests.append(seen)
            b = self.behaviours.get(seen.model, Behaviour())
            if b.status is not None and b.times is not None:
                if b.times <= 0:
                    return Behaviour(text=b.text, delay=b.delay)
                b.times -= 1
            return b

    def _wait_barrier(self) -> bool:
        barrier = self._barrier
        if barrier is None:
            return True
        try:
            barrier.wait()
            return True
        except threading.BrokenBarrierError:
            return False


def _handler(mock: MockUpstream) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # A head and a body written apart would otherwise wait out the
        # client's delayed ACK (40 ms) on every answer.
        disable_nagle_algorithm = True

        def log_message(self, *_: Any) -> None:
            pass

        # Plumbing.
        def _json(self, status: int, body: Any, headers: Optional[Dict[str, str]] = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _sse(self, events: List[str], delay: float) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for i, event in enumerate(events):
                if i and delay:
                    time.sleep(delay)
                data = event.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self._json(400, {"error": {"message": "not JSON"}})
            path, _, query = self.path.partition("?")
            headers = {k.lower(): v for k, v in self.headers.items()}
            if path.endswith("/chat/completions"):
                return self._openai_chat(path, headers, body)
            if path.endswith("/embeddings"):
                return self._openai_embed(path, headers, body)
            if path.endswith("/v1/messages"):
                return self._anthropic(path, headers, body)
            if ":generateContent" in path or ":streamGenerateContent" in path:
                return self._gemini(path, query, headers, body)
            if ":batchEmbedContents" in path:
                return self._gemini_embed(path, headers, body)
            self._json(404, {"error": {"message": f"no route {path}"}})

        def _common(self, api: str, path: str, headers: Dict[str, str], body: Any, model: str,
                    allowed: set, key: Optional[str]) -> Optional[Behaviour]:
            b = mock._record(Seen(api, path, headers, body, model))
            unknown = sorted(set(body) - allowed) if isinstance(body, dict) else []
            if unknown:
                self._error(api, 400, f"Unrecognized request argument supplied: {', '.join(unknown)}",
                            "invalid_request_error")
                return None
            want = mock.keys.get(api)
            if want is not None and key != want:
                self._error(api, 401, "Incorrect API key provided", "invalid_api_key")
                return None
            if not mock._wait_barrier():
                self._error(api, 503, "held too long: the other requests never arrived", None)
                return None
            if b.delay:
                time.sleep(b.delay)
            if b.status is not None:
                extra = {"retry-after": b.retry_after} if b.retry_after else None
                self._error(api, b.status, b.message, b.code, extra)
                return None
            return b

        def _error(self, api: str, status: int, message: str, code: Optional[str],
                   headers: Optional[Dict[str, str]] = None) -> None:
            if api == "anthropic":
                kinds = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                         404: "not_found_error", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}
                body = {"type": "error", "error": {"type": kinds.get(status, "api_error"), "message": message}}
            elif api == "gemini":
                statuses = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                            404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
                body = {"error": {"code": status, "message": message, "status": statuses.get(status, "UNKNOWN")}}
            else:
                types = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
                         429: "rate_limit_exceeded"}
                body = {"error": {"message": message, "type": types.get(status, "server_error"),
                                  "param": None, "code": code}}
            self._json(status, body, headers)

        # OpenAI.
        def _openai_chat(self, path: str, headers: Dict[str, str], body: Any) -> None:
            model = body.get("model", "")
            key = headers.get("authorization", "").removeprefix("Bearer ")
            b = self._common("openai", path, headers, body, model, OPENAI_CHAT_FIELDS, key)
            if b is None:
                return
            text = b.text if b.text is not None else f"Hello from {model}"
            cid, created = "chatcmpl-mock", 1_700_000_000
            usage = {"prompt_tokens": b.prompt_tokens, "completion_tokens": b.completion_tokens,
                     "total_tokens": b.prompt_tokens + b.completion_tokens}
            calls = None
            if b.tool_call:
                calls = [{"id": "call_mock", "type": "function",
                          "function": {"name": b.tool_call[0], "arguments": b.tool_call[1]}}]
            if not body.get("stream"):
                message = {"role": "assistant", "content": None if calls else text}
                if calls:
                    message["tool_calls"] = calls
                return self._json(200, {
                    "id": cid, "object": "chat.completion", "created": created, "model": model,
                    "choices": [{"index": 0, "message": message,
                                 "finish_reason": "tool_calls" if calls else "stop"}],
                    "usage": usage,
                })

            def chunk(delta: Dict[str, Any], finish: Optional[str] = None, with_usage: bool = False) -> str:
                c: Dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created,
                                     "model": model,
                                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                if with_usage:
                    c["choices"], c["usage"] = [], usage
                return f"data: {json.dumps(c)}\n\n"

            events = [chunk({"role": "assistant", "content": ""})]
            if calls:
                events.append(chunk({"tool_calls": [{"index": 0, **calls[0]}]}))
            else:
                events += [chunk({"content": w}) for w in _words(text)]
            events.append(chunk({}, "tool_calls" if calls else "stop"))
            if (body.get("stream_options") or {}).get("include_usage"):
                events.append(chunk({}, None, with_usage=True))
            events.append("data: [DONE]\n\n")
            self._sse(events, b.event_delay)

        def _openai_embed(self, path: str, headers: Dict[str, str], body: Any) -> None:
            model = body.get("model", "")
            key = headers.get("authorization", "").removeprefix("Bearer ")
            b = self._common("openai", path, headers, body, model, OPENAI_EMBED_FIELDS, key)
            if b is None:
                return
            inputs = body.get("input")
            inputs = inputs if isinstance(inputs, list) else [inputs]
            data = [{"object": "embedding", "index": i, "embedding": [0.1 * (i + 1), 0.2, 0.3]}
                    for i in range(len(inputs))]
            self._json(200, {"object": "list", "data": data, "model": model,
                             "usage": {"prompt_tokens": 4 * len(inputs), "total_tokens": 4 * len(inputs)}})

        # Anthropic.
        def _anthropic(self, path: str, headers: Dict[str, str], body: Any) -> None:
            model = body.get("model", "")
            if "anthropic-version" not in headers:
                return self._error("anthropic", 400, "anthropic-version header is required", None)
            b = self._common("anthropic", path, headers, body, model, ANTHROPIC_FIELDS, headers.get("x-api-key"))
            if b is None:
                return
            text = b.text if b.text is not None else f"Hello from {model}"
            mid = "msg_mock"
            block = ({"type": "tool_use", "id": "toolu_mock", "name": b.tool_call[0],
                      "input": json.loads(b.tool_call[1])} if b.tool_call else {"type": "text", "text": text})
            stop = "tool_use" if b.tool_call else "end_turn"
            if not body.get("stream"):
                return self._json(200, {
                    "id": mid, "type": "message", "role": "assistant", "model": model,
                    "content": [block], "stop_reason": stop, "stop_sequence": None,
                    "usage": {"input_tokens": b.prompt_tokens, "output_tokens": b.completion_tokens},
                })

            def event(name: str, data: Dict[str, Any]) -> str:
                return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

            events = [event("message_start", {"message": {
                "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": b.prompt_tokens, "output_tokens": 1}}})]
            if b.tool_call:
                events.append(event("content_block_start", {"index": 0, "content_block": {
                    "type": "tool_use", "id": "toolu_mock", "name": b.tool_call[0], "input": {}}}))
                events.append(event("content_block_delta", {"index": 0, "delta": {
                    "type": "input_json_delta", "partial_json": b.tool_call[1]}}))
            else:
                events.append(event("content_block_start", {"index": 0,
                                                            "content_block": {"type": "text", "text": ""}}))
                events.append(event("ping", {}))
                events += [event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": w}})
                           for w in _words(text)]
            events.append(event("content_block_stop", {"index": 0}))
            events.append(event("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                                                  "usage": {"output_tokens": b.completion_tokens}}))
            events.append(event("message_stop", {}))
            self._sse(events, b.event_delay)

        # Gemini.
        def _gemini(self, path: str, query: str, headers: Dict[str, str], body: Any) -> None:
            model = path.rsplit("/models/", 1)[-1].split(":", 1)[0]
            b = self._common("gemini", path, headers, body, model, GEMINI_FIELDS, headers.get("x-goog-api-key"))
            if b is None:
                return
            text = b.text if b.text is not None else f"Hello from {model}"
            part = ({"functionCall": {"name": b.tool_call[0], "args": json.loads(b.tool_call[1])}}
                    if b.tool_call else {"text": text})
            usage = {"promptTokenCount": b.prompt_tokens, "candidatesTokenCount": b.completion_tokens,
                     "totalTokenCount": b.prompt_tokens + b.completion_tokens}
            if ":generateContent" in path:
                return self._json(200, {
                    "candidates": [{"content": {"parts": [part], "role": "model"},
                                    "finishReason": "STOP", "index": 0}],
                    "usageMetadata": usage, "modelVersion": model, "responseId": "resp-mock",
                })
            pieces = [{"functionCall": part["functionCall"]}] if b.tool_call else [{"text": w} for w in _words(text)]
            events = []
            for i, p in enumerate(pieces):
                cand: Dict[str, Any] = {"content": {"parts": [p], "role": "model"}, "index": 0}
                if i == len(pieces) - 1:
                    cand["finishReason"] = "STOP"
                events.append("data: " + json.dumps({"candidates": [cand], "usageMetadata": usage,
                                                      "modelVersion": model}) + "\r\n\r\n")
            self._sse(events, b.event_delay)

        def _gemini_embed(self, path: str, headers: Dict[str, str], body: Any) -> None:
            model = path.rsplit("/models/", 1)[-1].split(":", 1)[0]
            b = self._common("gemini", path, headers, body, model, GEMINI_EMBED_FIELDS,
                             headers.get("x-goog-api-key"))
            if b is None:
                return
            n = len(body.get("requests") or [])
            self._json(200, {"embeddings": [{"values": [0.5, 0.25, float(i)]} for i in range(n)]})

    return Handler


def _words(text: str) -> List[str]:
    """The text in pieces that join back to it (one per word)."""
    parts = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(parts)]


if __name__ == "__main__":
    m = MockUpstream().start()
    print(m.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        m.stop()
