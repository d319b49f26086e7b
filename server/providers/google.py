"""Adapter for the Google Gemini API (generativelanguage.googleapis.com, v1beta).

Gemini names things differently: `contents` with roles user/model, a separate `systemInstruction`,
`generationConfig` for sampling, and streams whose every SSE frame is a whole GenerateContentResponse,
ending without a [DONE] marker (the frame with a `finishReason` is the last).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

from server.errors import UpstreamError
from server.providers.base import (
    ChatParams,
    ChatResult,
    Delta,
    EmbeddingResult,
    ProviderConfig,
    StreamEnd,
    TokenCounts,
)
from server.providers.http import event_json, open_sse, post_json, stream_ended_early
from server.providers.openai_format import content_text, count_of, merge_extra

_RESERVED = frozenset({"model", "contents", "stream"})

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


# ---------------------------------------------------------------------------------------------- pure translation


def headers(api_key: str) -> dict[str, str]:
    return {"x-goog-api-key": api_key}


def model_url(base_url: str, model: str, method: str) -> str:
    """{base}/v1beta/models/{model}:{method}; a leading "models/" in the model id is tolerated."""
    model = model.removeprefix("models/")
    return f"{base_url}/v1beta/models/{quote(model, safe='-._~')}:{method}"


def chat_body(params: ChatParams, provider: str = "google") -> dict[str, Any]:
    """The JSON body of generateContent / streamGenerateContent (the same for both)."""
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    for message in params.messages:
        role = message.get("role")
        text = content_text(message.get("content"), provider)
        if role in ("system", "developer"):
            system.append(text)
        elif text:
            contents.append({"role": "model" if role == "assistant" else "user", "parts": [{"text": text}]})
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    config = {
        "temperature": params.temperature,
        "maxOutputTokens": params.max_tokens,
        "topP": params.top_p,
        "frequencyPenalty": params.frequency_penalty,
        "presencePenalty": params.presence_penalty,
    }
    config = {k: v for k, v in config.items() if v is not None}
    extra_config = params.extra.get("generationConfig")
    if isinstance(extra_config, dict):  # e.g. thinkingConfig from additional_params; our fields win
        config = {**extra_config, **config}
    if config:
        body["generationConfig"] = config
    return merge_extra(body, params.extra, _RESERVED)


def parse_usage(meta: Any) -> TokenCounts | None:
    """usageMetadata → TokenCounts; output includes thinking tokens (like OpenAI's completion_tokens)."""
    if not isinstance(meta, dict):
        return None
    thoughts = count_of(meta, "thoughtsTokenCount")
    return TokenCounts(
        input_tokens=count_of(meta, "promptTokenCount"),
        output_tokens=count_of(meta, "candidatesTokenCount") + thoughts,
        cached_tokens=count_of(meta, "cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


def finish_reason(reason: str | None) -> str:
    return FINISH_REASONS.get(reason or "STOP", (reason or "stop").lower())


def parse_frame(data: dict[str, Any]) -> tuple[list[Delta], str | None, TokenCounts | None]:
    """One GenerateContentResponse → its output pieces, its finish reason (None if not final), its usage."""
    candidates = data.get("candidates") or []
    deltas: list[Delta] = []
    finish = None
    if candidates:
        candidate = candidates[0]
        for part in (candidate.get("content") or {}).get("parts") or []:
            text = part.get("text")
            if isinstance(text, str) and text:
                deltas.append(Delta("reasoning" if part.get("thought") else "text", text))
        if candidate.get("finishReason"):
            finish = finish_reason(candidate["finishReason"])
    elif (data.get("promptFeedback") or {}).get("blockReason"):  # the prompt itself was blocked
        finish = "content_filter"
    return deltas, finish, parse_usage(data.get("usageMetadata"))


def parse_response(data: dict[str, Any]) -> ChatResult:
    deltas, finish, usage = parse_frame(data)
    return ChatResult(
        text="".join(d.text for d in deltas if d.kind == "text"),
        finish_reason=finish or "stop",
        usage=usage,
        reasoning="".join(d.text for d in deltas if d.kind == "reasoning"),
    )


def embed_body(model: str, texts: list[str], extra: dict[str, Any]) -> dict[str, Any]:
    """batchEmbedContents: one request per text; extra (taskType, outputDimensionality, ...) goes in each."""
    name = "models/" + model.removeprefix("models/")
    options = {k: v for k, v in extra.items() if k not in ("model", "content")}
    return {"requests": [{**options, "model": name, "content": {"parts": [{"text": text}]}} for text in texts]}


def parse_embeddings(data: dict[str, Any]) -> EmbeddingResult:
    return EmbeddingResult(vectors=[item.get("values") or [] for item in data.get("embeddings") or []], usage=None)


# ---------------------------------------------------------------------------------------------- calls


async def chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> ChatResult:
    url = model_url(cfg.base_url, params.model, "generateContent")
    data = await post_json(client, cfg.id, url, headers(api_key), chat_body(params, cfg.id), byok=byok)
    if not isinstance(data, dict):
        raise UpstreamError(cfg.id, 502, "the provider's answer is not an object")
    return parse_response(data)


async def stream_chat(
    client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
) -> AsyncIterator[Delta | StreamEnd]:
    url = model_url(cfg.base_url, params.model, "streamGenerateContent") + "?alt=sse"
    body = chat_body(params, cfg.id)
    finish: str | None = None
    usage: TokenCounts | None = None
    async with open_sse(client, cfg.id, url, headers(api_key), body, byok=byok) as events:
        async for event in events:
            if not event.data.strip():
                continue
            data = event_json(cfg.id, event)
            if not isinstance(data, dict):
                continue
            if data.get("error"):
                error = data["error"]
                raise UpstreamError(cfg.id, 502, (error.get("message") if isinstance(error, dict) else None) or "error")
            deltas, frame_finish, frame_usage = parse_frame(data)
            for delta in deltas:
                yield delta
            finish = frame_finish or finish
            usage = frame_usage or usage  # every frame may repeat it; the last one is final
    if finish is None:
        raise stream_ended_early(cfg.id)
    yield StreamEnd(finish_reason=finish, usage=usage)


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
    url = model_url(cfg.base_url, model, "batchEmbedContents")
    data = await post_json(client, cfg.id, url, headers(api_key), embed_body(model, texts, extra), byok=byok)
    result = parse_embeddings(data if isinstance(data, dict) else {})
    if len(result.vectors) != len(texts):
        raise UpstreamError(cfg.id, 502, f"expected {len(texts)} embeddings, got {len(result.vectors)}")
    return result
