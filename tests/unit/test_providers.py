"""Provider adapters: pure translation per wire format, then every adapter against the in-process fake servers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from server.errors import BadRequest, NotFound, UpstreamError
from server.providers import anthropic, google, openai_format, registry
from server.providers import http as http_layer
from server.providers.base import ChatParams, Delta, ProviderConfig, StreamEnd, TokenCounts
from server.providers.http import create_client, error_from_exception, error_from_status, provider_message
from tests.fakes.providers import FakeProviders, answer_text, fake_vector, reasoning_text

FORMATS = ["openai", "anthropic", "google"]
ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_fake(request: pytest.FixtureRequest) -> None:
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").reset()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    c = create_client(connect_timeout=1, read_timeout=2, retry_base_wait=0.001, retry_max_wait=0.005, trust_env=False)
    yield c
    await c.aclose()


def cfg_for(fake: FakeProviders, wire_format: str, api_key: str = "operator-key") -> ProviderConfig:
    return ProviderConfig(id=wire_format, wire_format=wire_format, base_url=fake.base_url(wire_format), api_key=api_key)


def params(text: str, **kw) -> ChatParams:
    return ChatParams(
        model="m-1", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}], **kw
    )


async def collect(stream) -> tuple[list[Delta], StreamEnd]:
    items = [item async for item in stream]
    assert isinstance(items[-1], StreamEnd)
    assert all(isinstance(i, Delta) for i in items[:-1]), "exactly one StreamEnd, last"
    return items[:-1], items[-1]


def text_of(deltas: list[Delta], kind: str = "text") -> str:
    return "".join(d.text for d in deltas if d.kind == kind)


# ---------------------------------------------------------------------------------------------- registry


def test_registry_defaults_and_env_overrides():
    assert set(registry.known_providers()) >= {
        "openai",
        "mistral",
        "deepseek",
        "xai",
        "groq",
        "local",
        "anthropic",
        "google",
    }
    cfg = registry.provider_config("groq", env={})
    assert cfg == ProviderConfig("groq", "openai", "https://api.groq.com/openai/v1", None)
    assert registry.provider_config("anthropic", env={}).base_url == "https://api.anthropic.com"
    assert registry.provider_config("google", env={}).wire_format == "google"

    env = {"DEEPSEEK_API_KEY": "sk-1", "DEEPSEEK_BASE_URL": "http://127.0.0.1:9/ds/"}
    cfg = registry.provider_config("deepseek", env=env)
    assert (cfg.base_url, cfg.api_key) == ("http://127.0.0.1:9/ds", "sk-1")
    assert registry.provider_config("openai", env={"OPENAI_API_KEY": ""}).api_key is None


def test_registry_local_needs_a_base_url_and_unknown_ids_are_none():
    assert registry.provider_config("local", env={}) is None
    local = registry.provider_config("local", env={"LOCAL_BASE_URL": "http://localhost:8000/v1"})
    assert local == ProviderConfig("local", "openai", "http://localhost:8000/v1", None)
    assert registry.provider_config("nope", env={}) is None


def test_adapter_for_each_wire_format():
    assert registry.ADAPTERS["openai"].chat is openai_format
    assert registry.ADAPTERS["anthropic"].chat is anthropic
    assert registry.ADAPTERS["google"].chat is google
    for pid in registry.known_providers():
        cfg = registry.provider_config(pid, env={"LOCAL_BASE_URL": "http://localhost:1/v1"})
        chat = registry.capability(cfg, "chat")
        assert all(callable(getattr(chat, f)) for f in ("chat", "stream_chat"))
        assert registry.has_capability(cfg, "embeddings") == (cfg.wire_format != "anthropic")
    unknown = ProviderConfig("smoke", "smoke-signals", "http://x", None)
    with pytest.raises(NotFound, match="'smoke' does not offer chat"):
        registry.capability(unknown, "chat")


# ---------------------------------------------------------------------------------------------- error mapping


def test_provider_message_reads_each_error_format():
    assert provider_message(b'{"error":{"message":"bad model","type":"x"}}') == "bad model"
    assert provider_message(b'{"type":"error","error":{"type":"x","message":"overloaded"}}') == "overloaded"
    assert provider_message(b'[{"error":{"code":400,"message":"gemini says no"}}]') == "gemini says no"
    assert provider_message(b'{"object":"error","message":"mistral says no"}') == "mistral says no"
    assert provider_message(b"<html>oops</html>") == "<html>oops</html>"
    assert provider_message(b"") == ""


@pytest.mark.parametrize(
    ("status", "gateway_status", "retryable"),
    [(429, 429, True), (500, 502, False), (502, 502, True), (503, 503, True), (504, 502, True), (529, 503, True)],
)
def test_error_from_status_upstream_failures(status, gateway_status, retryable):
    err = error_from_status("openai", status, b'{"error":{"message":"boom"}}')
    assert isinstance(err, UpstreamError)
    assert (err.http_status, err.retryable, err.provider) == (gateway_status, retryable, "openai")


def test_error_from_status_rejected_credentials_are_the_gateways_problem():
    for status in (401, 403):
        err = error_from_status("mistral", status, b'{"message":"Unauthorized sk-abc"}')
        assert isinstance(err, UpstreamError) and err.http_status == 502 and not err.retryable
        assert "rejected the gateway's credentials" in err.message
        assert "sk-abc" not in str(err.detail)  # the provider's message may echo the key
    byok = error_from_status("openai", 401, b"{}", byok=True)
    assert "supplied API key" in byok.message
    gemini = error_from_status("google", 400, b'{"error":{"code":400,"message":"API key not valid.","status":"X"}}')
    assert isinstance(gemini, UpstreamError) and gemini.http_status == 502


def test_error_from_status_bad_requests_name_the_provider():
    for status in (400, 422):
        err = error_from_status("anthropic", status, b'{"type":"error","error":{"message":"max_tokens: too big"}}')
        assert type(err) is BadRequest
        assert err.detail == "Provider 'anthropic' rejected the request: max_tokens: too big"
    err = error_from_status("openai", 404, b'{"error":{"message":"The model gpt-9 does not exist"}}')
    assert type(err) is NotFound and err.detail.startswith("Model not found at provider 'openai'")


def test_error_from_exception_transport_failures():
    req = httpx.Request("POST", "http://x")
    assert error_from_exception("p", httpx.ConnectError("refused", request=req)).http_status == 503
    assert error_from_exception("p", httpx.ConnectTimeout("slow", request=req)).retryable
    timeout = error_from_exception("p", httpx.ReadTimeout("slow", request=req))
    assert (timeout.http_status, timeout.retryable) == (504, False)
    assert error_from_exception("p", httpx.RemoteProtocolError("eof", request=req)).http_status == 502


async def _json_call_failure(handler, *, connect_timeout: float = 1, read_timeout: float = 2) -> UpstreamError:
    """post_json against a local server that misbehaves as `handler` does (None: a port nothing answers on
    because its backlog is full), with retries off: the UpstreamError it raises."""
    listener = None
    fillers: list[socket.socket] = []
    if handler is None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(4):  # fill the accept queue: the kernel then drops the next SYN, so connecting times out
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        server = None
    else:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
    c = create_client(connect_timeout=connect_timeout, read_timeout=read_timeout, retries=0, trust_env=False)
    try:
        with pytest.raises(UpstreamError) as caught:
            await http_layer.post_json(c, "p", f"http://127.0.0.1:{port}/v1/chat", {}, {"a": 1})
        return caught.value
    finally:
        await c.aclose()
        if server is not None:
            server.close()
        for sock in [*fillers, *([listener] if listener else [])]:
            sock.close()


async def _answer_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(100)
    await reader.read()  # silent until the client gives up and closes the connection
    writer.close()


async def _close_after_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(100)
    writer.close()


async def _truncate_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(100)
    writer.write(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"a":')
    await writer.drain()
    writer.close()


async def test_the_upstream_client_closes_its_sessions_however_it_is_closed() -> None:
    """`async with create_client()` (httpx's __aexit__ bypasses aclose) and aclose() both close the pyreqwest
    client, so no connection pool outlives its client."""
    for closing in ("with", "aclose"):
        c = create_client(trust_env=False)
        reqwest_client = c.reqwest_client()
        if closing == "with":
            async with c:
                pass
        else:
            await c.aclose()
        assert c._reqwest_client is None and c.reqwest_client() is not reqwest_client, closing
        await c._close_own()


async def test_stream_events_arrive_as_the_provider_sends_them() -> None:
    """The first event reaches the adapter while the provider still holds back the second: nothing waits for a
    read-ahead buffer to fill (pyreqwest's default would deliver the whole stream at its end)."""
    first_read = asyncio.Event()

    async def provider(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for i in range(2):
            data = f'data: {{"i": {i}}}\n\n'.encode()
            writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await writer.drain()
            await first_read.wait()  # the second only once the client has the first
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(provider, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    got = []
    async with create_client(retries=0, trust_env=False) as c:

        async def read_all() -> None:
            async with http_layer.open_sse(c, "p", f"http://127.0.0.1:{port}/v1/chat", {}, {}) as events:
                async for event in events:
                    got.append(json.loads(event.data)["i"])
                    first_read.set()

        await asyncio.wait_for(read_all(), 10)
    server.close()
    assert got == [0, 1]


async def test_json_call_transport_failures_map_like_the_other_clients() -> None:
    """The JSON client (pyreqwest) calls a read timeout and a connection closed before the answer "connect"
    errors; the statuses must still say what happened: nothing reached the provider (503, retryable), it went
    silent (504, not retried), or the connection broke during the answer (502, retryable)."""
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    refused_port = free.getsockname()[1]
    free.close()  # nothing listens there now
    c = create_client(connect_timeout=1, read_timeout=2, retries=0, trust_env=False)
    with pytest.raises(UpstreamError) as refused:
        await http_layer.post_json(c, "p", f"http://127.0.0.1:{refused_port}/v1/chat", {}, {})
    await c.aclose()
    assert (refused.value.http_status, refused.value.retryable) == (503, True)
    assert "could not connect" in refused.value.detail and "refused" in refused.value.detail.lower()

    connect_timeout = await _json_call_failure(None, connect_timeout=0.5)
    assert (connect_timeout.http_status, connect_timeout.retryable) == (503, True)
    assert "could not connect: timed out" in connect_timeout.detail

    silent = await _json_call_failure(_answer_nothing, read_timeout=0.5)
    assert (silent.http_status, silent.retryable) == (504, False)
    assert "timed out waiting for the provider" in silent.detail

    closed = await _json_call_failure(_close_after_request)
    assert (closed.http_status, closed.retryable) == (502, True)
    assert "connection failed" in closed.detail

    truncated = await _json_call_failure(_truncate_body)
    assert (truncated.http_status, truncated.retryable) == (502, True)
    assert "connection failed" in truncated.detail


# ---------------------------------------------------------------------------------------------- pure: OpenAI


def test_openai_chat_body_passes_messages_through():
    parts = [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:..."}}]
    p = ChatParams(
        model="gpt-x",
        messages=[{"role": "user", "content": parts}],
        temperature=0.5,
        max_tokens=20,
        presence_penalty=0.1,
        extra={"seed": 7, "model": "hijack", "stream": True},
    )
    body = openai_format.chat_body(p, stream=False)
    assert body == {
        "model": "gpt-x",
        "messages": [{"role": "user", "content": parts}],
        "temperature": 0.5,
        "max_tokens": 20,
        "presence_penalty": 0.1,
        "seed": 7,
    }
    streamed = openai_format.chat_body(p, stream=True)
    assert streamed["stream"] is True and streamed["stream_options"] == {"include_usage": True}
    assert "stream_options" not in openai_format.chat_body(p, stream=True, stream_usage_option=False)
    p.extra = {"max_completion_tokens": 50}
    assert "max_tokens" not in openai_format.chat_body(p, stream=False)


def test_openai_parse_chat_and_usage():
    data = {
        "choices": [{"index": 0, "message": {"content": "Hi", "reasoning_content": "hmm"}, "finish_reason": "length"}],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2},
        },
    }
    result = openai_format.parse_chat(data)
    assert (result.text, result.reasoning, result.finish_reason) == ("Hi", "hmm", "length")
    assert result.usage == TokenCounts(10, 5, 4, 2)
    deepseek = openai_format.parse_usage({"prompt_tokens": 9, "completion_tokens": 1, "prompt_cache_hit_tokens": 3})
    assert deepseek.cached_tokens == 3
    assert openai_format.parse_chat({"choices": [{"message": {"content": None}}]}).usage is None


def test_openai_parse_chunk():
    deltas, finish, usage = openai_format.parse_chunk(
        {"choices": [{"index": 0, "delta": {"reasoning_content": "r", "content": None}, "finish_reason": None}]}
    )
    assert (deltas, finish, usage) == ([Delta("reasoning", "r")], None, None)
    deltas, finish, _ = openai_format.parse_chunk({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    assert (deltas, finish) == ([], "stop")
    _, _, usage = openai_format.parse_chunk({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}})
    assert usage == TokenCounts(3, 2, 0, 0)


def test_openai_embeddings_are_sorted_by_index():
    data = {"data": [{"index": 1, "embedding": [1.0]}, {"index": 0, "embedding": [0.0]}], "usage": {"prompt_tokens": 4}}
    result = openai_format.parse_embeddings(data)
    assert result.vectors == [[0.0], [1.0]] and result.usage.input_tokens == 4
    body = openai_format.embed_body("e", ["a"], {"dimensions": 4, "encoding_format": "base64"})
    assert body == {"dimensions": 4, "model": "e", "input": ["a"]}


# ---------------------------------------------------------------------------------------------- pure: Anthropic


def test_anthropic_chat_body():
    p = ChatParams(
        model="claude",
        messages=[
            {"role": "system", "content": "S1"},
            {"role": "developer", "content": [{"type": "text", "text": "S2"}]},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": "c"},
        ],
        temperature=0.2,
        frequency_penalty=1.0,
        extra={"top_k": 5},
    )
    body = anthropic.chat_body(p, stream=True)
    assert body == {
        "model": "claude",
        "max_tokens": anthropic.DEFAULT_MAX_TOKENS,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "c"}]},
        ],
        "system": "S1\n\nS2",
        "temperature": 0.2,
        "stream": True,
        "top_k": 5,
    }
    p.max_tokens = 10
    assert anthropic.chat_body(p, stream=False)["max_tokens"] == 10


