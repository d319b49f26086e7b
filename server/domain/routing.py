"""Which provider and model a request goes to, and with which key."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.errors import NotFound, Unavailable
from server.providers import registry
from server.providers.base import ProviderConfig

if TYPE_CHECKING:
    from server.hub import Hub

DEFAULT_MODELS = {
    "text_completions": "openai/gpt-4o-mini",
    "embeddings": "openai/text-embedding-3-small",
}


@dataclass(frozen=True)
class Route:
    provider: str
    model: str  # the provider's own model id
    entry: dict[str, Any]  # the catalog entry (prices, limits)
    config: ProviderConfig
    api_key: str
    byok: bool


def split_model(provider: str | None, model: str | None, category: str) -> tuple[str, str]:
    """ "provider/model", or provider plus a bare model, or the documented default."""
    if not model:
        model = DEFAULT_MODELS.get(category, "")
    if provider:
        prefix = f"{provider}/"
        return provider, model[len(prefix) :] if model.startswith(prefix) else model
    head, sep, tail = model.partition("/")
    if not sep:
        return DEFAULT_MODELS.get(category, "openai/").split("/")[0], model
    return head, tail


def resolve(hub: Hub, provider: str | None, model: str | None, category: str, byok_key: str | None) -> Route:
    """The route of a request. Model names resolve in the catalog (aliases, lifecycle by date, the 404 with
    the closest ids); a model unknown at the named provider but served by another says where."""
    provider_id, model_id = split_model(provider, model, category)
    provider_id = provider_id.strip().lower()
    if provider_id not in registry.known_providers():
        near = difflib.get_close_matches(provider_id, registry.known_providers(), n=3, cutoff=0.7)
        hint = f"; did you mean {', '.join(repr(p) for p in near)}?" if near else ""
        raise NotFound(f"Provider '{provider_id}' not found{hint}")
    try:
        entry = hub.catalog.resolve(provider_id, model_id, category)
    except NotFound as exc:
        if provider_id in hub.catalog.provider_ids() and hub.catalog.find(provider_id, model_id) is None:
            names = [model_id] + ([model] if model and model != model_id else [])
            others = hub.catalog.elsewhere(names, category, exclude=provider_id)
            if others:
                raise NotFound(f"{exc.detail}; served as {', '.join(repr(r) for r in others)}") from None
        raise
    config = registry.provider_config(provider_id)
    if config is None:
        raise Unavailable(f"Provider '{provider_id}' is not configured on this gateway (set its base URL)")
    key = byok_key or config.api_key
    if not key:
        raise Unavailable(
            f"Provider '{provider_id}' has no API key configured: set {provider_id.upper()}_API_KEY "
            "or pass byok_api_key"
        )
    return Route(provider_id, entry["modelName"], entry, config, key, byok=bool(byok_key))
