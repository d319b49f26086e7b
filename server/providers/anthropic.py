"""Adapter for Anthropic's Messages API (POST {host}/v1/messages).

Differences from the OpenAI format handled here: system prompts are a top-level `system` string,
`max_tokens` is required, answers are lists of typed content blocks (`text`, `thinking`), and streams are
named events (message_start ... message_stop) with usage split between the first and the last event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from server.errors import UpstreamError
from server.providers.base import (
    ChatParams,
    ChatResult,
    Delta,
    ProviderConfig,
    StreamEnd,
    TokenCounts,
)
from server.providers.http import event_json, open_sse, post_json, stream_ended_early
from server.providers.openai_format import content_text, count_of, merge_extra

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096  # only when the caller gave none: the API refuses requests without max_tokens

_RESERVED = frozenset({"model", "messages", "stream"})

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# Error types of in-stream `error` events → the gateway's status
_STREAM_ERROR_STATUS = {"overloaded_error": 503, "rate_limit_error": 429, "timeout_error": 504}


# ---------------------------------------------------------------------------------------------- pure translation


def headers(api_key: str) -> dict[str, str]:
    return {"x-api-key": api_key, "anthropic-version": API_VERSION}


def chat_body(params: ChatParams, *, stream: bool, provider: str = "anthropic") -> dict[str, Any]:
    """The JSON body of POST /v1/messages: system and developer messages become the top-level `system`."""
    system: list[str] = []
    messages: list[dict[str, str]] = []
    for message in params.messages:
        role = message.get("role")
        text = content_text(message.get("content"), provider)
        if role in ("system", "developer"):
            system.append(text)
        elif text:  # the API refuses empty text content
            messages.append({"role": "assistant" if role == "assistant" else "user", "content": text})
    body: dict[str, Any] = {
        "model": params.model,
        "max_tokens": params.max_tokens or params.output_limit or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        body["system"] = "\n\n".join(system)
    if params.temperature is not None:
        body["temperature"] = params.temperature
    if params.top_p is not None:
        body["top_p"] = params.top_p
    # frequency/presence penalties have no Anthropic equivalent and are left out
    if stream:
        body["stream"] = True
    return merge_extra(body, params.extra, _RESERVED)


def parse_usage(usage: Any) -> TokenCounts | None:
    """Anthropic counts cache reads and writes apart from input_tokens; ours include them (like OpenAI's)."""
    if not isinstance(usage, dict):
        return None
    cached = count_of(usage, "cache_read_input_tokens")
    return TokenCounts(
        input_tokens=count_of(usage, "input_tokens") + cached + count_of(usage, "cache_creation_input_tokens"),
        output_tokens=count_of(usage, "output_tokens"),
        cached_tokens=cached,
        cache_write_tokens=count_of(usage, "cache_creation_input_tokens"),
    )


def finish_reason(stop_reason: str | None) -> str:
    return STOP_REASONS.get(stop_reason or "end_turn", stop_reason or "stop")


def parse_message(data: dict[str, Any]) -> ChatResult:
    """A Message object → ChatResult: text blocks form the text, thinking blocks the reasoning."""
    text, reasoning = [], []
    for block in data.get("content") or []:
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "thinking":
            reasoning.append(block.get("thinking", ""))
    return ChatResult(
        text="".join(text),
        finish_reason=finish_reason(data.get("stop_reason")),
        usage=parse_usage(data.get("usage")),
        reasoning="".join(reasoning),
    )


def block_delta(data: dict[str, Any]) -> Delta | None:
    """The output carried by a content_block_start / content_block_delta event, if any."""
    piece = data.get("delta") if data.get("type") == "content_block_delta" else data.get("content_block")
    piece = piece or {}
    kind = piece.get("type")
    if kind in ("text_delta", "text") and piece.get("text"):
        return Delta("text", piece["text"])
    if kind in ("thinking_delta", "thinking") and piece.get("thinking"):
        return Delta("reasoning", piece["thinking"])
    return None


def stream_error(provider: str, data: dict[str, Any]) -> UpstreamError:
    error = data.get("error") or {}
    status = _STREAM_ERROR_STATUS.get(error.get("type"), 502)
    return UpstreamError(provider, status, error.get("message") or error.get("type") or "error in stream")


# ---------------------------------------------------------------------------------------------- calls


async def chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> ChatResult:
    body = chat_body(params, stream=False, provider=cfg.id)
    data = await post_json(client, cfg.id, f"{cfg.base_url}/v1/messages", headers(api_key), body, byok=byok)
    if not isinstance(data, dict) or "content" not in data:
        raise UpstreamError(cfg.id, 502, "the provider's answer has no content")
    return parse_message(data)


async def stream_chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> AsyncIterator[Delta | StreamEnd]:
    body = chat_body(params, stream=True, provider=cfg.id)
    url = f"{cfg.base_url}/v1/messages"
    usage: dict[str, Any] = {}  # message_start's usage, updated by message_delta's cumulative counts
    stop_reason: str | None = None
    stopped = False
    async with open_sse(client, cfg.id, url, headers(api_key), body, byok=byok) as events:
        async for event in events:  # read to the end (not just message_stop) so the connection can be reused
            if stopped or not event.data.strip():
                continue
            data = event_json(cfg.id, event)
            kind = data.get("type") or event.event
            if kind in ("content_block_start", "content_block_delta"):
                if delta := block_delta(data):
                    yield delta
            elif kind == "message_start":
                usage.update((data.get("message") or {}).get("usage") or {})
            elif kind == "message_delta":
                stop_reason = (data.get("delta") or {}).get("stop_reason") or stop_reason
                usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            elif kind == "message_stop":
                stopped = True
            elif kind == "error":
                raise stream_error(cfg.id, data)
    if not stopped:
        raise stream_ended_early(cfg.id)
    yield StreamEnd(finish_reason=finish_reason(stop_reason), usage=parse_usage(usage) if usage else None)
