"""Adapter for the OpenAI chat-completions wire format (OpenAI, Mistral, DeepSeek, xAI, Groq, local servers).

Our messages are already OpenAI-shaped, so requests pass through almost unchanged; the work is in reading
the answers: reasoning (`reasoning_content`), usage details and the stream's final usage chunk.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from pydantic import Field

from server.errors import BadRequest, UpstreamError
from server.providers.base import (
    ChatParams,
    ChatResult,
    Delta,
    EmbeddingResult,
    ProviderConfig,
    StreamEnd,
    StreamItem,
    TokenCounts,
    ToolCall,
    ToolCallDelta,
)
from server.providers.http import event_json, open_sse, post_json, provider_message, stream_ended_early
from server.providers.media_inputs import inline_remote_files
from server.providers.shapes import Shape, validated

# Fields the adapter owns: `extra` (additional_params) cannot override them.
_RESERVED = frozenset({"model", "messages", "stream", "stream_options", "input"})


# ---------------------------------------------------------------------------------------------- shared helpers


def content_text(content: Any, provider: str) -> str:
    """The text of a message's content: a string, or OpenAI-style parts whose text parts are joined.

    Used by the adapters of other wire formats; non-text parts (images, audio) are refused, not dropped.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text":
                texts.append(str(part.get("text", "")))
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise BadRequest(f"Provider '{provider}' accepts only text content here, got a '{kind}' part")
        return "\n".join(texts)
    raise BadRequest(f"Message content must be a string or a list of parts, got {type(content).__name__}")


def merge_extra(body: dict[str, Any], extra: dict[str, Any], reserved: frozenset[str] = _RESERVED) -> dict[str, Any]:
    """`extra` (the caller's additional_params) under our own fields: ours win, reserved keys are dropped."""
    merged = {k: v for k, v in extra.items() if k not in reserved}
    merged.update(body)
    return merged


def count_of(usage: dict[str, Any], key: str) -> int:
    """One counter of a provider's usage object: 0 when absent or not an integer (every adapter reads so)."""
    value = usage.get(key)
    return value if isinstance(value, int) else 0


# ---------------------------------------------------------------------------------------------- pure translation


def headers(api_key: str) -> dict[str, str]:
    # Local OpenAI-compatible servers often need no key: then no header at all.
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


