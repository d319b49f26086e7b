"""Adapter for the OpenAI chat-completions wire format (OpenAI, Mistral, DeepSeek, xAI, Groq, local servers).

Our messages are already OpenAI-shaped, so requests pass through almost unchanged; the work is in reading
the answers: reasoning (`reasoning_content`), usage details and the stream's final usage chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from server.errors import BadRequest, UpstreamError
from server.providers.base import (
    ChatParams,
    ChatResult,
    Delta,
    EmbeddingResult,
    ProviderConfig,
    StreamEnd,
    TokenCounts,
)
from server.providers.http import event_json, open_sse, post_json, provider_message, stream_ended_early

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


def chat_body(params: ChatParams, *, stream: bool, stream_usage_option: bool = True) -> dict[str, Any]:
    """The JSON body of POST /chat/completions."""
    body: dict[str, Any] = {"model": params.model, "messages": params.messages}
    optional = {
        "temperature": params.temperature,
        "max_tokens": params.max_tokens,
        "top_p": params.top_p,
        "frequency_penalty": params.frequency_penalty,
        "presence_penalty": params.presence_penalty,
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
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return TokenCounts(
        input_tokens=count_of(usage, "prompt_tokens"),
        output_tokens=count_of(usage, "completion_tokens"),
        # DeepSeek reports cache hits as prompt_cache_hit_tokens
        cached_tokens=count_of(prompt_details, "cached_tokens") or count_of(usage, "prompt_cache_hit_tokens"),
        reasoning_tokens=count_of(completion_details, "reasoning_tokens"),
    )


def _reasoning(message: dict[str, Any]) -> str:
    # DeepSeek, xAI and vLLM say reasoning_content; Groq says reasoning
    value = message.get("reasoning_content") or message.get("reasoning")
    return value if isinstance(value, str) else ""


def parse_chat(data: dict[str, Any]) -> ChatResult:
    """A chat.completion object → ChatResult (first choice)."""
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    text = message.get("content")
    return ChatResult(
        text=text if isinstance(text, str) else "",
        finish_reason=choice.get("finish_reason") or "stop",
        usage=parse_usage(data.get("usage")),
        reasoning=_reasoning(message),
    )


def parse_chunk(chunk: dict[str, Any]) -> tuple[list[Delta], str | None, TokenCounts | None]:
    """One chat.completion.chunk → its deltas, its finish reason and its usage (each may be empty)."""
    deltas: list[Delta] = []
    finish = None
    for choice in chunk.get("choices") or []:
        if choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta") or {}
        if reasoning := _reasoning(delta):
            deltas.append(Delta("reasoning", reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            deltas.append(Delta("text", content))
        finish = choice.get("finish_reason") or finish
    return deltas, finish, parse_usage(chunk.get("usage"))


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
    body = chat_body(params, stream=False)
    data = await post_json(client, cfg.id, f"{cfg.base_url}/chat/completions", headers(api_key), body, byok=byok)
    if not isinstance(data, dict) or not data.get("choices"):
        raise UpstreamError(cfg.id, 502, "the provider's answer has no choices")
    return parse_chat(data)


async def stream_chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> AsyncIterator[Delta | StreamEnd]:
    body = chat_body(params, stream=True, stream_usage_option=cfg.stream_usage_option)
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
            deltas, chunk_finish, chunk_usage = parse_chunk(chunk)
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
