"""Embeddings: route, reserve by counted tokens, call, settle (same billing path as chat)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from server.catalog import pricing
from server.domain import billing, tokens
from server.domain.caller import Caller
from server.domain.routing import resolve
from server.errors import HubError, ValidationFailed
from server.hub import Hub
from server.providers import registry
from server.providers.base import TokenCounts

MAX_INPUTS = 2048


@dataclass
class EmbeddingOutcome:
    request_id: str
    provider: str
    model: str
    vectors: list[list[float]]
    usage: TokenCounts
    cost_nanos: int
    duration_ms: float


def texts_of(text: Any) -> list[str]:
    """`text` as documented: a string or a list of strings."""
    if isinstance(text, str) and text:
        return [text]
    if isinstance(text, list) and text and all(isinstance(t, str) and t for t in text) and len(text) <= MAX_INPUTS:
        return text
    raise ValidationFailed.single(
        ["body", "text"], f"text must be a non-empty string or a list of 1 to {MAX_INPUTS} non-empty strings"
    )


async def embed(hub: Hub, caller: Caller, *, text: Any, endpoint: str = "embedding") -> EmbeddingOutcome:
    """`endpoint` names the surface in the usage record ("embedding" on /api/v1, "openai.embedding" on /v1)."""
    texts = texts_of(text)
    route = resolve(hub, caller.provider, caller.model, "embeddings", caller.byok_key)
    counted = sum(tokens.count_text(t) for t in texts)
    worst_case = pricing.token_cost_nanos(route.entry, int(counted * 1.25) + 16, 0)
    started = time.perf_counter()
    res = await billing.reserve_for(hub, caller, route, worst_case)

    def outcome(status: str, usage: TokenCounts, cost: int, error: str | None = None) -> billing.Outcome:
        return billing.Outcome(
            endpoint=endpoint,
            provider=route.provider,
            model=route.model,
            status=status,
            cost_nanos=cost,
            input_tokens=usage.input_tokens,
            duration_ms=(time.perf_counter() - started) * 1000,
            error=error,
            request_content={"inputs": len(texts)},
        )

    adapter = registry.adapter_for(route.config.wire_format)
    try:
        result = await adapter.embed(hub.extras["http"], route.config, route.model, texts, route.api_key, caller.extra)
    except BaseException as exc:
        detail = exc.detail if isinstance(exc, HubError) and isinstance(exc.detail, str) else repr(exc)
        await asyncio.shield(billing.settle(hub, res, outcome("error", TokenCounts(), 0, detail)))
        raise
    usage = result.usage if result.usage and result.usage.input_tokens else TokenCounts(input_tokens=counted)
    cost = pricing.token_cost_nanos(route.entry, usage.input_tokens, 0)
    charge = await asyncio.shield(billing.settle(hub, res, outcome("success", usage, cost)))
    return EmbeddingOutcome(
        res.request_id,
        route.provider,
        route.model,
        result.vectors,
        usage,
        charge,
        (time.perf_counter() - started) * 1000,
    )