def test_anthropic_parse_message_and_usage():
    data = {
        "content": [
            {"type": "thinking", "thinking": "t"},
            {"type": "text", "text": "A"},
            {"type": "text", "text": "B"},
        ],
        "stop_reason": "max_tokens",
        "usage": {
            "input_tokens": 6,
            "output_tokens": 3,
            "cache_read_input_tokens": 4,
            "cache_creation_input_tokens": 2,
        },
    }
    result = anthropic.parse_message(data)
    assert (result.text, result.reasoning, result.finish_reason) == ("AB", "t", "length")
    assert result.usage == TokenCounts(input_tokens=12, output_tokens=3, cached_tokens=4, cache_write_tokens=2)
    assert [anthropic.finish_reason(r) for r in ("end_turn", "stop_sequence", "tool_use")] == [
        "stop",
        "stop",
        "tool_calls",
    ]
    assert anthropic.block_delta({"type": "content_block_delta", "delta": {"type": "thinking_delta", "thinking": "x"}})
    assert anthropic.block_delta({"type": "content_block_delta", "delta": {"type": "signature_delta"}}) is None
    err = anthropic.stream_error("anthropic", {"type": "error", "error": {"type": "overloaded_error", "message": "o"}})
    assert err.http_status == 503


# ---------------------------------------------------------------------------------------------- pure: Google


