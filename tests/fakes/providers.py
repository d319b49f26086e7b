"""Fake upstream providers: one real HTTP/1.1 server speaking the OpenAI, Anthropic and Gemini wire formats.

Routes (any path prefix is allowed, so each provider can get its own, e.g. `/mistral/v1/chat/completions`):
  POST .../chat/completions, .../embeddings                       OpenAI format (Bearer key)
  POST .../v1/messages                                            Anthropic Messages (x-api-key, anthropic-version)
  POST .../v1beta/models/{m}:generateContent | :streamGenerateContent?alt=sse | :batchEmbedContents
                                                                  Gemini (x-goog-api-key)
  GET /__requests (recorded requests)   GET /__stats (counters)   POST /__reset

Replies are deterministic: the answer is "Echo: <last user text>" (switches removed), streamed word by word.
Switches in the last user message (or in any embedding input) change the behaviour:
  [[status:N]]  answer HTTP N with the provider's error JSON      [[flaky:N]]  503 for the first N identical requests
  [[slow:S]]    wait S seconds before each stream chunk            [[hang]]     never answer
  [[cut]]       drop the connection mid-stream                     [[nousage]]  report no usage
  [[long:N]]    answer with N chunks                               [[reason]]   add reasoning output
  [[cached:N]]  report N cached prompt tokens

In-process: `with FakeProviders() as fake: fake.url ...` (a thread; also `async with`).
Standalone: `python -m tests.fakes.providers --port 8099` serves until SIGTERM/SIGINT.
Recorded requests include headers (API keys too): this is a test double, never point real clients at it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import select
import signal
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CREATED = 1_700_000_000
EMBEDDING_DIM = 8
_SWITCH = re.compile(r"\[\[(\w+)(?::([^\]]*))?\]\]")
_GEMINI_PATH = re.compile(r"/v1beta/models/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$")

# ---------------------------------------------------------------------------------------------- behaviour


@dataclass
class Switches:
    status: int | None = None
    flaky: int = 0
    slow: float = 0.0
    hang: bool = False
    cut: bool = False
    nousage: bool = False
    long: int | None = None
    reason: bool = False
    cached: int = 0


def parse_switches(text: str) -> Switches:
    sw = Switches()
    for name, arg in _SWITCH.findall(text):
        if name == "status":
            sw.status = int(arg)
        elif name == "flaky":
            sw.flaky = int(arg or 1)
        elif name == "slow":
            sw.slow = float(arg or 0.1)
        elif name == "long":
            sw.long = int(arg)
        elif name == "cached":
            sw.cached = int(arg)
        elif name in ("hang", "cut", "nousage", "reason"):
            setattr(sw, name, True)
    return sw


def clean(text: str) -> str:
    """The text without its switches."""
    return " ".join(_SWITCH.sub(" ", text).split())


def answer_pieces(prompt: str, sw: Switches) -> list[str]:
    """The answer as stream chunks: "Echo: <prompt>" by words, or N numbered words with [[long:N]]."""
    if sw.long is not None:
        return [f"w{i} " for i in range(sw.long)]
    return re.findall(r"\S+\s*", f"Echo: {clean(prompt)}".strip())


def reasoning_pieces(prompt: str, sw: Switches) -> list[str]:
    return re.findall(r"\S+\s*", f"Thinking about: {clean(prompt)}".strip()) if sw.reason else []


def answer_text(prompt: str, sw: Switches | None = None) -> str:
    """What the fake answers to `prompt` (for assertions)."""
    return "".join(answer_pieces(prompt, sw or parse_switches(prompt)))


def reasoning_text(prompt: str) -> str:
    return "".join(reasoning_pieces(prompt, Switches(reason=True)))


def count_tokens(texts: list[str]) -> int:
    """The fake's "tokenizer": whitespace-separated words, at least 1."""
    return max(1, sum(len(t.split()) for t in texts))


