"""GET /v1/models and /v1/models/{id}: the catalog's enabled models as OpenAI model objects, ids "provider/model"."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from server.catalog.catalog import CATEGORIES, Catalog
from server.errors import NotFound

CREATED = 0  # the catalog keeps no release dates; OpenAI's field is required, so a fixed value


def _model(provider: str, name: str) -> dict[str, Any]:
    return {"id": f"{provider}/{name}", "object": "model", "created": CREATED, "owned_by": provider}


def enabled(catalog: Catalog) -> list[dict[str, Any]]:
    """Every enabled model once (a model listed in several categories appears once), providers in catalog order."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for provider in catalog.provider_ids():
        for category in CATEGORIES:
            for entry in catalog.models_in(provider, category):
                model = _model(provider, entry["modelName"])
                if not entry.get("is_disabled") and model["id"] not in seen:
                    seen.add(model["id"])
                    out.append(model)
    return out


def listing(catalog: Catalog) -> dict[str, Any]:
    return {"object": "list", "data": enabled(catalog)}


def one(catalog: Catalog, model_id: str) -> dict[str, Any]:
    """One enabled model by "provider/model" (aliases too). The SDKs percent-encode the "/" of the id, and
    Envoy leaves a multi-segment variable encoded."""
    model_id = unquote(model_id)
    provider, _, name = model_id.partition("/")
    try:
        entry = catalog.model(provider, name) if provider in catalog.provider_ids() and name else None
    except NotFound:
        entry = None
    if entry is None or entry.get("is_disabled"):
        raise NotFound(f"The model '{model_id}' does not exist or is not available")
    return _model(provider, entry["modelName"])