def test_google_chat_body_and_urls():
    p = ChatParams(
        model="gemini-x",
        messages=[
            {"role": "system", "content": "S"},
            {"role": "user", "content": "u"},
            {"role": "assistant", "content": [{"type": "text", "text": "m"}]},
        ],
        temperature=0.1,
        max_tokens=30,
        top_p=0.9,
        extra={"generationConfig": {"thinkingConfig": {"thinkingBudget": 0}, "temperature": 2}, "safetySettings": []},
    )
    assert google.chat_body(p) == {
        "contents": [{"role": "user", "parts": [{"text": "u"}]}, {"role": "model", "parts": [{"text": "m"}]}],
        "systemInstruction": {"parts": [{"text": "S"}]},
        "generationConfig": {
            "thinkingConfig": {"thinkingBudget": 0},
            "temperature": 0.1,
            "maxOutputTokens": 30,
            "topP": 0.9,
        },
        "safetySettings": [],
    }
    assert google.model_url("https://g", "models/gem-1.5", "generateContent") == (
        "https://g/v1beta/models/gem-1.5:generateContent"
    )
    assert google.embed_body("e", ["a", "b"], {"taskType": "RETRIEVAL_DOCUMENT"})["requests"][1] == {
        "taskType": "RETRIEVAL_DOCUMENT",
        "model": "models/e",
        "content": {"parts": [{"text": "b"}]},
    }