def fake_vector(text: str, dim: int = EMBEDDING_DIM) -> list[float]:
    """A deterministic embedding: bytes of sha256(text) scaled to [-1, 1]."""
    digest = hashlib.sha256(text.encode()).digest()
    return [round(b / 127.5 - 1.0, 6) for b in digest[:dim]]


@dataclass
class Reply:
    """A chat reply, independent of the wire format."""

    model: str
    pieces: list[str]
    reasoning: list[str]
    finish: str  # "stop" | "length"
    prompt_tokens: int
    cached: int
    usage: bool

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def completion_tokens(self) -> int:
        return len(self.pieces) + len(self.reasoning)


def make_reply(model: str, last_user: str, all_texts: list[str], sw: Switches, max_tokens: Any) -> Reply:
    pieces, finish = answer_pieces(last_user, sw), "stop"
    if isinstance(max_tokens, int) and 0 < max_tokens < len(pieces):
        pieces, finish = pieces[:max_tokens], "length"
    prompt = count_tokens(all_texts)
    return Reply(model, pieces, reasoning_pieces(last_user, sw), finish, prompt, min(sw.cached, prompt), not sw.nousage)


def _text(content: Any) -> str:
    """Text of an OpenAI / Anthropic content value (string or list of parts/blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------- wire formats


class OpenAIFormat:
    name = "openai"
    _error_types = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error"}
    _error_codes = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}

    @staticmethod
    def authorized(headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        return auth.startswith("Bearer ") and bool(auth[7:].strip())

    def error(self, status: int, message: str) -> dict:
        kind = self._error_types.get(status, "rate_limit_error" if status == 429 else "server_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": self._error_codes.get(status)}}

    @staticmethod
    def validate(body: dict, headers: dict[str, str]) -> str | None:
        if not body.get("model"):
            return "you must provide a model parameter"
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return "'messages' must be a non-empty array"
        return None

    @staticmethod
    def prompt(body: dict) -> tuple[str, list[str]]:
        messages = body.get("messages") or []
        texts = [_text(m.get("content")) for m in messages]
        users = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
        return (users[-1] if users else ""), texts

    @staticmethod
    def max_tokens(body: dict) -> Any:
        return body.get("max_completion_tokens", body.get("max_tokens"))

    @staticmethod
    def usage(r: Reply) -> dict:
        return {
            "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens,
            "total_tokens": r.prompt_tokens + r.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": r.cached},
            "completion_tokens_details": {"reasoning_tokens": len(r.reasoning)},
        }

    def response(self, r: Reply) -> dict:
        message: dict[str, Any] = {"role": "assistant", "content": r.text}
        if r.reasoning:
            message["reasoning_content"] = "".join(r.reasoning)
        data = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": CREATED,
            "model": r.model,
            "choices": [{"index": 0, "message": message, "finish_reason": r.finish}],
        }
        if r.usage:
            data["usage"] = self.usage(r)
        return data

    def frames(self, r: Reply, body: dict) -> list[bytes]:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and r.usage

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            data: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": r.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if include_usage:
                data["usage"] = None
            return f"data: {_dumps(data)}\n\n".encode()

        frames = [chunk({"role": "assistant", "content": ""})]
        frames += [chunk({"content": None, "reasoning_content": p}) for p in r.reasoning]
        frames += [chunk({"content": p}) for p in r.pieces]
        frames.append(chunk({}, r.finish))
        if include_usage:
            usage_chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": r.model,
                "choices": [],
                "usage": self.usage(r),
            }
            frames.append(f"data: {_dumps(usage_chunk)}\n\n".encode())
        frames.append(b"data: [DONE]\n\n")
        return frames

    @staticmethod
    def embeddings(body: dict) -> tuple[list[str], dict | str]:
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        if not body.get("model") or not texts or not all(isinstance(t, str) for t in texts):
            return texts, "'model' and a non-empty 'input' of strings are required"
        data = [{"object": "embedding", "index": i, "embedding": fake_vector(t)} for i, t in enumerate(texts)]
        data.reverse()  # real APIs promise `index`, not order: clients must sort
        tokens = count_tokens(texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return texts, {"object": "list", "data": data, "model": body["model"], "usage": usage}


class AnthropicFormat:
    name = "anthropic"
    _error_types = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        529: "overloaded_error",
    }
    _stop = {"stop": "end_turn", "length": "max_tokens"}

    @staticmethod
    def authorized(headers: dict[str, str]) -> bool:
        return bool(headers.get("x-api-key", "").strip())

    def error(self, status: int, message: str) -> dict:
        return {"type": "error", "error": {"type": self._error_types.get(status, "api_error"), "message": message}}

    @staticmethod
    def validate(body: dict, headers: dict[str, str]) -> str | None:
        if not headers.get("anthropic-version"):
            return "anthropic-version: header is required"
        if not isinstance(body.get("max_tokens"), int):
            return "max_tokens: Field required"
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return "messages: at least one message is required"
        if any(m.get("role") not in ("user", "assistant") for m in body["messages"]):
            return "messages: roles must be 'user' or 'assistant' (use the top-level system parameter)"
        return None

    @staticmethod
    def prompt(body: dict) -> tuple[str, list[str]]:
        messages = body.get("messages") or []
        texts = [_text(m.get("content")) for m in messages]
        if body.get("system"):
            texts.append(_text(body["system"]))
        users = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
        return (users[-1] if users else ""), texts

    @staticmethod
    def max_tokens(body: dict) -> Any:
        return body.get("max_tokens")

    @staticmethod
    def usage(r: Reply, output_tokens: int | None = None) -> dict:
        return {
            "input_tokens": r.prompt_tokens - r.cached,  # Anthropic counts cache reads apart
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": r.cached,
            "output_tokens": r.completion_tokens if output_tokens is None else output_tokens,
        }

    def response(self, r: Reply) -> dict:
        content = []
        if r.reasoning:
            content.append({"type": "thinking", "thinking": "".join(r.reasoning), "signature": "fake-signature"})
        content.append({"type": "text", "text": r.text})
        data = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": r.model,
            "content": content,
            "stop_reason": self._stop[r.finish],
            "stop_sequence": None,
        }
        if r.usage:
            data["usage"] = self.usage(r)
        return data

    def frames(self, r: Reply, body: dict) -> list[bytes]:
        def event(name: str, data: dict) -> bytes:
            return f"event: {name}\ndata: {_dumps({'type': name, **data})}\n\n".encode()

        message = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": r.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
        }
        if r.usage:
            message["usage"] = self.usage(r, output_tokens=1)
        frames = [event("message_start", {"message": message})]
        index = 0
        if r.reasoning:
            frames.append(
                event("content_block_start", {"index": 0, "content_block": {"type": "thinking", "thinking": ""}})
            )
            frames += [
                event("content_block_delta", {"index": 0, "delta": {"type": "thinking_delta", "thinking": p}})
                for p in r.reasoning
            ]
            sig = {"index": 0, "delta": {"type": "signature_delta", "signature": "fake-signature"}}
            frames += [event("content_block_delta", sig), event("content_block_stop", {"index": 0})]
            index = 1
        frames.append(event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}}))
        frames.append(event("ping", {}))
        frames += [
            event("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": p}}) for p in r.pieces
        ]
        frames.append(event("content_block_stop", {"index": index}))
        delta: dict[str, Any] = {"delta": {"stop_reason": self._stop[r.finish], "stop_sequence": None}}
        if r.usage:
            delta["usage"] = {"output_tokens": r.completion_tokens}
        frames += [event("message_delta", delta), event("message_stop", {})]
        return frames


class GeminiFormat:
    name = "google"
    _statuses = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }
    _finish = {"stop": "STOP", "length": "MAX_TOKENS"}

    @staticmethod
    def authorized(headers: dict[str, str]) -> bool:
        return bool(headers.get("x-goog-api-key", "").strip())

    def error(self, status: int, message: str) -> dict:
        return {"error": {"code": status, "message": message, "status": self._statuses.get(status, "UNKNOWN")}}

    @staticmethod
    def validate(body: dict, headers: dict[str, str]) -> str | None:
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return "* GenerateContentRequest.contents: contents is not specified"
        if any(c.get("role") not in ("user", "model") for c in contents):
            return "Please use a valid role: user, model."
        return None

    @staticmethod
    def _part_texts(content: dict | None) -> str:
        return "".join(p.get("text", "") for p in (content or {}).get("parts") or [])

    def prompt(self, body: dict) -> tuple[str, list[str]]:
        contents = body.get("contents") or []
        texts = [self._part_texts(c) for c in contents]
        if body.get("systemInstruction"):
            texts.append(self._part_texts(body["systemInstruction"]))
        users = [self._part_texts(c) for c in contents if c.get("role") == "user"]
        return (users[-1] if users else ""), texts

    @staticmethod
    def max_tokens(body: dict) -> Any:
        return (body.get("generationConfig") or {}).get("maxOutputTokens")

    @staticmethod
    def usage(r: Reply) -> dict:
        usage = {
            "promptTokenCount": r.prompt_tokens,
            "candidatesTokenCount": len(r.pieces),
            "totalTokenCount": r.prompt_tokens + r.completion_tokens,
        }
        if r.cached:
            usage["cachedContentTokenCount"] = r.cached
        if r.reasoning:
            usage["thoughtsTokenCount"] = len(r.reasoning)
        return usage

    def _frame(self, r: Reply, parts: list[dict], final: bool) -> dict:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if final:
            candidate["finishReason"] = self._finish[r.finish]
        data: dict[str, Any] = {"candidates": [candidate], "modelVersion": r.model}
        if r.usage:  # every frame carries usage; only the last one's is complete
            data["usageMetadata"] = self.usage(r) if final else {"promptTokenCount": r.prompt_tokens}
        return data

    def response(self, r: Reply) -> dict:
        parts = [{"text": "".join(r.reasoning), "thought": True}] if r.reasoning else []
        return self._frame(r, [*parts, {"text": r.text}], final=True)

    def frames(self, r: Reply, body: dict) -> list[bytes]:
        parts = [{"text": p, "thought": True} for p in r.reasoning] + [{"text": p} for p in r.pieces]
        parts = parts or [{"text": ""}]
        return [
            f"data: {_dumps(self._frame(r, [part], final=i == len(parts) - 1))}\r\n\r\n".encode()
            for i, part in enumerate(parts)
        ]

    @staticmethod
    def embeddings(model: str, body: dict) -> tuple[list[str], dict | str]:
        requests = body.get("requests") or []
        texts = [GeminiFormat._part_texts(r.get("content")) for r in requests]
        if not requests:
            return texts, "* BatchEmbedContentsRequest.requests: requests is not specified"
        if any(r.get("model") != f"models/{model}" for r in requests):
            return texts, f"Model names of each request must match the batch model models/{model}"
        return texts, {"embeddings": [{"values": fake_vector(t)} for t in texts]}


FORMATS = {"openai": OpenAIFormat(), "anthropic": AnthropicFormat(), "google": GeminiFormat()}


# ---------------------------------------------------------------------------------------------- server


class FakeState:
    """Everything the fake remembers, shared by its handler threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.flaky: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)
            self.counters["requests"] += 1

    def bump(self, name: str) -> None:
        with self.lock:
            self.counters[name] += 1

    def flaky_attempt(self, key: str) -> int:
        with self.lock:
            self.flaky[key] += 1
            return self.flaky[key]

    def stats(self) -> dict[str, int]:
        with self.lock:
            names = ("requests", "streams_started", "streams_completed", "streams_aborted", "streams_cut")
            return {name: self.counters[name] for name in names}

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.flaky.clear()
            self.counters.clear()


