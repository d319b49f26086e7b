"""Fake upstream providers: one real HTTP/1.1 server speaking the OpenAI, Anthropic and Gemini wire formats.

Routes (any path prefix is allowed, so each provider can get its own, e.g. `/mistral/v1/chat/completions`):
  POST .../chat/completions, .../embeddings                       OpenAI format (Bearer key)
  POST .../v1/messages                                            Anthropic Messages (x-api-key, anthropic-version)
  POST .../responses                                              OpenAI Responses API (Bearer key)
  POST .../v1beta/models/{m}:generateContent | :streamGenerateContent?alt=sse | :batchEmbedContents
                                                                  Gemini (x-goog-api-key)
  Media (see MEDIA below): POST .../images/generations, .../audio/speech, .../audio/transcriptions,
  .../audio/translations (multipart), POST .../videos + GET .../videos/{id}[/content] + DELETE (Sora);
  Gemini :generateContent with IMAGE output, :predict (Imagen), :predictLongRunning + GET
  /v1beta/models/{m}/operations/{id} + POST ...:cancel + GET /v1beta/files/{id}:download (Veo)
  List models (catalog drift check): GET .../models (OpenAI), .../v1/models (Anthropic, paged),
  .../v1beta/models (Gemini, paged): the ids of LISTED_MODELS
  GET /__requests (recorded requests)   GET /__stats (counters)   POST /__reset

Replies are deterministic: the answer is "Echo: <last user text>" (switches removed), streamed word by word.
Switches in the last user message (or in any embedding input) change the behaviour:
  [[status:N]]  answer HTTP N with the provider's error JSON      [[flaky:N]]  503 for the first N identical requests
  [[slow:S]]    wait S seconds before each stream chunk            [[hang]]     never answer
  [[cut]]       drop the connection mid-stream                     [[nousage]]  report no usage
  [[long:N]]    answer with N chunks                               [[reason]]   add reasoning output
  [[cached:N]]  report N cached prompt tokens          [[badshape]] a 200 answer of the wrong shape
  [[stall:S]]   wait S seconds after the first chunk
  Any text switch written [[name:arg@model]] (e.g. [[status:503@gpt-4o-mini]]) applies only to that model.
Agentic chat (every wire format, validated the way the real API validates it): when the request offers tools
and its last turn is the user's, the fake calls a tool (the forced one, else the first) with arguments
{"query": <text>}; [[calls:N]] makes N parallel calls (tools taken in turn). When the last turn holds tool
results, it answers "Echo: <results>". JSON output (json_schema / json_object) answers a JSON instance of the
schema; image and PDF parts add " [images:N]" / " [pdfs:N]" to the answer. GET /files/pixel.png and
/files/doc.pdf serve an image and a PDF (for gateway fetches).
Media switches go in the image / video prompt, the speech input or the transcription `prompt` field:
  [[status:N]], [[flaky:N]], [[hang]] as above;  [[blocked]] a Gemini image answer without image;
  videos: [[slow:N]] the job completes on the Nth poll (default 2), [[fail]] the provider reports failure.

In-process: `with FakeProviders() as fake: fake.url ...` (a thread; also `async with`).
Standalone: `python -m tests.fakes.providers --port 8099` serves until SIGTERM/SIGINT.
Recorded requests include headers (API keys too): this is a test double, never point real clients at it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import select
import signal
import socket
import sys
import threading
import time
import uuid
import wave
from collections import Counter
from dataclasses import dataclass, field
from email import policy as email_policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CREATED = 1_700_000_000
EMBEDDING_DIM = 8
_SWITCH = re.compile(r"\[\[(\w+)(?::([^\]@]*))?(?:@([^\]]*))?\]\]")  # [[name:arg@model]]
_GEMINI_PATH = re.compile(r"/v1beta/models/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$")

# ---------------------------------------------------------------------------------------------- behaviour


@dataclass
class Switches:
    status: int | None = None
    flaky: int = 0
    slow: float = 0.0
    stall: float = 0.0
    retryafter: int = 0
    hang: bool = False
    cut: bool = False
    nousage: bool = False
    long: int | None = None
    reason: bool = False
    cached: int = 0
    fail: bool = False
    blocked: bool = False
    calls: int = 1
    badshape: bool = False


def parse_switches(text: str, model: str | None = None) -> Switches:
    """The switches of `text`; one written `[[name:arg@m]]` applies only to requests for model `m`."""
    sw = Switches()
    for name, arg, only in _SWITCH.findall(text):
        if only and only != model:
            continue
        if name == "status":
            sw.status = int(arg)
        elif name == "flaky":
            sw.flaky = int(arg or 1)
        elif name == "slow":
            sw.slow = float(arg or 0.1)
        elif name == "stall":
            sw.stall = float(arg or 1)
        elif name == "retryafter":
            sw.retryafter = int(arg or 1)
        elif name == "long":
            sw.long = int(arg)
        elif name == "cached":
            sw.cached = int(arg)
        elif name == "calls":
            sw.calls = int(arg)
        elif name in ("hang", "cut", "nousage", "reason", "fail", "blocked", "badshape"):
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
class FakeCall:
    """One tool call of a fake answer; `chunks` are its JSON arguments as streamed."""

    id: str
    name: str
    args: dict

    @property
    def arguments(self) -> str:
        return _dumps(self.args)

    @property
    def chunks(self) -> list[str]:
        text = self.arguments
        third = max(1, len(text) // 3)
        return [text[:third], text[third : 2 * third], text[2 * third :]]


@dataclass
class Reply:
    """A chat reply, independent of the wire format."""

    model: str
    pieces: list[str]
    reasoning: list[str]
    finish: str  # "stop" | "length" | "tool_calls"
    prompt_tokens: int
    cached: int
    usage: bool
    calls: list[FakeCall] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def completion_tokens(self) -> int:
        return len(self.pieces) + len(self.reasoning) + sum(len(c.chunks) for c in self.calls)


@dataclass
class Agent:
    """What a chat request asks beyond text, read from any wire format: tools offered, the tool mode
    ("auto", "none", "any" or a forced tool name), tool results in the last turn, JSON output, media."""

    tools: dict[str, Any] = field(default_factory=dict)  # name -> JSON Schema of the arguments
    mode: str = "auto"
    results: list[str] | None = None  # the tool results of the last turn, when it is tool results
    schema: dict | None = None  # JSON output asked: the schema ({} for any JSON object)
    images: int = 0
    pdfs: int = 0


def schema_instance(schema: Any, text: str) -> Any:
    """A small JSON value valid for `schema` (the fake's structured answer)."""
    if not isinstance(schema, dict):
        return text
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: schema_instance(v, text) for k, v in props.items()} or {"answer": text}
    if kind == "array":
        return [schema_instance(schema.get("items") or {}, text)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    return text


def make_agent_reply(reply: Reply, agent: Agent, last_user: str, sw: Switches, provider_ids: Any) -> Reply:
    """`reply` changed by what the request asks: tool calls, an answer to tool results, JSON, media notes."""
    text = clean(last_user)
    if agent.results is not None:
        reply.pieces = answer_pieces(" ".join(agent.results), Switches())
    elif agent.tools and agent.mode != "none":
        names = [agent.mode] if agent.mode not in ("auto", "any") else list(agent.tools)
        n = 1 if agent.mode not in ("auto", "any") else max(1, sw.calls)
        reply.calls = []
        for i in range(n):
            name = names[i % len(names)]
            schema = agent.tools.get(name) or {}
            args = schema_instance(schema, text) if schema.get("properties") else {"query": text, "n": i}
            reply.calls.append(FakeCall(provider_ids(i), name, args))
        reply.pieces, reply.finish = [], "tool_calls"
        return reply
    if agent.schema is not None:
        value = schema_instance(agent.schema or {"type": "object"}, text)
        dumped = _dumps(value)
        reply.pieces = [dumped[i : i + 8] for i in range(0, len(dumped), 8)]
        return reply
    notes = (f" [images:{agent.images}]" if agent.images else "") + (f" [pdfs:{agent.pdfs}]" if agent.pdfs else "")
    if notes and reply.pieces:
        reply.pieces = [*reply.pieces, notes]
    return reply


def _b64_ok(data: Any) -> bool:
    if not isinstance(data, str) or not data:
        return False
    try:
        base64.b64decode(data, validate=True)
    except ValueError:
        return False
    return True


def _data_url_ok(url: str, prefixes: tuple[str, ...]) -> bool:
    if not url.startswith("data:") or ";base64," not in url:
        return url.startswith(("https://", "http://"))
    head, data = url[5:].split(";base64,", 1)
    return head.startswith(prefixes) and _b64_ok(data)


GEMINI_SIGNATURE = base64.b64encode(b"fake thought signature \xff\xfe").decode()  # has '+', '/' or '='
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_MISTRAL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
IMAGE_MEDIA = ("image/jpeg", "image/png", "image/gif", "image/webp")
# a 1x1 PNG and a one-page PDF, served under /files/ for the gateway to fetch
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
ONE_PAGE_PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


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
    def validate(body: dict, headers: dict[str, str], provider: str | None = None) -> str | None:
        if not body.get("model"):
            return "you must provide a model parameter"
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return "'messages' must be a non-empty array"
        mistral = provider == "mistral"
        if mistral and "seed" in body:
            return "seed: Extra inputs are not permitted (extra_forbidden)"
        for i, tool in enumerate(body.get("tools") or []):
            fn = tool.get("function") if isinstance(tool, dict) else None
            if tool.get("type") != "function" or not isinstance(fn, dict):
                return f"Invalid value for 'tools[{i}]': expected a function tool"
            if not _TOOL_NAME.match(str(fn.get("name", ""))):
                return f"Invalid 'tools[{i}].function.name': string does not match pattern"
        if (fmt := body.get("response_format")) is not None:
            if fmt.get("type") == "json_schema" and not isinstance((fmt.get("json_schema") or {}).get("schema"), dict):
                return "Missing required parameter: 'response_format.json_schema.schema'"
        called: set[str] = set()
        for i, m in enumerate(body["messages"]):
            for call in m.get("tool_calls") or []:
                fn = call.get("function") or {}
                if call.get("type") != "function" or not call.get("id") or not isinstance(fn.get("arguments"), str):
                    return f"Invalid 'messages[{i}].tool_calls': id, type 'function' and string arguments required"
                if mistral and not _MISTRAL_ID.match(call["id"]):
                    return "Tool call id has to be a string of 9 characters, a-z, A-Z, 0-9"
                called.add(call["id"])
            if m.get("role") == "tool" and m.get("tool_call_id") not in called:
                return (
                    f"Invalid parameter: messages[{i}] with role 'tool' must be a response to a preceding 'tool_calls'"
                )
            for part in m.get("content") if isinstance(m.get("content"), list) else []:
                kind = part.get("type")
                if kind == "image_url":
                    url = (part.get("image_url") or {}).get("url", "")
                    if not _data_url_ok(url, ("image/",)):
                        return f"Invalid image_url in messages[{i}]"
                elif kind == "file" and not mistral:
                    if not _data_url_ok((part.get("file") or {}).get("file_data", ""), ("application/pdf",)):
                        return f"Invalid file_data in messages[{i}]: a base64 PDF data URL is required"
                elif kind == "document_url" and mistral:
                    pass
                elif kind != "text":
                    return f"Invalid content part type '{kind}' in messages[{i}]"
        return None

    @staticmethod
    def prompt(body: dict) -> tuple[str, list[str]]:
        messages = body.get("messages") or []
        texts = [_text(m.get("content")) for m in messages]
        texts += [c["function"]["arguments"] for m in messages for c in m.get("tool_calls") or []]
        texts += [_dumps(t) for t in body.get("tools") or []]
        users = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
        return (users[-1] if users else ""), texts

    @staticmethod
    def agent(body: dict) -> Agent:
        messages = body.get("messages") or []
        tools = {t["function"]["name"]: t["function"].get("parameters") for t in body.get("tools") or []}
        choice = body.get("tool_choice") or "auto"
        mode = choice["function"]["name"] if isinstance(choice, dict) else {"required": "any"}.get(choice, choice)
        results = None
        if messages and messages[-1].get("role") == "tool":
            tail = []
            for m in reversed(messages):
                if m.get("role") != "tool":
                    break
                tail.insert(0, _text(m.get("content")))
            results = tail
        fmt = body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None
        if fmt.get("type") == "json_object":
            schema = {}
        parts = [p for m in messages if isinstance(m.get("content"), list) for p in m["content"]]
        return Agent(
            tools=tools,
            mode=mode,
            results=results,
            schema=schema,
            images=sum(p.get("type") == "image_url" for p in parts),
            pdfs=sum(p.get("type") in ("file", "document_url") for p in parts),
        )

    @staticmethod
    def call_id(provider: str | None) -> Any:
        if provider == "mistral":
            return lambda i: f"mc{i:07d}"
        return lambda i: f"call_fake{i}"

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
        message: dict[str, Any] = {"role": "assistant", "content": r.text if not r.calls else None}
        if r.reasoning:
            message["reasoning_content"] = "".join(r.reasoning)
        if r.calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in r.calls
            ]
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
        for i, c in enumerate(r.calls):  # the first delta of a call names it, later ones add arguments
            first = {"index": i, "id": c.id, "type": "function", "function": {"name": c.name, "arguments": ""}}
            frames.append(chunk({"tool_calls": [first]}))
            frames += [chunk({"tool_calls": [{"index": i, "function": {"arguments": a}}]}) for a in c.chunks]
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
    _stop = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}

    @staticmethod
    def authorized(headers: dict[str, str]) -> bool:
        return bool(headers.get("x-api-key", "").strip())

    def error(self, status: int, message: str) -> dict:
        return {"type": "error", "error": {"type": self._error_types.get(status, "api_error"), "message": message}}

    _TOP_LEVEL = frozenset(
        {
            "model", "messages", "max_tokens", "system", "stop_sequences", "temperature", "top_p", "top_k",
            "tools", "tool_choice", "thinking", "output_config", "stream", "metadata", "service_tier",
        }
    )  # fmt: skip
    _BLOCKS = frozenset({"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"})

    @classmethod
    def validate(cls, body: dict, headers: dict[str, str], provider: str | None = None) -> str | None:
        if not headers.get("anthropic-version"):
            return "anthropic-version: header is required"
        if not isinstance(body.get("max_tokens"), int):
            return "max_tokens: Field required"
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return "messages: at least one message is required"
        if any(m.get("role") not in ("user", "assistant") for m in body["messages"]):
            return "messages: roles must be 'user' or 'assistant' (use the top-level system parameter)"
        if extra := sorted(set(body) - cls._TOP_LEVEL):
            return f"{extra[0]}: Extra inputs are not permitted"
        names = set()
        for i, tool in enumerate(body.get("tools") or []):
            if "function" in tool or tool.get("type") == "function":
                return f"tools.{i}.custom.input_schema: Field required"
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                return f"tools.{i}.custom.input_schema: Input should be an object schema"
            if not _TOOL_NAME.match(str(tool.get("name", ""))):
                return f"tools.{i}.custom.name: String should match pattern"
            names.add(tool["name"])
        if (choice := body.get("tool_choice")) is not None:
            if choice.get("type") not in ("auto", "any", "tool", "none"):
                return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
            if choice["type"] == "tool" and choice.get("name") not in names:
                return "tool_choice.name: Tool not found"
        if (thinking := body.get("thinking")) is not None and thinking.get("type") == "enabled":
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or budget < 1024 or budget >= body["max_tokens"]:
                return "thinking.budget_tokens: must be >= 1024 and less than max_tokens"
            if (choice or {}).get("type") in ("any", "tool"):
                return "Thinking may not be enabled when tool_choice forces tool use."
        fmt = (body.get("output_config") or {}).get("format")
        if fmt is not None and (fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict)):
            return "output_config.format: a json_schema format with a schema is required"
        pending: list[str] = []  # tool_use ids the next user turn must answer first
        for i, m in enumerate(body["messages"]):
            if set(m) - {"role", "content"}:
                return f"messages.{i}: Extra inputs are not permitted"
            content = m.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            if not isinstance(blocks, list) or not blocks:
                return f"messages.{i}.content: at least one content block is required"
            results = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
            if pending:
                leading = [b.get("tool_use_id") for b in blocks[: len(pending)] if b.get("type") == "tool_result"]
                if m["role"] != "user" or sorted(leading) != sorted(pending):
                    return (
                        f"messages.{i}: tool_use ids were found without tool_result blocks immediately after: "
                        + ", ".join(pending)
                    )
            elif results:
                return f"messages.{i}.content: unexpected tool_use_id found in tool_result blocks"
            pending = []
            for j, b in enumerate(blocks):
                kind = b.get("type")
                if kind not in cls._BLOCKS:
                    return f"messages.{i}.content.{j}: Input tag '{kind}' does not match any of the expected tags"
                if kind == "text" and not b.get("text"):
                    return f"messages.{i}.content.{j}.text: text content blocks must be non-empty"
                if kind in ("image", "document"):
                    src = b.get("source") or {}
                    media = IMAGE_MEDIA if kind == "image" else ("application/pdf",)
                    if src.get("type") == "base64":
                        if src.get("media_type") not in media or not _b64_ok(src.get("data")):
                            return f"messages.{i}.content.{j}.source: invalid base64 {kind}"
                    elif src.get("type") != "url" or not str(src.get("url", "")).startswith(("https://", "http://")):
                        return f"messages.{i}.content.{j}.source: Input tag does not match 'base64' or 'url'"
                if kind == "tool_use":
                    if m["role"] != "assistant" or not isinstance(b.get("input"), dict) or not b.get("id"):
                        return f"messages.{i}.content.{j}: tool_use needs an id and an object input"
                    pending.append(b["id"])
        return None

    @staticmethod
    def prompt(body: dict) -> tuple[str, list[str]]:
        messages = body.get("messages") or []
        texts = [_text(m.get("content")) for m in messages]
        texts += [
            _dumps(b.get("input"))
            for m in messages
            if isinstance(m.get("content"), list)
            for b in m["content"]
            if b.get("type") == "tool_use"
        ]
        texts += [_dumps(t) for t in body.get("tools") or []]
        if body.get("system"):
            texts.append(_text(body["system"]))
        users = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
        return (users[-1] if users else ""), texts

    @staticmethod
    def agent(body: dict) -> Agent:
        messages = body.get("messages") or []
        tools = {t["name"]: t.get("input_schema") for t in body.get("tools") or []}
        choice = body.get("tool_choice") or {"type": "auto"}
        mode = choice.get("name") if choice["type"] == "tool" else choice["type"]
        last = messages[-1].get("content") if messages else None
        blocks = last if isinstance(last, list) else []
        results = [_text(b.get("content")) for b in blocks if b.get("type") == "tool_result"] or None
        fmt = (body.get("output_config") or {}).get("format")
        parts = [b for m in messages if isinstance(m.get("content"), list) for b in m["content"]]
        return Agent(
            tools=tools,
            mode=mode,
            results=results,
            schema=fmt.get("schema") if fmt else None,
            images=sum(b.get("type") == "image" for b in parts),
            pdfs=sum(b.get("type") == "document" for b in parts),
        )

    @staticmethod
    def call_id(provider: str | None) -> Any:
        return lambda i: f"toolu_fake{i}"

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
        if r.text or not r.calls:
            content.append({"type": "text", "text": r.text})
        content += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.args} for c in r.calls]
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
        if r.pieces or not r.calls:
            start = {"index": index, "content_block": {"type": "text", "text": ""}}
            frames += [event("content_block_start", start), event("ping", {})]
            frames += [
                event("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": p}})
                for p in r.pieces
            ]
            frames.append(event("content_block_stop", {"index": index}))
            index += 1
        for c in r.calls:
            block = {"type": "tool_use", "id": c.id, "name": c.name, "input": {}}
            frames.append(event("content_block_start", {"index": index, "content_block": block}))
            frames += [
                event("content_block_delta", {"index": index, "delta": {"type": "input_json_delta", "partial_json": a}})
                for a in c.chunks
            ]
            frames.append(event("content_block_stop", {"index": index}))
            index += 1
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
    _finish = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}

    @staticmethod
    def authorized(headers: dict[str, str]) -> bool:
        return bool(headers.get("x-goog-api-key", "").strip())

    def error(self, status: int, message: str) -> dict:
        return {"error": {"code": status, "message": message, "status": self._statuses.get(status, "UNKNOWN")}}

    _PART_DATA = ("text", "inlineData", "fileData", "functionCall", "functionResponse")

    @classmethod
    def validate(
        cls, body: dict, headers: dict[str, str], provider: str | None = None, provider_model: str | None = None
    ) -> str | None:
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return "* GenerateContentRequest.contents: contents is not specified"
        if any(c.get("role") not in ("user", "model") for c in contents):
            return "Please use a valid role: user, model."
        if extra := sorted(
            set(body)
            - {
                "contents",
                "systemInstruction",
                "tools",
                "toolConfig",
                "generationConfig",
                "safetySettings",
                "cachedContent",
            }
        ):
            return f'Invalid JSON payload received. Unknown name "{extra[0]}": Cannot find field.'
        declared = set()
        for i, tool in enumerate(body.get("tools") or []):
            if set(tool) - {"functionDeclarations", "googleSearch", "codeExecution", "urlContext"}:
                return f"Invalid JSON payload received. Unknown name \"{sorted(tool)[0]}\" at 'tools[{i}]'"
            for j, fn in enumerate(tool.get("functionDeclarations") or []):
                if set(fn) - {"name", "description", "parameters", "parametersJsonSchema", "response", "behavior"}:
                    return f"Invalid JSON payload received. Unknown name at 'tools[{i}].function_declarations[{j}]'"
                if "parameters" in fn and "parametersJsonSchema" in fn:
                    return "parameters and parametersJsonSchema are mutually exclusive"
                if not _TOOL_NAME.match(str(fn.get("name", ""))):
                    return f"* GenerateContentRequest.tools[{i}].function_declarations[{j}].name: Invalid function name"
                declared.add(fn["name"])
        mode = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode", "AUTO")
        if mode not in ("AUTO", "ANY", "NONE", "VALIDATED"):
            return f"Invalid value at 'tool_config.function_calling_config.mode', \"{mode}\""
        config = body.get("generationConfig") or {}
        thinking = config.get("thinkingConfig") or {}
        if "thinkingLevel" in thinking and "thinkingBudget" in thinking:
            return "thinking_budget and thinking_level are mutually exclusive"
        if "responseJsonSchema" in config and config.get("responseMimeType") != "application/json":
            return "responseJsonSchema requires responseMimeType application/json"
        called: list[str] = []
        gemini3 = (provider_model or "").startswith("gemini-3")
        for i, content in enumerate(contents):
            calls = [p for p in content.get("parts") or [] if "functionCall" in p]
            if gemini3 and calls and calls[0].get("thoughtSignature") != GEMINI_SIGNATURE:
                return f"Function call is missing a thought_signature in functionCall parts (contents[{i}])"
            parts = content.get("parts")
            if not isinstance(parts, list) or not parts:
                return f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty"
            for j, part in enumerate(parts):
                where = f"contents[{i}].parts[{j}]"
                if sum(k in part for k in cls._PART_DATA) != 1:
                    return f"* GenerateContentRequest.{where}.data: oneof field 'data' must have one initialized field"
                if "inlineData" in part:
                    data = part["inlineData"]
                    if not str(data.get("mimeType", "")).startswith(("image/", "application/pdf")) or not _b64_ok(
                        data.get("data")
                    ):
                        return f"* GenerateContentRequest.{where}.inline_data: invalid mime type or base64 data"
                if "functionCall" in part:
                    call = part["functionCall"]
                    if content["role"] != "model" or not call.get("name") or not isinstance(call.get("args", {}), dict):
                        return f"* GenerateContentRequest.{where}.function_call: a model turn with a name and args"
                    called.append(call["name"])
                if "functionResponse" in part:
                    response = part["functionResponse"]
                    if not response.get("name"):
                        return f"* GenerateContentRequest.{where}.function_response.name: Name cannot be empty."
                    if response["name"] not in called:
                        return f"* GenerateContentRequest.{where}.function_response: no call named '{response['name']}'"
                    if not isinstance(response.get("response"), dict):
                        return f"* GenerateContentRequest.{where}.function_response.response: must be an object"
        return None

    @staticmethod
    def _part_texts(content: dict | None) -> str:
        return "".join(p.get("text", "") for p in (content or {}).get("parts") or [])

    def prompt(self, body: dict) -> tuple[str, list[str]]:
        contents = body.get("contents") or []
        texts = [self._part_texts(c) for c in contents]
        texts += [_dumps(p["functionCall"]) for c in contents for p in c.get("parts") or [] if "functionCall" in p]
        texts += [_dumps(t) for t in body.get("tools") or []]
        if body.get("systemInstruction"):
            texts.append(self._part_texts(body["systemInstruction"]))
        users = [self._part_texts(c) for c in contents if c.get("role") == "user"]
        return (users[-1] if users else ""), texts

    @staticmethod
    def agent(body: dict) -> Agent:
        contents = body.get("contents") or []
        tools = {
            fn["name"]: fn.get("parametersJsonSchema") or fn.get("parameters")
            for t in body.get("tools") or []
            for fn in t.get("functionDeclarations") or []
        }
        config = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
        mode = config.get("mode", "AUTO").lower()
        if mode == "any" and len(config.get("allowedFunctionNames") or []) == 1:
            mode = config["allowedFunctionNames"][0]
        last = contents[-1].get("parts") if contents else []
        results = [
            str((p["functionResponse"].get("response") or {}).get("output", ""))
            for p in last or []
            if "functionResponse" in p
        ] or None
        gen = body.get("generationConfig") or {}
        schema = None
        if gen.get("responseMimeType") == "application/json":
            schema = gen.get("responseJsonSchema") or gen.get("responseSchema") or {}
        parts = [p for c in contents for p in c.get("parts") or []]
        mimes = [p["inlineData"].get("mimeType", "") for p in parts if "inlineData" in p]
        return Agent(
            tools=tools,
            mode=mode,
            results=results,
            schema=schema,
            images=sum(m.startswith("image/") for m in mimes),
            pdfs=sum(m == "application/pdf" for m in mimes),
        )

    @staticmethod
    def call_id(provider: str | None) -> Any:
        return lambda i: ""  # the Developer API sends function calls without ids

    @staticmethod
    def max_tokens(body: dict) -> Any:
        return (body.get("generationConfig") or {}).get("maxOutputTokens")

    @staticmethod
    def usage(r: Reply) -> dict:
        usage = {
            "promptTokenCount": r.prompt_tokens,
            "candidatesTokenCount": len(r.pieces) + sum(len(c.chunks) for c in r.calls),
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

    @staticmethod
    def _call_parts(r: Reply) -> list[dict]:
        return [
            {
                "functionCall": {"name": c.name, "args": c.args},
                **({"thoughtSignature": GEMINI_SIGNATURE} if i == 0 else {}),
            }
            for i, c in enumerate(r.calls)
        ]

    def response(self, r: Reply) -> dict:
        parts = [{"text": "".join(r.reasoning), "thought": True}] if r.reasoning else []
        text = [{"text": r.text}] if r.text or not r.calls else []
        return self._frame(r, [*parts, *text, *self._call_parts(r)], final=True)

    def frames(self, r: Reply, body: dict) -> list[bytes]:
        parts = [{"text": p, "thought": True} for p in r.reasoning] + [{"text": p} for p in r.pieces]
        parts += self._call_parts(r)  # function calls arrive whole
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


class ResponsesFormat(OpenAIFormat):
    """OpenAI's Responses API (POST /v1/responses): `input` items, flat function tools, typed stream events."""

    name = "responses"

    @staticmethod
    def validate(body: dict, headers: dict[str, str], provider: str | None = None) -> str | None:
        if not body.get("model"):
            return "Missing required parameter: 'model'."
        items = body.get("input")
        if not isinstance(items, list) or not items:
            return "Missing required parameter: 'input'."
        for unknown in ("messages", "max_tokens", "max_completion_tokens", "response_format", "stop", "seed"):
            if unknown in body:
                return f"Unsupported parameter: '{unknown}'."
        for i, tool in enumerate(body.get("tools") or []):
            if "function" in tool or not _TOOL_NAME.match(str(tool.get("name", ""))):
                return f"Missing required parameter: 'tools[{i}].name'."
        fmt = (body.get("text") or {}).get("format")
        if fmt and fmt.get("type") == "json_schema" and not isinstance(fmt.get("schema"), dict):
            return "Missing required parameter: 'text.format.schema'."
        called = set()
        for i, item in enumerate(items):
            kind = item.get("type", "message")
            if kind == "function_call":
                if not item.get("call_id") or not isinstance(item.get("arguments"), str):
                    return f"Missing required parameter: 'input[{i}].call_id'."
                called.add(item["call_id"])
            elif kind == "function_call_output":
                if item.get("call_id") not in called:
                    return f"No tool call found for function call output with call_id {item.get('call_id')}."
            elif kind == "message":
                for part in item.get("content") if isinstance(item.get("content"), list) else []:
                    if part.get("type") not in ("input_text", "input_image", "input_file", "output_text"):
                        return f"Invalid value: '{part.get('type')}'. Supported: input_text, input_image, input_file."
            else:
                return f"Invalid value: '{kind}' at input[{i}]."
        return None

    @staticmethod
    def _content_text(content: Any) -> str:
        if isinstance(content, str):
            return content
        return "\n".join(p.get("text", "") for p in content or [] if p.get("type") in ("input_text", "output_text"))

    def prompt(self, body: dict) -> tuple[str, list[str]]:
        items = body.get("input") or []
        texts = [self._content_text(i.get("content")) for i in items if i.get("type", "message") == "message"]
        texts += [i["arguments"] for i in items if i.get("type") == "function_call"]
        texts += [_dumps(t) for t in body.get("tools") or []]
        users = [self._content_text(i.get("content")) for i in items if i.get("role") == "user"]
        return (users[-1] if users else ""), texts

    @staticmethod
    def max_tokens(body: dict) -> Any:
        return body.get("max_output_tokens")

    @staticmethod
    def agent(body: dict) -> Agent:
        items = body.get("input") or []
        tools = {t["name"]: t.get("parameters") for t in body.get("tools") or []}
        choice = body.get("tool_choice") or "auto"
        mode = choice["name"] if isinstance(choice, dict) else {"required": "any"}.get(choice, choice)
        tail = []
        for item in reversed(items):
            if item.get("type") != "function_call_output":
                break
            tail.insert(0, str(item.get("output")))
        fmt = (body.get("text") or {}).get("format") or {}
        schema = (
            fmt.get("schema")
            if fmt.get("type") == "json_schema"
            else ({} if fmt.get("type") == "json_object" else None)
        )
        parts = [p for i in items if isinstance(i.get("content"), list) for p in i["content"]]
        return Agent(
            tools=tools,
            mode=mode,
            results=tail or None,
            schema=schema,
            images=sum(p.get("type") == "input_image" for p in parts),
            pdfs=sum(p.get("type") == "input_file" for p in parts),
        )

    @staticmethod
    def call_id(provider: str | None) -> Any:
        return lambda i: f"call_resp{i}"

    @staticmethod
    def usage(r: Reply) -> dict:
        return {
            "input_tokens": r.prompt_tokens,
            "input_tokens_details": {"cached_tokens": r.cached},
            "output_tokens": r.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": len(r.reasoning)},
            "total_tokens": r.prompt_tokens + r.completion_tokens,
        }

    def _output(self, r: Reply) -> list[dict]:
        out: list[dict] = []
        if r.reasoning:
            out.append(
                {
                    "type": "reasoning",
                    "id": "rs_fake",
                    "summary": [{"type": "summary_text", "text": "".join(r.reasoning)}],
                }
            )
        if r.pieces or not r.calls:
            content = [{"type": "output_text", "text": r.text, "annotations": []}]
            out.append(
                {"type": "message", "id": "msg_fake", "role": "assistant", "status": "completed", "content": content}
            )
        out += [
            {
                "type": "function_call",
                "id": f"fc_{c.id}",
                "call_id": c.id,
                "name": c.name,
                "arguments": c.arguments,
                "status": "completed",
            }
            for c in r.calls
        ]
        return out

    def _response(self, r: Reply, status: str) -> dict:
        data = {"id": "resp_fake", "object": "response", "created_at": CREATED, "model": r.model, "status": status}
        data["output"] = self._output(r) if status != "in_progress" else []
        if r.finish == "length":
            data["status"], data["incomplete_details"] = "incomplete", {"reason": "max_output_tokens"}
        if r.usage and status != "in_progress":
            data["usage"] = self.usage(r)
        return data

    def response(self, r: Reply) -> dict:
        return self._response(r, "completed")

    def frames(self, r: Reply, body: dict) -> list[bytes]:
        def event(kind: str, data: dict) -> bytes:
            return f"event: {kind}\ndata: {_dumps({'type': kind, **data})}\n\n".encode()

        frames = [event("response.created", {"response": self._response(r, "in_progress")})]
        index = 0
        if r.reasoning:
            frames += [
                event("response.reasoning_summary_text.delta", {"output_index": 0, "item_id": "rs_fake", "delta": p})
                for p in r.reasoning
            ]
            index += 1
        if r.pieces or not r.calls:
            frames += [
                event(
                    "response.output_text.delta",
                    {"output_index": index, "item_id": "msg_fake", "content_index": 0, "delta": p},
                )
                for p in r.pieces
            ]
            index += 1
        for c in r.calls:
            item = {
                "type": "function_call",
                "id": f"fc_{c.id}",
                "call_id": c.id,
                "name": c.name,
                "arguments": "",
                "status": "in_progress",
            }
            frames.append(event("response.output_item.added", {"output_index": index, "item": item}))
            frames += [
                event(
                    "response.function_call_arguments.delta", {"output_index": index, "item_id": item["id"], "delta": a}
                )
                for a in c.chunks
            ]
            frames.append(
                event(
                    "response.function_call_arguments.done",
                    {"output_index": index, "item_id": item["id"], "arguments": c.arguments},
                )
            )
            index += 1
        final = self._response(r, "completed")
        frames.append(event(f"response.{final['status']}", {"response": final}))
        return frames


FORMATS = {
    "openai": OpenAIFormat(),
    "anthropic": AnthropicFormat(),
    "google": GeminiFormat(),
    "responses": ResponsesFormat(),
}


# ---------------------------------------------------------------------------------------------- server


class FakeState:
    """Everything the fake remembers, shared by its handler threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.flaky: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self.videos: dict[str, dict[str, Any]] = {}  # fake video jobs (Sora and Veo) by id

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
            names = (
                "requests",
                "streams_started",
                "streams_completed",
                "streams_aborted",
                "streams_cut",
                "video_polls",
                "video_cancels",
                "video_downloads",
            )
            return {name: self.counters[name] for name in names}

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.flaky.clear()
            self.counters.clear()
            self.videos.clear()


class _ClientGone(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    _retry_after = ""  # Retry-After of the next 429 ([[retryafter:N]])
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
        if status == 429 and self._retry_after:  # [[retryafter:N]], as the real APIs send it
            self.send_header("Retry-After", self._retry_after)
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
        elif path.endswith("/files/pixel.png"):
            self._send_bytes(200, PIXEL_PNG, "image/png")
        elif path.endswith("/files/doc.pdf"):
            self._send_bytes(200, ONE_PAGE_PDF, "application/pdf")
        elif path.endswith("/files/page.html"):
            self._send_bytes(200, b"<html></html>", "text/html")
        elif not self._media("GET", path, b""):
            self._send_json(404, {"error": {"message": f"no route GET {path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if path == "/__reset":
            self.server.state.reset()
            self._send_json(200, {"ok": True})
            return
        if self._media("POST", path, raw):
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

    def do_DELETE(self) -> None:
        path = urlsplit(self.path).path
        if not self._media("DELETE", path, b""):
            self._send_json(404, {"error": {"message": f"no route DELETE {path}"}})

    def _media(self, method: str, path: str, raw: bytes) -> bool:
        """Answers a media request (True), or leaves it to the text routes (False)."""
        route = MEDIA.match(method, path, raw)
        if route is None:
            return False
        handler, fmt, args = route
        headers = {k.lower(): v for k, v in self.headers.items()}
        first = path.strip("/").split("/", 1)[0]
        body, form = _media_body(raw, headers)
        self.server.state.record(
            {
                "method": method,
                "path": self.path,
                "format": fmt.name,
                "provider": first if first not in ("v1", "v1beta") else None,
                "headers": headers,
                "body": form["summary"] if form else body,
                "time": time.time(),
            }
        )
        try:
            if not args.get("public") and not fmt.authorized(headers):
                self._send_json(401, fmt.error(401, "missing or empty API key"))
            elif body is None and form is None:
                self._send_json(400, fmt.error(400, "the request body is not valid JSON"))
            else:
                handler(self, fmt, args, body or {}, form)
        except (_ClientGone, BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        return True

    def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
        if path.endswith("/responses"):
            return FORMATS["responses"], stream, model
        return None, "", ""

    def _gate(self, fmt: Any, sw: Switches, flaky_key: str) -> bool:
        """Auth, hang, status and flaky switches; True when the request was answered (or abandoned) here."""
        if sw.hang:
            while True:
                self._pause(1.0)  # until the client gives up or the server stops
        if sw.status:
            self._retry_after = str(sw.retryafter) if sw.retryafter else ""
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
        provider = self._provider()
        extra = {"provider_model": model} if fmt.name == "google" else {}
        if problem := fmt.validate(body, headers, provider, **extra):
            status = 422 if provider == "mistral" and "extra_forbidden" in problem else 400
            self._send_json(status, fmt.error(status, problem))
            return
        last_user, texts = fmt.prompt(body)
        sw = parse_switches(last_user, model)
        if self._gate(fmt, sw, f"{fmt.name}:{model}:{last_user}"):
            return
        reply = make_reply(model, last_user, texts, sw, fmt.max_tokens(body))
        reply = make_agent_reply(reply, fmt.agent(body), last_user, sw, fmt.call_id(provider))
        if sw.badshape:  # a 200 whose body is not what the format promises
            bad = {"google": {"usageMetadata": {"promptTokenCount": 3}}, "anthropic": {"content": "x"}}
            self._send_json(200, bad.get(fmt.name, {"choices": ["not an object"], "usage": {"prompt_tokens": 3}}))
            return
        if not stream:
            if sw.slow:
                self._pause(sw.slow)
            self._send_json(200, fmt.response(reply))
            return
        self._stream(fmt.frames(reply, body), sw)

    def _provider(self) -> str | None:
        first = urlsplit(self.path).path.strip("/").split("/", 1)[0]
        return first if first not in ("v1", "v1beta") else None

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
                if sw.stall and i == 2:  # after the first content chunk(s)
                    self._pause(sw.stall)
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


# ---------------------------------------------------------------------------------------------- media

_GEMINI_MEDIA = re.compile(r"/v1beta/models/([^/:]+):(predict|predictLongRunning|generateContent)$")
_VEO_OPERATION = re.compile(r"/v1beta/(models/[^/:]+/operations/[^/:]+?)(:cancel)?$")
_VEO_FILE = re.compile(r"/v1beta/files/([^/:]+):download$")
_SIGNED_FILE = re.compile(r"/signed/([^/]+)$")
_SORA_JOB = re.compile(r"/videos/([^/]+?)(/content)?$")
_TRANSCRIBE = re.compile(r"/audio/(transcriptions|translations)$")
SPEECH_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
VIDEO_BYTES_PER_SECOND = 1000  # the fake's "video" is this many bytes per second, plus a header
DEFAULT_VIDEO_POLLS = 2


def fake_image_bytes(prompt: str, i: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + hashlib.sha256(f"{prompt}#{i}".encode()).digest()


def fake_image_b64(prompt: str, i: int) -> str:
    return base64.b64encode(fake_image_bytes(prompt, i)).decode()


def fake_audio(text: str, fmt: str) -> bytes:
    """Deterministic "audio": a format tag, then 50 bytes per input character."""
    return f"FAKE-{fmt.upper()}:".encode() + hashlib.sha256(text.encode()).digest() * (1 + len(text) * 50 // 32)


def fake_video_size(seconds: int) -> int:
    return 64 + seconds * VIDEO_BYTES_PER_SECOND


def fake_mp4(seconds: int) -> bytes:
    return b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (fake_video_size(seconds) - 12)


def audio_duration(data: bytes) -> float:
    """Seconds of a WAV upload (exact), else its size at 16 kB/s (what the fake "hears")."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            with wave.open(io.BytesIO(data)) as w:
                return w.getnframes() / w.getframerate()
        except (wave.Error, EOFError):
            pass
    return len(data) / 16_000


def _media_body(raw: bytes, headers: dict[str, str]) -> tuple[Any, dict | None]:
    """(JSON body or None when invalid, multipart form or None). Multipart is read with the standard
    library's email parser: deliberately not the gateway's own parser, so the two check each other."""
    content_type = headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=email_policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
        )
        fields: dict[str, list[str]] = {}
        files: dict[str, tuple[str, str, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[name] = (part.get_filename(), part.get_content_type(), payload)
            else:
                fields.setdefault(name, []).append(payload.decode())
        summary = {
            "fields": fields,
            "files": {
                k: {"filename": f, "content_type": t, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                for k, (f, t, d) in files.items()
            },
        }
        return None, {"fields": fields, "files": files, "summary": summary}
    if not raw:
        return {}, None
    try:
        body = json.loads(raw)
    except ValueError:
        return None, None
    return (body if isinstance(body, dict) else None), None


def _form_value(form: dict, name: str) -> str | None:
    values = form["fields"].get(name)
    return values[-1] if values else None


def _host(handler: Any) -> str:
    return f"http://{handler.headers.get('Host') or '127.0.0.1'}"


# -- OpenAI format


def _openai_images(h: Any, fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    prompt, model, n = body.get("prompt"), body.get("model"), body.get("n", 1)
    if not prompt or not model:
        h._send_json(400, fmt.error(400, "'prompt' and 'model' are required"))
        return
    sw = parse_switches(prompt)
    if h._gate(fmt, sw, f"images:{model}:{prompt}"):
        return
    if not isinstance(n, int) or not 1 <= n <= 10 or (model == "dall-e-3" and n != 1):
        h._send_json(400, fmt.error(400, f"Invalid 'n' for {model}"))
        return
    gpt_image = model.startswith(("gpt-image", "chatgpt-image"))
    if gpt_image and "response_format" in body:
        h._send_json(400, fmt.error(400, "Unknown parameter: 'response_format'."))
        return
    b64 = gpt_image or body.get("response_format") == "b64_json"
    data = []
    for i in range(n):
        item: dict[str, Any] = (
            {"b64_json": fake_image_b64(prompt, i)} if b64 else {"url": f"{_host(h)}/files/image-{i}.png"}
        )
        if model == "dall-e-3" or model.startswith("grok"):  # these revise the prompt
            item["revised_prompt"] = f"A detailed rendering of: {clean(prompt)}"
        data.append(item)
    answer: dict[str, Any] = {"created": CREATED, "data": data}
    if gpt_image:  # GPT Image reports what it chose for "auto"
        answer["output_format"] = body.get("output_format", "png")
        answer["size"] = body.get("size") if body.get("size", "auto") != "auto" else "1024x1024"
        answer["quality"] = body.get("quality") if body.get("quality", "auto") != "auto" else "medium"
        answer["usage"] = {"input_tokens": count_tokens([prompt]), "output_tokens": 1056 * n}
    h._send_json(200, answer)


def _openai_speech(h: Any, fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    text, model, voice = body.get("input"), body.get("model"), body.get("voice")
    if not text or not model or not voice:
        h._send_json(400, fmt.error(400, "'model', 'input' and 'voice' are required"))
        return
    if h._gate(fmt, parse_switches(text), f"speech:{model}:{text}"):
        return
    audio_format = body.get("response_format", "mp3")
    if audio_format not in SPEECH_TYPES:
        h._send_json(400, fmt.error(400, f"Invalid response_format '{audio_format}'"))
        return
    if body.get("instructions") and model.startswith("tts-1"):
        h._send_json(400, fmt.error(400, "instructions are not supported by this model"))
        return
    h._send_bytes(200, fake_audio(text, audio_format), SPEECH_TYPES[audio_format])


def _srt_time(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def _openai_transcribe(h: Any, fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    if form is None or "file" not in form["files"]:
        h._send_json(400, fmt.error(400, "a multipart body with a 'file' part is required"))
        return
    model = _form_value(form, "model") or ""
    prompt = _form_value(form, "prompt") or ""
    filename, _ctype, data = form["files"]["file"]
    if h._gate(fmt, parse_switches(prompt), f"{args['kind']}:{model}:{prompt}:{len(data)}"):
        return
    response_format = _form_value(form, "response_format") or "json"
    whisper = model.startswith("whisper")
    if not model or (not whisper and response_format not in ("json", "text")):
        h._send_json(400, fmt.error(400, f"response_format '{response_format}' is not compatible with {model}"))
        return
    if args["kind"] == "translations" and not whisper:
        h._send_json(400, fmt.error(400, f"{model} does not support translations"))
        return
    seconds = round(audio_duration(data), 3)
    verb = "Transcript" if args["kind"] == "transcriptions" else "Translation"
    text = f"{verb} of {filename} ({len(data)} bytes)"
    if prompt:
        text += f" [{clean(prompt)}]"
    usage = (
        {"type": "duration", "seconds": max(1, round(seconds))}
        if whisper
        else {"type": "tokens", "input_tokens": int(seconds * 10), "output_tokens": len(text.split())}
    )
    if response_format == "json":
        h._send_json(200, {"text": text, "usage": usage})
    elif response_format == "verbose_json":
        answer: dict[str, Any] = {
            "task": "transcribe" if args["kind"] == "transcriptions" else "translate",
            "language": _form_value(form, "language") or "english",
            "duration": seconds,
            "text": text,
            "segments": [{"id": 0, "start": 0.0, "end": seconds, "text": text}],
            "usage": usage,
        }
        if "word" in form["fields"].get("timestamp_granularities[]", []):
            words = text.split()
            step = seconds / max(1, len(words))
            answer["words"] = [
                {"word": w, "start": round(i * step, 3), "end": round((i + 1) * step, 3)} for i, w in enumerate(words)
            ]
        h._send_json(200, answer)
    elif response_format in ("srt", "vtt"):
        sep = "," if response_format == "srt" else "."
        cue = f"{_srt_time(0, sep)} --> {_srt_time(seconds, sep)}\n{text}\n"
        out = f"1\n{cue}\n" if response_format == "srt" else f"WEBVTT\n\n{cue}"
        h._send_bytes(200, out.encode(), "text/plain; charset=utf-8")
    else:
        h._send_bytes(200, (text + "\n").encode(), "text/plain; charset=utf-8")


def _new_video(h: Any, kind: str, model: str, prompt: str, seconds: int, **more: Any) -> dict[str, Any]:
    sw = parse_switches(prompt)
    job = {
        "id": ("video_" if kind == "sora" else "") + uuid.uuid4().hex[:24],
        "kind": kind,
        "model": model,
        "prompt": prompt,
        "seconds": seconds,
        "needed": max(1, int(sw.slow)) if sw.slow else DEFAULT_VIDEO_POLLS,
        "polls": 0,
        "fail": sw.fail,
        "state": "queued",
        "created_at": int(time.time()),
        **more,
    }
    with h.server.state.lock:
        h.server.state.videos[job["id"]] = job
    return job


def _advance(h: Any, job: dict[str, Any]) -> None:
    """One poll: queued -> in_progress -> completed (or failed) on the job's Nth poll."""
    h.server.state.bump("video_polls")
    with h.server.state.lock:
        if job["state"] in ("queued", "in_progress"):
            job["polls"] += 1
            if job["polls"] >= job["needed"]:
                job["state"] = "failed" if job["fail"] else "completed"
            else:
                job["state"] = "in_progress"


def _sora_object(job: dict[str, Any]) -> dict[str, Any]:
    done = job["state"] in ("completed", "failed")
    progress = 100 if done else int(100 * job["polls"] / job["needed"])
    return {
        "id": job["id"],
        "object": "video",
        "model": job["model"],
        "status": job["state"],
        "progress": progress,
        "created_at": job["created_at"],
        "completed_at": int(time.time()) if done else None,
        "expires_at": None,
        "prompt": job["prompt"],
        "seconds": str(job["seconds"]),
        "size": job["size"],
        "remixed_from_video_id": None,
        "error": {"code": "video_generation_failed", "message": "fake provider failure"}
        if job["state"] == "failed"
        else None,
    }


def _sora_create(h: Any, fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    if form is not None:
        body = {k: v[-1] for k, v in form["fields"].items()}
    prompt, model = body.get("prompt"), body.get("model", "sora-2")
    if not prompt:
        h._send_json(400, fmt.error(400, "'prompt' is required"))
        return
    if h._gate(fmt, parse_switches(prompt), f"videos:{model}:{prompt}"):
        return
    seconds, size = str(body.get("seconds", "4")), body.get("size", "720x1280")
    sizes = ("720x1280", "1280x720") + (("1024x1792", "1792x1024") if model == "sora-2-pro" else ())
    if seconds not in ("4", "8", "12") or size not in sizes:
        h._send_json(400, fmt.error(400, f"Invalid seconds '{seconds}' or size '{size}' for {model}"))
        return
    job = _new_video(h, "sora", model, prompt, int(seconds), size=size)
    h._send_json(200, _sora_object(job))


def _sora_job(h: Any, fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    with h.server.state.lock:
        job = h.server.state.videos.get(args["id"])
    if job is None or job["kind"] != "sora" or job["state"] == "deleted":
        h._send_json(404, fmt.error(404, f"Video with id '{args['id']}' not found."))
        return
    if args["method"] == "DELETE":
        h.server.state.bump("video_cancels")
        with h.server.state.lock:
            job["state"] = "deleted"
        h._send_json(200, {"id": job["id"], "object": "video.deleted", "deleted": True})
    elif args["content"]:
        if job["state"] != "completed":
            h._send_json(400, fmt.error(400, "Video is not ready yet"))
            return
        h.server.state.bump("video_downloads")
        h._send_bytes(200, fake_mp4(job["seconds"]), "video/mp4")
    else:
        _advance(h, job)
        h._send_json(200, _sora_object(job))


# -- Gemini API


def _gemini_prompt(body: dict) -> str:
    contents = body.get("contents") or []
    return GeminiFormat._part_texts(contents[-1]) if contents else ""


def _gemini_image(h: Any, fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    prompt = _gemini_prompt(body)
    if not prompt:
        h._send_json(400, fmt.error(400, "* GenerateContentRequest.contents: contents is not specified"))
        return
    sw = parse_switches(prompt)
    if h._gate(fmt, sw, f"gemini-image:{args['model']}:{prompt}"):
        return
    image_config = (body.get("generationConfig") or {}).get("imageConfig") or {}
    if image_config.get("imageSize", "1K") not in ("512", "1K", "2K", "4K"):
        h._send_json(400, fmt.error(400, "imageConfig.imageSize must be one of 512, 1K, 2K, 4K"))
        return
    if sw.blocked:
        candidate: dict[str, Any] = {"content": {"parts": [], "role": "model"}, "finishReason": "IMAGE_SAFETY"}
    else:
        parts = [{"inlineData": {"mimeType": "image/png", "data": fake_image_b64(prompt, 0)}}]
        candidate = {"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}
    usage = {"promptTokenCount": count_tokens([prompt]), "candidatesTokenCount": 1290, "totalTokenCount": 1300}
    h._send_json(200, {"candidates": [candidate], "usageMetadata": usage, "modelVersion": args["model"]})


def _imagen(h: Any, fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    instances = body.get("instances") or []
    prompt = (instances[0] or {}).get("prompt") if instances else None
    if not prompt:
        h._send_json(400, fmt.error(400, "instances[0].prompt is required"))
        return
    if h._gate(fmt, parse_switches(prompt), f"imagen:{args['model']}:{prompt}"):
        return
    count = (body.get("parameters") or {}).get("sampleCount", 1)
    if not isinstance(count, int) or not 1 <= count <= 4:
        h._send_json(400, fmt.error(400, "sampleCount must be from 1 to 4"))
        return
    mime = ((body.get("parameters") or {}).get("outputOptions") or {}).get("mimeType", "image/png")
    predictions = [{"bytesBase64Encoded": fake_image_b64(prompt, i), "mimeType": mime} for i in range(count)]
    h._send_json(200, {"predictions": predictions})


def _veo_create(h: Any, fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    instances = body.get("instances") or []
    prompt = (instances[0] or {}).get("prompt") if instances else None
    if not prompt:
        h._send_json(400, fmt.error(400, "instances[0].prompt is required"))
        return
    if h._gate(fmt, parse_switches(prompt), f"veo:{args['model']}:{prompt}"):
        return
    params = body.get("parameters") or {}
    seconds, samples = params.get("durationSeconds", 8), params.get("sampleCount", 1)
    if seconds not in (4, 5, 6, 7, 8) or samples not in (1, 2):
        h._send_json(400, fmt.error(400, "durationSeconds must be 4 to 8 and sampleCount 1 or 2"))
        return
    job = _new_video(h, "veo", args["model"], prompt, seconds, samples=samples, host=_host(h), cancelled=False)
    job["name"] = f"models/{args['model']}/operations/{job['id']}"
    h._send_json(200, {"name": job["name"]})


def _veo_operation(h: Any, fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    op_id = args["name"].rsplit("/", 1)[-1]
    with h.server.state.lock:
        job = h.server.state.videos.get(op_id)
    if job is None or job["kind"] != "veo" or job["name"] != args["name"]:
        h._send_json(404, fmt.error(404, f"Operation {args['name']} not found"))
        return
    if args["cancel"]:
        h.server.state.bump("video_cancels")
        with h.server.state.lock:
            job["cancelled"] = True
        h._send_json(200, {})
        return
    _advance(h, job)
    answer: dict[str, Any] = {"name": job["name"]}
    if job["cancelled"]:
        answer.update(done=True, error={"code": 1, "message": "Operation cancelled"})
    elif job["state"] == "failed":
        answer.update(done=True, error={"code": 13, "message": "fake provider failure"})
    elif job["state"] == "completed":
        samples = [
            {"video": {"uri": f"{job['host']}/v1beta/files/{job['id']}-{i}:download?alt=media"}}
            for i in range(job["samples"])
        ]
        answer.update(
            done=True,
            response={
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                "generateVideoResponse": {"generatedSamples": samples},
            },
        )
    h._send_json(200, answer)


def _veo_file(h: Any, fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    """Like the Gemini API: the download redirects to a signed storage URL (which needs no key)."""
    job_id = args["file"].rsplit("-", 1)[0]
    with h.server.state.lock:
        job = h.server.state.videos.get(job_id)
    if job is None or job["state"] != "completed":
        h._send_json(404, fmt.error(404, f"File {args['file']} not found"))
        return
    h.send_response(302)
    h.send_header("Location", f"/signed/{args['file']}?signature=fake")
    h.send_header("Content-Length", "0")
    h.end_headers()


def _signed_file(h: Any, fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    """The signed URL: it must never receive a provider key (a client that forwards it leaks it)."""
    if any(name in h.headers for name in ("x-goog-api-key", "authorization")):
        h._send_json(400, fmt.error(400, "credentials were sent to the storage host"))
        return
    job_id = args["file"].rsplit("-", 1)[0]
    with h.server.state.lock:
        job = h.server.state.videos.get(job_id)
    if job is None:
        h._send_json(404, fmt.error(404, "no such file"))
        return
    h.server.state.bump("video_downloads")
    h._send_bytes(200, fake_mp4(job["seconds"]), "video/mp4")


# ---------------------------------------------------------------------------------------------- list models
# What each provider's list-models API answers (the catalog drift check): today's real ids plus one the
# catalog cannot know yet, minus one the catalog still has, so a check always finds drift both ways.

LISTED_MODELS: dict[str, list[str]] = {
    "openai": [
        *("gpt-6-astra", "gpt-6.1-sol", "gpt-6-sol", "gpt-6-luna", "gpt-6.2-sol", "gpt-5.6-sol", "gpt-5.6-terra"),
        *("gpt-5.6-luna", "gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "text-embedding-3-small"),
        *("text-embedding-3-large", "gpt-image-2", "tts-1", "tts-1-hd", "gpt-4o-mini-tts", "gpt-4o-transcribe"),
        *("gpt-4o-mini-transcribe", "whisper-1", "omni-moderation-latest", "ft:gpt-4o-mini:acme::x1"),
    ],
    "anthropic": [
        *("claude-sonnet-5-6", "claude-fable-5-2", "claude-fable-5-1", "claude-opus-5-5", "claude-sonnet-5-5"),
        *("claude-haiku-5-5", "claude-fable-5", "claude-opus-5", "claude-sonnet-5", "claude-opus-4-8"),
        *("claude-opus-4-7", "claude-sonnet-4-6", "claude-sonnet-4-5-20250929"),
        *("claude-haiku-4-5-20251001", "claude-opus-4-5-20251101"),
    ],
    "google": [
        *("gemini-3.9-flash-preview", "gemini-3.8-flash", "gemini-3.6-flash", "gemini-3.5-flash"),
        *("gemini-3.5-flash-lite", "gemini-3.1-pro-preview", "gemini-3.1-flash-lite", "gemini-embedding-001"),
        *("gemini-embedding-2", "gemini-3.1-flash-image", "veo-3.1-generate-preview", "veo-3.1-fast-generate-preview"),
    ],
    "mistral": ["mistral-large-4-0", "mistral-large-latest", "mistral-medium-latest", "mistral-small-latest"],
    "deepseek": ["deepseek-flash", "deepseek-v4-pro"],
    "xai": ["grok-4.7", "grok-4.6", "grok-4.5", "grok-4.3", "grok-4.20-0309-reasoning", "grok-imagine-image"],
    "groq": ["openai/gpt-oss-120b", "openai/gpt-oss-20b", "whisper-large-v3", "whisper-large-v3-turbo"],
    "local": ["llama3.2:3b", "qwen3:8b"],
}
LIST_PAGE_CAP = 4  # the fake pages Anthropic and Gemini lists this small, so clients must follow the pages
_ANTHROPIC_LIMITS = {"claude-haiku-5-5": (1_000_000, 128_000), "claude-sonnet-5-6": (1_000_000, 128_000)}


class _AnyKeyFormat:
    """Routing stand-in for GET .../models, which all three formats share: any of their key headers will do
    here; the handler then answers in the format the request was made in."""

    name = "models"

    @staticmethod
    def authorized(headers: dict[str, str]) -> bool:
        return any(FORMATS[f].authorized(headers) for f in FORMATS)

    @staticmethod
    def error(status: int, message: str) -> dict:
        return FORMATS["openai"].error(status, message)


def _list_models(h: Any, _fmt: Any, args: dict, body: dict, form: dict | None) -> None:
    """GET .../models (OpenAI, Bearer), .../v1/models (Anthropic: x-api-key, anthropic-version required;
    limit/after_id), .../v1beta/models (Gemini: x-goog-api-key; pageSize/pageToken)."""
    from urllib.parse import parse_qs

    url = urlsplit(h.path)
    headers = {k.lower(): v for k, v in h.headers.items()}
    if url.path.endswith("/v1beta/models"):
        fmt = FORMATS["google"]
    elif "x-api-key" in headers or "anthropic-version" in headers:
        fmt = FORMATS["anthropic"]
    else:
        fmt = FORMATS["openai"]
    if not fmt.authorized(headers):
        h._send_json(401, fmt.error(401, "missing or empty API key"))
        return
    first = url.path.strip("/").split("/", 1)[0]
    ids = LISTED_MODELS.get(first) or LISTED_MODELS.get(fmt.name, [])
    if fmt.name == "openai":
        data = [{"id": i, "object": "model", "created": CREATED, "owned_by": "fake"} for i in ids]
        h._send_json(200, {"object": "list", "data": data})
        return
    if fmt.name == "anthropic" and not headers.get("anthropic-version"):
        h._send_json(400, fmt.error(400, "anthropic-version: header is required"))
        return
    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
    size_field, cursor_field = ("limit", "after_id") if fmt.name == "anthropic" else ("pageSize", "pageToken")
    try:
        size = min(int(query.get(size_field, 20)), 1000, LIST_PAGE_CAP)
    except ValueError:
        h._send_json(400, fmt.error(400, f"{size_field}: must be an integer"))
        return
    start, cursor = 0, query.get(cursor_field)
    if cursor:
        key = cursor if fmt.name == "anthropic" else base64.urlsafe_b64decode(cursor.encode()).decode()
        if key not in ids:
            h._send_json(400, fmt.error(400, f"{cursor_field}: unknown cursor"))
            return
        start = ids.index(key) + 1
    page, more = ids[start : start + size], start + size < len(ids)
    if fmt.name == "anthropic":
        data = [
            {
                "type": "model",
                "id": i,
                "display_name": i,
                "created_at": "2026-01-01T00:00:00Z",
                "max_input_tokens": _ANTHROPIC_LIMITS.get(i, (200_000, 64_000))[0],
                "max_tokens": _ANTHROPIC_LIMITS.get(i, (200_000, 64_000))[1],
            }
            for i in page
        ]
        first_id, last_id = (page[0], page[-1]) if page else (None, None)
        h._send_json(200, {"data": data, "has_more": more, "first_id": first_id, "last_id": last_id})
        return
    models = []
    for i in page:
        methods = ["embedContent"] if "embedding" in i else ["predictLongRunning"] if i.startswith("veo") else None
        models.append(
            {
                "name": f"models/{i}",
                "displayName": i,
                "inputTokenLimit": 1_048_576,
                "outputTokenLimit": 65_536,
                "supportedGenerationMethods": methods or ["generateContent", "countTokens"],
            }
        )
    answer: dict[str, Any] = {"models": models}
    if more:
        answer["nextPageToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
    h._send_json(200, answer)


def _list_models_route(method: str, path: str) -> tuple[Any, Any, dict] | None:
    return (_list_models, _AnyKeyFormat(), {}) if method == "GET" and path.endswith("/models") else None


class _MediaRoutes:
    """Which media handler answers a request: (handler, wire format, path arguments), or None."""

    def match(self, method: str, path: str, raw: bytes) -> tuple[Any, Any, dict] | None:
        if listing := _list_models_route(method, path):  # GET .../models: list-models (drift check)
            return listing
        openai, google = FORMATS["openai"], FORMATS["google"]
        if method == "POST":
            if path.endswith("/images/generations"):
                return _openai_images, openai, {}
            if path.endswith("/audio/speech"):
                return _openai_speech, openai, {}
            if m := _TRANSCRIBE.search(path):
                return _openai_transcribe, openai, {"kind": m.group(1)}
            if path.endswith("/videos"):
                return _sora_create, openai, {}
            if (m := _VEO_OPERATION.search(path)) and m.group(2):
                return _veo_operation, google, {"name": m.group(1), "cancel": True}
            if m := _GEMINI_MEDIA.search(path):
                model, verb = m.groups()
                if verb == "predict":
                    return _imagen, google, {"model": model}
                if verb == "predictLongRunning":
                    return _veo_create, google, {"model": model}
                if b'"IMAGE"' in raw:  # generateContent asking for image output
                    return _gemini_image, google, {"model": model}
        elif method == "GET":
            if m := _VEO_OPERATION.search(path):
                return _veo_operation, google, {"name": m.group(1), "cancel": False}
            if m := _VEO_FILE.search(path):
                return _veo_file, google, {"file": m.group(1)}
            if m := _SIGNED_FILE.search(path):
                return _signed_file, google, {"file": m.group(1), "public": True}
            if m := _SORA_JOB.search(path):
                return _sora_job, openai, {"id": m.group(1), "content": bool(m.group(2)), "method": "GET"}
        elif method == "DELETE" and (m := _SORA_JOB.search(path)) and not m.group(2):
            return _sora_job, openai, {"id": m.group(1), "content": False, "method": "DELETE"}
        return None


MEDIA = _MediaRoutes()


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