def test_google_parse_frame_and_usage():
    data = {
        "candidates": [
            {"content": {"parts": [{"text": "think", "thought": True}, {"text": "ans"}]}, "finishReason": "SAFETY"}
        ],
        "usageMetadata": {
            "promptTokenCount": 7,
            "candidatesTokenCount": 2,
            "thoughtsTokenCount": 3,
            "cachedContentTokenCount": 5,
        },
    }
    deltas, finish, usage = google.parse_frame(data)
    assert deltas == [Delta("reasoning", "think"), Delta("text", "ans")]
    assert finish == "content_filter"
    assert usage == TokenCounts(input_tokens=7, output_tokens=5, cached_tokens=5, reasoning_tokens=3)
    assert google.finish_reason("MAX_TOKENS") == "length"
    assert google.parse_frame({"candidates": [{"content": {"parts": [{"text": "x"}]}}]})[1] is None
    blocked = google.parse_response({"promptFeedback": {"blockReason": "SAFETY"}})
    assert (blocked.text, blocked.finish_reason) == ("", "content_filter")


# ---------------------------------------------------------------------------------------------- adapters vs fakes


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_chat_text_and_usage(fake, client, fmt):
    result = await registry.ADAPTERS[fmt].chat.chat(
        client, cfg_for(fake, fmt), params("hello world [[cached:2]]"), "operator-key", byok=False
    )
    assert result.text == "Echo: hello world" == answer_text("hello world")
    assert result.finish_reason == "stop" and result.reasoning == ""
    # the same normalised usage whatever the format: 5 prompt words (incl. system), 3 output pieces, 2 cached
    assert result.usage == TokenCounts(input_tokens=5, output_tokens=3, cached_tokens=2)


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_stream_text_usage_and_single_end(fake, client, fmt):
    stream = registry.ADAPTERS[fmt].chat.stream_chat(
        client, cfg_for(fake, fmt), params("one two three four"), "operator-key", byok=False
    )
    deltas, end = await collect(stream)
    assert len(deltas) == 5 and text_of(deltas) == "Echo: one two three four"
    assert end == StreamEnd("stop", TokenCounts(input_tokens=6, output_tokens=5))
    assert await fake.await_stat("streams_completed", 1)


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_reasoning_in_chat_and_stream(fake, client, fmt):
    adapter, cfg = registry.ADAPTERS[fmt].chat, cfg_for(fake, fmt)
    result = await adapter.chat(client, cfg, params("why [[reason]]"), "k", byok=False)
    assert result.reasoning == reasoning_text("why") and result.text == "Echo: why"
    deltas, end = await collect(adapter.stream_chat(client, cfg, params("why [[reason]]"), "k", byok=False))
    assert text_of(deltas, "reasoning") == "Thinking about: why" and text_of(deltas) == "Echo: why"
    assert deltas[0].kind == "reasoning" and deltas[-1].kind == "text"
    assert end.usage.output_tokens == 5  # 2 answer + 3 reasoning pieces
    if fmt != "anthropic":  # Anthropic does not break thinking tokens out
        assert end.usage.reasoning_tokens == 3


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_no_usage_and_long_and_length(fake, client, fmt):
    adapter, cfg = registry.ADAPTERS[fmt].chat, cfg_for(fake, fmt)
    deltas, end = await collect(adapter.stream_chat(client, cfg, params("x [[nousage]] [[long:25]]"), "k", byok=False))
    assert len(deltas) == 25 and end.usage is None and end.finish_reason == "stop"
    assert (await adapter.chat(client, cfg, params("x [[nousage]]"), "k", byok=False)).usage is None
    _, end = await collect(adapter.stream_chat(client, cfg, params("a b c d e f", max_tokens=2), "k", byok=False))
    assert end.finish_reason == "length"


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_request_wire_details(fake, client, fmt):
    cfg = cfg_for(fake, fmt, api_key="operator-key")
    await collect(
        registry.ADAPTERS[fmt].chat.stream_chat(client, cfg, params("hi", max_tokens=9), "byok-key", byok=True)
    )
    (req,) = fake.requests
    headers, body = req["headers"], req["body"]
    if fmt == "openai":
        assert req["path"] == "/v1/chat/completions" and headers["authorization"] == "Bearer byok-key"
        assert body["stream_options"] == {"include_usage": True} and body["max_tokens"] == 9
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    elif fmt == "anthropic":
        assert req["path"] == "/v1/messages" and headers["x-api-key"] == "byok-key"
        assert headers["anthropic-version"] == "2023-06-01"
        assert body["system"] == "Be brief." and body["max_tokens"] == 9 and body["stream"] is True
    else:
        assert req["path"] == "/v1beta/models/m-1:streamGenerateContent?alt=sse"
        assert headers["x-goog-api-key"] == "byok-key"
        assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
        assert body["generationConfig"] == {"maxOutputTokens": 9}
    assert "operator-key" not in json.dumps(req)