class _ClientGone(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeProviders/1.0"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay per small write

    def log_message(self, format: str, *args: Any) -> None:  # quiet unless --verbose
        if self.server.verbose:
            super().log_message(format, *args)

    # -- plumbing

    def _send_json(self, status: int, obj: Any) -> None:
        payload = _dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _peer_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _pause(self, seconds: float) -> None:
        """Sleeps, but raises _ClientGone as soon as the client hangs up (or the server stops)."""
        deadline = time.monotonic() + seconds
        while True:
            if self._peer_closed() or self.server.state.stopping.is_set():
                raise _ClientGone
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.02))

    def _write_chunk(self, data: bytes) -> None:
        if self._peer_closed():
            raise _ClientGone
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    # -- routes

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/__requests":
            self._send_json(200, self.server.state.snapshot())
        elif path == "/__stats":
            self._send_json(200, self.server.state.stats())
        elif path == "/health":
            self._send_json(200, {"status": "ok"})
        else:
            self._send_json(404, {"error": {"message": f"no route GET {path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if path == "/__reset":
            self.server.state.reset()
            self._send_json(200, {"ok": True})
            return
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        fmt, kind, model = self._route(path, body)
        first = path.strip("/").split("/", 1)[0]
        self.server.state.record(
            {
                "method": "POST",
                "path": self.path,
                "format": fmt.name if fmt else None,
                "provider": first if first not in ("v1", "v1beta") else None,
                "headers": headers,
                "body": body,
                "time": time.time(),
            }
        )
        if fmt is None:
            self._send_json(404, {"error": {"message": f"no route POST {path}"}})
            return
        if not isinstance(body, dict):
            self._send_json(400, fmt.error(400, "the request body is not valid JSON"))
            return
        try:
            if kind == "embed":
                self._embed(fmt, model, body, headers)
            else:
                self._chat(fmt, model, body, headers, stream=kind == "stream")
        except _ClientGone:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _route(self, path: str, body: Any) -> tuple[Any, str, str]:
        if m := _GEMINI_PATH.search(path):
            kinds = {"generateContent": "chat", "streamGenerateContent": "stream", "batchEmbedContents": "embed"}
            return FORMATS["google"], kinds[m.group(2)], m.group(1)
        model = body.get("model", "") if isinstance(body, dict) else ""
        stream = "stream" if isinstance(body, dict) and body.get("stream") else "chat"
        if path.endswith("/chat/completions"):
            return FORMATS["openai"], stream, model
        if path.endswith("/embeddings"):
            return FORMATS["openai"], "embed", model
        if path.endswith("/v1/messages"):
            return FORMATS["anthropic"], stream, model
        return None, "", ""

    def _gate(self, fmt: Any, sw: Switches, flaky_key: str) -> bool:
        """Auth, hang, status and flaky switches; True when the request was answered (or abandoned) here."""
        if sw.hang:
            while True:
                self._pause(1.0)  # until the client gives up or the server stops
        if sw.status:
            self._send_json(sw.status, fmt.error(sw.status, f"fake provider error {sw.status}"))
            return True
        if sw.flaky and self.server.state.flaky_attempt(flaky_key) <= sw.flaky:
            self._send_json(503, fmt.error(503, "fake provider temporarily unavailable (flaky)"))
            return True
        return False

    def _authorized(self, fmt: Any, headers: dict[str, str]) -> bool:
        if not fmt.authorized(headers):
            self._send_json(401, fmt.error(401, "missing or empty API key"))
            return False
        return True

    def _chat(self, fmt: Any, model: str, body: dict, headers: dict[str, str], *, stream: bool) -> None:
        if not self._authorized(fmt, headers):
            return
        if problem := fmt.validate(body, headers):
            self._send_json(400, fmt.error(400, problem))
            return
        last_user, texts = fmt.prompt(body)
        sw = parse_switches(last_user)
        if self._gate(fmt, sw, f"{fmt.name}:{model}:{last_user}"):
            return
        reply = make_reply(model, last_user, texts, sw, fmt.max_tokens(body))
        if not stream:
            if sw.slow:
                self._pause(sw.slow)
            self._send_json(200, fmt.response(reply))
            return
        self._stream(fmt.frames(reply, body), sw)

    def _stream(self, frames: list[bytes], sw: Switches) -> None:
        state = self.server.state
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        state.bump("streams_started")
        cut_at = min(len(frames) - 1, max(1, len(frames) // 2)) if sw.cut else None
        try:
            for i, frame in enumerate(frames):
                if i == cut_at:
                    state.bump("streams_cut")
                    self.close_connection = True  # no terminating chunk: the body is incomplete
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if sw.slow:
                    self._pause(sw.slow)
                self._write_chunk(frame)
            self.wfile.write(b"0\r\n\r\n")
        except (_ClientGone, BrokenPipeError, ConnectionResetError):
            state.bump("streams_aborted")
            self.close_connection = True
            return
        state.bump("streams_completed")

    def _embed(self, fmt: Any, model: str, body: dict, headers: dict[str, str]) -> None:
        if not self._authorized(fmt, headers):
            return
        texts, result = fmt.embeddings(model, body) if fmt.name == "google" else fmt.embeddings(body)
        sw = parse_switches(" ".join(texts))
        if self._gate(fmt, sw, f"{fmt.name}:embed:{model}:{texts}"):
            return
        if isinstance(result, str):
            self._send_json(400, fmt.error(400, result))
            return
        self._send_json(200, result)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: FakeState, verbose: bool = False):
        super().__init__(address, _Handler)
        self.state = state
        self.verbose = verbose


class FakeProviders:
    """The fake providers running in a background thread of this process.

    `with FakeProviders() as fake:` (or `async with`) starts it on a free port of 127.0.0.1.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False):
        self.state = FakeState()
        self._host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self._server = _Server((host, port), self.state, verbose)
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeProviders:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-providers", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self.state.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeProviders:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def base_url(self, wire_format: str, prefix: str = "") -> str:
        """A provider base URL as the registry expects it (OpenAI format: with /v1; others: host only)."""
        root = f"{self.url}/{prefix}" if prefix else self.url
        return f"{root}/v1" if wire_format == "openai" else root

    def env(self, key: str = "fake-key") -> dict[str, str]:
        """`<ID>_BASE_URL` / `<ID>_API_KEY` for every registered provider, each under its own path prefix
        (so recorded requests say which provider was called: see the `provider` field)."""
        from server.providers.registry import PROVIDERS

        env = {}
        for pid, spec in PROVIDERS.items():
            env[f"{pid.upper()}_BASE_URL"] = self.base_url(spec.wire_format, pid)
            env[f"{pid.upper()}_API_KEY"] = f"{key}-{pid}"
        return env

    # -- inspection

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.state.snapshot()

    @property
    def request_count(self) -> int:
        return self.state.stats()["requests"]

    def stats(self) -> dict[str, int]:
        return self.state.stats()

    def reset(self) -> None:
        self.state.reset()

    def wait_for_stat(self, name: str, at_least: int, timeout: float = 5.0) -> bool:
        """Polls (blocking) until stats()[name] >= at_least; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stats()[name] >= at_least:
                return True
            time.sleep(0.01)
        return self.stats()[name] >= at_least

    async def await_stat(self, name: str, at_least: int, within: float = 5.0) -> bool:
        """Like wait_for_stat, without blocking the event loop."""
        import asyncio

        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.stats()[name] >= at_least:
                return True
            await asyncio.sleep(0.01)
        return self.stats()[name] >= at_least


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI / Anthropic / Gemini providers on one port.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    parser.add_argument("--verbose", action="store_true", help="log every request line")
    args = parser.parse_args(argv)
    fake = FakeProviders(args.host, args.port, verbose=args.verbose)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"fake providers listening on {fake.url}", flush=True)
    try:
        fake._server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        fake.state.stopping.set()
        fake._server.server_close()


if __name__ == "__main__":
    main()