# Per-provider differences the providers document (see README "Agentic chat"): Mistral names the seed
# `random_seed`, wants tool-call ids of exactly 9 letters/digits, and reads PDFs as `document_url` parts.
_SEED_FIELD = {"mistral": "random_seed"}
_NINE_CHAR_IDS = frozenset({"mistral"})
_DOCUMENT_URL_PDFS = frozenset({"mistral"})
_NO_MESSAGE_NAMES = frozenset({"groq"})  # Groq answers 400 to messages[].name
_REASONING_BACK = frozenset({"deepseek"})
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def nine_char_id(call_id: str) -> str:
    """A stable [a-zA-Z0-9]{9} id for any tool-call id (Mistral refuses others); already valid ids stay."""
    if len(call_id) == 9 and call_id.isascii() and call_id.isalnum():
        return call_id
    number = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:8], "big")
    return "".join(_ID_ALPHABET[(number // 62**i) % 62] for i in range(9))


def _provider_messages(messages: list[dict[str, Any]], provider: str) -> list[dict[str, Any]]:
    """Our messages (already OpenAI-shaped) with the provider's documented exceptions applied."""
    has_reasoning = any("reasoning_content" in m for m in messages)
    if provider not in _NINE_CHAR_IDS | _DOCUMENT_URL_PDFS | _NO_MESSAGE_NAMES and not has_reasoning:
        return messages
    out = []
    for message in messages:
        message = dict(message)
        # DeepSeek's thinking mode wants reasoning_content back on assistant turns with tool calls; nobody else
        if provider not in _REASONING_BACK or not message.get("tool_calls"):
            message.pop("reasoning_content", None)
        if provider in _NO_MESSAGE_NAMES:
            message.pop("name", None)
        if provider in _NINE_CHAR_IDS:
            if message.get("tool_calls"):
                message["tool_calls"] = [{**c, "id": nine_char_id(c["id"])} for c in message["tool_calls"]]
            if message.get("tool_call_id"):
                message["tool_call_id"] = nine_char_id(message["tool_call_id"])
        if provider in _DOCUMENT_URL_PDFS and isinstance(message.get("content"), list):
            message["content"] = [
                {"type": "document_url", "document_url": p["file"]["file_data"]} if p.get("type") == "file" else p
                for p in message["content"]
            ]
        out.append(message)
    return out


def chat_body(
    params: ChatParams, *, stream: bool, stream_usage_option: bool = True, provider: str = "openai"
) -> dict[str, Any]:
    """The JSON body of POST /chat/completions."""
    body: dict[str, Any] = {"model": params.model, "messages": _provider_messages(params.messages, provider)}
    optional = {
        "temperature": params.temperature,
        "max_tokens": params.max_tokens,
        "top_p": params.top_p,
        "frequency_penalty": params.frequency_penalty,
        "presence_penalty": params.presence_penalty,
        "tools": params.tools,
        "tool_choice": params.tool_choice,
        "parallel_tool_calls": params.parallel_tool_calls,
        "response_format": params.response_format,
        "stop": params.stop,
        _SEED_FIELD.get(provider, "seed"): params.seed,
        "reasoning_effort": params.reasoning_effort,
    }
    if "max_completion_tokens" in params.extra:  # newer OpenAI models refuse max_tokens next to it
        optional.pop("max_tokens")
    body.update({k: v for k, v in optional.items() if v is not None})
    if stream:
        body["stream"] = True
        if stream_usage_option:
            body["stream_options"] = {"include_usage": True}
    return merge_extra(body, params.extra)


def parse_usage(usage: Any) -> TokenCounts | None:
    """OpenAI usage → TokenCounts (prompt includes cached tokens, completion includes reasoning tokens)."""
    if not isinstance(usage, dict):
        return None
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    prompt_details = prompt_details if isinstance(prompt_details, dict) else {}
    completion_details = completion_details if isinstance(completion_details, dict) else {}
    return TokenCounts(
        input_tokens=count_of(usage, "prompt_tokens"),
        output_tokens=count_of(usage, "completion_tokens"),
        # DeepSeek reports cache hits as prompt_cache_hit_tokens
        cached_tokens=count_of(prompt_details, "cached_tokens") or count_of(usage, "prompt_cache_hit_tokens"),
        reasoning_tokens=count_of(completion_details, "reasoning_tokens"),
    )


# -- the answer's shape (validated once, here; see server.providers.shapes)


class _Function(Shape):
    name: str | None = None
    arguments: str | None = None


class _ToolCall(Shape):
    index: int = 0
    id: str | None = None
    type: str | None = None
    function: _Function | None = None


class _Message(Shape):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(Shape):
    index: int = 0
    message: _Message | None = None
    finish_reason: str | None = None


class _Completion(Shape):
    choices: list[_Choice] = Field(min_length=1)
    usage: dict[str, Any] | None = None


class _ChunkChoice(Shape):
    index: int = 0
    delta: _Message | None = None
    finish_reason: str | None = None


class _Chunk(Shape):
    choices: list[_ChunkChoice] | None = None
    usage: dict[str, Any] | None = None


def _reasoning(message: _Message | None) -> str:
    # DeepSeek, xAI and vLLM say reasoning_content; Groq says reasoning
    return (message.reasoning_content or message.reasoning or "") if message else ""


def parse_chat(data: Any, provider: str = "openai") -> ChatResult:
    """A chat.completion object → ChatResult (first choice), tool calls included; 502 when malformed."""
    completion = validated(_Completion, data, provider)
    choice = completion.choices[0]
    message = choice.message or _Message()
    calls = [
        ToolCall(id=c.id or f"call_{i}", name=(c.function.name or ""), arguments=c.function.arguments or "")
        for i, c in enumerate(message.tool_calls or [])
        if c.function is not None
    ]
    finish = choice.finish_reason or "stop"
    if calls and finish == "stop":
        finish = "tool_calls"
    return ChatResult(
        text=message.content or "",
        finish_reason=finish,
        usage=parse_usage(completion.usage),
        reasoning=_reasoning(message),
        tool_calls=calls,
    )


def parse_chunk(
    chunk: Any, provider: str = "openai"
) -> tuple[list[Delta | ToolCallDelta], str | None, TokenCounts | None]:
    """One chat.completion.chunk → its deltas (text, reasoning, tool-call pieces), finish reason and usage."""
    parsed = validated(_Chunk, chunk, provider)
    deltas: list[Delta | ToolCallDelta] = []
    finish = None
    for choice in parsed.choices or []:
        if choice.index != 0:
            continue
        delta = choice.delta or _Message()
        if reasoning := _reasoning(delta):
            deltas.append(Delta("reasoning", reasoning))
        if delta.content:
            deltas.append(Delta("text", delta.content))
        for call in delta.tool_calls or []:
            fn = call.function or _Function()
            deltas.append(ToolCallDelta(index=call.index, arguments=fn.arguments or "", id=call.id, name=fn.name))
        finish = choice.finish_reason or finish
    return deltas, finish, parse_usage(parsed.usage)


def embed_body(model: str, texts: list[str], extra: dict[str, Any]) -> dict[str, Any]:
    # We read plain float lists: a caller's encoding_format (base64) would break that.
    return merge_extra({"model": model, "input": texts}, {k: v for k, v in extra.items() if k != "encoding_format"})


def parse_embeddings(data: dict[str, Any]) -> EmbeddingResult:
    """Vectors in input order (the API gives each an `index`), plus prompt-token usage."""
    items = sorted(data.get("data") or [], key=lambda item: item.get("index", 0))
    usage = data.get("usage")
    counts = TokenCounts(input_tokens=count_of(usage, "prompt_tokens")) if isinstance(usage, dict) else None
    return EmbeddingResult(vectors=[item["embedding"] for item in items], usage=counts)


# ---------------------------------------------------------------------------------------------- calls


async def chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> ChatResult:
    params = await inline_remote_files(client, params, images=False)
    body = chat_body(params, stream=False, provider=cfg.id)
    data = await post_json(client, cfg.id, f"{cfg.base_url}/chat/completions", headers(api_key), body, byok=byok)
    return parse_chat(data, cfg.id)


async def stream_chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> AsyncIterator[StreamItem]:
    params = await inline_remote_files(client, params, images=False)
    body = chat_body(params, stream=True, stream_usage_option=cfg.stream_usage_option, provider=cfg.id)
    url = f"{cfg.base_url}/chat/completions"
    finish: str | None = None
    usage: TokenCounts | None = None
    done = False
    async with open_sse(client, cfg.id, url, headers(api_key), body, byok=byok) as events:
        async for event in events:  # read to the end (not just [DONE]) so the connection can be reused
            if done or not event.data.strip():
                continue
            if event.data.strip() == "[DONE]":
                done = True
                continue
            chunk = event_json(cfg.id, event)
            if not isinstance(chunk, dict):
                continue
            if chunk.get("error"):
                raise UpstreamError(cfg.id, 502, provider_message(event.data) or "error in stream")
            deltas, chunk_finish, chunk_usage = parse_chunk(chunk, cfg.id)
            for delta in deltas:
                yield delta
            finish = chunk_finish or finish
            usage = chunk_usage or usage
    if not done and finish is None:
        raise stream_ended_early(cfg.id)
    yield StreamEnd(finish_reason=finish or "stop", usage=usage)


async def embed(
    client: httpx.AsyncClient,
    cfg: ProviderConfig,
    model: str,
    texts: list[str],
    api_key: str,
    extra: dict,
    *,
    byok: bool,
) -> EmbeddingResult:
    data = await post_json(
        client,
        cfg.id,
        f"{cfg.base_url}/embeddings",
        headers(api_key),
        embed_body(model, texts, extra),
        byok=byok,
    )
    result = parse_embeddings(data if isinstance(data, dict) else {})
    if len(result.vectors) != len(texts):
        raise UpstreamError(cfg.id, 502, f"expected {len(texts)} embeddings, got {len(result.vectors)}")
    return result