@pytest.mark.asyncio
async def test_mistral_streams_without_stream_options(fake, client):
    cfg = registry.provider_config(
        "mistral", env={"MISTRAL_BASE_URL": fake.base_url("openai", "mistral"), "MISTRAL_API_KEY": "k"}
    )
    _, end = await collect(openai_format.stream_chat(client, cfg, params("hi"), "k", byok=False))
    (req,) = fake.requests
    assert req["provider"] == "mistral" and "stream_options" not in req["body"]
    assert end.usage is None  # this fake only reports stream usage when asked; real Mistral always does


# ---------------------------------------------------------------------------------------------- failures


async def _call(kind: str, fmt: str, fake, client, text: str, api_key: str = "operator-key", byok: bool = False):
    adapter, cfg = registry.ADAPTERS[fmt].chat, cfg_for(fake, fmt)
    if kind == "chat":
        return await adapter.chat(client, cfg, params(text), api_key, byok=byok)
    return await collect(adapter.stream_chat(client, cfg, params(text), api_key, byok=byok))


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["chat", "stream"])
@pytest.mark.parametrize("fmt", FORMATS)
async def test_rate_limit_is_retried_then_429(fake, client, fmt, kind):
    with pytest.raises(UpstreamError) as info:
        await _call(kind, fmt, fake, client, "hi [[status:429]]")
    assert info.value.http_status == 429 and info.value.provider == fmt
    assert fake.request_count == 3  # first try + 2 retries


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["chat", "stream"])
@pytest.mark.parametrize("fmt", FORMATS)
async def test_status_mapping(fake, client, fmt, kind):
    cases = [
        ("[[status:500]]", UpstreamError, 502, 1),
        ("[[status:503]]", UpstreamError, 503, 3),
        ("[[status:401]]", UpstreamError, 502, 1),
        ("[[status:400]]", BadRequest, 400, 1),
        ("[[status:404]]", NotFound, 404, 1),
    ]
    for switch, error_type, status, attempts in cases:
        fake.reset()
        with pytest.raises(error_type) as info:
            await _call(kind, fmt, fake, client, f"hi {switch}")
        assert info.value.http_status == status, switch
        assert f"'{fmt}'" in str(info.value.detail)
        assert fake.request_count == attempts, switch


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_missing_key_is_rejected_like_the_real_provider(fake, client, fmt):
    with pytest.raises(UpstreamError) as info:
        await _call("chat", fmt, fake, client, "hi", api_key="", byok=True)
    assert info.value.http_status == 502 and "supplied API key" in info.value.message


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["chat", "stream"])
@pytest.mark.parametrize("fmt", FORMATS)
async def test_flaky_provider_succeeds_on_retry(fake, client, fmt, kind):
    result = await _call(kind, fmt, fake, client, "hi [[flaky:1]]")
    text = result.text if kind == "chat" else text_of(result[0])
    assert text == "Echo: hi"
    assert fake.request_count == 2


