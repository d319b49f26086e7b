"""Embeddings: route, reserve by counted tokens, call, settle (same billing path as chat)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.catalog import pricing
from server.domain import billing, tokens
from server.domain.caller import Caller
from server.domain.routing import resolve
from server.errors import ValidationFailed
from server.providers import registry
from server.providers.base import TokenCounts

if TYPE_CHECKING:
    from server.hub import Hub

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
    adapter = registry.capability(route.config, "embeddings")
    counted = sum(tokens.count_text(t) for t in texts)
    worst_tokens = int(counted * 1.25) + 16
    worst_case = pricing.token_cost_nanos(route.entry, worst_tokens, 0)
    meter = await billing.meter(
        hub,
        caller,
        route,
        worst_case,
        endpoint=endpoint,
        request_content={"inputs": len(texts)},
        tokens=worst_tokens,
    )
    async with meter.guard():
        result = await adapter.embed(
            hub.http, route.config, route.model, texts, route.api_key, caller.extra, byok=route.byok
        )
    usage = result.usage if result.usage and result.usage.input_tokens else TokenCounts(input_tokens=counted)
    cost = pricing.token_cost_nanos(route.entry, usage.input_tokens, 0)
    charge = await meter.settle("success", cost, input_tokens=usage.input_tokens)
    return EmbeddingOutcome(
        meter.request_id, route.provider, route.model, result.vectors, usage, charge, meter.elapsed_ms()
    )