@pytest.mark.asyncio
async def test_retries_are_bounded_by_the_client_policy(fake):
    async with create_client(retries=0, retry_base_wait=0.001, trust_env=False) as no_retry:
        with pytest.raises(UpstreamError) as info:
            await _call("chat", "openai", fake, no_retry, "hi [[flaky:1]]")
    assert info.value.http_status == 503 and fake.request_count == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_cut_stream_raises_502_after_some_output(fake, client, fmt):
    adapter, cfg = registry.ADAPTERS[fmt].chat, cfg_for(fake, fmt)
    got: list[Delta] = []
    with pytest.raises(UpstreamError) as info:
        async for item in adapter.stream_chat(client, cfg, params("a b c d e f g h [[cut]]"), "k", byok=False):
            got.append(item)
    assert info.value.http_status == 502
    assert got and all(isinstance(d, Delta) for d in got)
    assert fake.request_count == 1 and fake.stats()["streams_cut"] == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["chat", "stream"])
async def test_timeout_is_504_and_not_retried(fake, kind):
    async with create_client(read_timeout=0.3, retry_base_wait=0.001, trust_env=False) as impatient:
        started = time.monotonic()
        with pytest.raises(UpstreamError) as info:
            await _call(kind, "anthropic", fake, impatient, "hi [[hang]]")
    assert info.value.http_status == 504
    assert fake.request_count == 1 and time.monotonic() - started < 2


@pytest.mark.asyncio
async def test_stall_mid_stream_is_504(fake):
    async with create_client(read_timeout=0.2, trust_env=False) as impatient:
        got = []
        with pytest.raises(UpstreamError) as info:
            async for item in google.stream_chat(
                impatient, cfg_for(fake, "google"), params("a b [[slow:0.5]]"), "k", byok=False
            ):
                got.append(item)
    assert info.value.http_status == 504 and got == []


@pytest.mark.asyncio
async def test_connection_refused_is_503_after_retries(client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    cfg = ProviderConfig("openai", "openai", f"http://127.0.0.1:{port}/v1", "k")
    with pytest.raises(UpstreamError) as info:
        await openai_format.chat(client, cfg, params("hi"), "k", byok=False)
    assert info.value.http_status == 503 and "connect" in info.value.message


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_aclose_closes_the_upstream_stream(fake, client, fmt):
    stream = registry.ADAPTERS[fmt].chat.stream_chat(
        client, cfg_for(fake, fmt), params("x [[long:50]] [[slow:0.02]]"), "k", byok=False
    )
    first = await anext(stream)
    assert isinstance(first, Delta)
    await stream.aclose()
    assert await fake.await_stat("streams_aborted", 1, within=3)
    assert fake.stats()["streams_completed"] == 0


@pytest.mark.asyncio
async def test_cancelling_the_consumer_task_closes_the_upstream_stream(fake, client):
    seen = asyncio.Event()

    async def consume():
        async for _ in anthropic.stream_chat(
            client, cfg_for(fake, "anthropic"), params("x [[long:50]] [[slow:0.02]]"), "k", byok=False
        ):
            seen.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(seen.wait(), 3)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await fake.await_stat("streams_aborted", 1, within=3)


# ---------------------------------------------------------------------------------------------- embeddings


@pytest.mark.asyncio
async def test_openai_embeddings(fake, client):
    result = await openai_format.embed(
        client, cfg_for(fake, "openai"), "emb-1", ["alpha", "beta gamma"], "k", {}, byok=False
    )
    assert result.vectors == [fake_vector("alpha"), fake_vector("beta gamma")]  # the fake answers in reverse order
    assert result.usage == TokenCounts(input_tokens=3)
    assert fake.requests[0]["body"] == {"model": "emb-1", "input": ["alpha", "beta gamma"]}


@pytest.mark.asyncio
async def test_google_embeddings(fake, client):
    result = await google.embed(client, cfg_for(fake, "google"), "text-embedding-004", ["a", "b"], "k", {}, byok=False)
    assert result.vectors == [fake_vector("a"), fake_vector("b")] and result.usage is None
    assert fake.requests[0]["path"] == "/v1beta/models/text-embedding-004:batchEmbedContents"


@pytest.mark.asyncio
async def test_embedding_errors(fake, client):
    with pytest.raises(UpstreamError) as info:
        await openai_format.embed(client, cfg_for(fake, "openai"), "e", ["x [[status:429]]"], "k", {}, byok=False)
    assert info.value.http_status == 429
    with pytest.raises(NotFound, match="does not offer embeddings"):
        registry.capability(cfg_for(fake, "anthropic"), "embeddings")


# ---------------------------------------------------------------------------------------------- the fake itself


@pytest.mark.asyncio
async def test_fake_inspection_endpoints(fake, client):
    await openai_format.chat(client, cfg_for(fake, "openai"), params("hi"), "k", byok=False)
    async with httpx.AsyncClient(base_url=fake.url, trust_env=False) as http:
        recorded = (await http.get("/__requests")).json()
        assert [r["path"] for r in recorded] == ["/v1/chat/completions"]
        assert (await http.get("/__stats")).json()["requests"] == 1
        await http.post("/__reset")
        assert (await http.get("/__requests")).json() == []


def test_fake_standalone_process_serves_all_formats():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.providers", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().split()[-1]
        with httpx.Client(base_url=url, trust_env=False) as http:
            r = http.post(
                "/v1/messages",
                headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
                json={"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "yo"}]},
            )
            assert r.json()["content"][0]["text"] == "Echo: yo"
            r = http.post(
                "/v1beta/models/g:generateContent", json={"contents": [{"role": "user", "parts": [{"text": "a"}]}]}
            )
            assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"
            assert http.get("/__stats").json()["requests"] == 2
    finally:
        proc.terminate()
        proc.wait(timeout=5)
