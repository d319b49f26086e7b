"""The ONE table of upstream providers: adding a provider is one entry in `PROVIDERS`.

Each provider speaks one wire format (the adapter module that talks to it) and has a default base URL.
The operator's key and an optional base-URL override come from `<ID>_API_KEY` / `<ID>_BASE_URL`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

from server.providers.base import ProviderConfig

OPENAI, ANTHROPIC, GOOGLE = "openai", "anthropic", "google"


@dataclass(frozen=True)
class ProviderSpec:
    wire_format: str
    default_base_url: str | None  # None: usable only when <ID>_BASE_URL is set
    # OpenAI format only: ask for usage in streams with `stream_options` (Mistral rejects it with 422 and
    # always reports usage anyway).
    stream_usage_option: bool = True


PROVIDERS: dict[str, ProviderSpec] = {
    "openai": ProviderSpec(OPENAI, "https://api.openai.com/v1"),
    "mistral": ProviderSpec(OPENAI, "https://api.mistral.ai/v1", stream_usage_option=False),
    "deepseek": ProviderSpec(OPENAI, "https://api.deepseek.com"),
    "xai": ProviderSpec(OPENAI, "https://api.x.ai/v1"),
    "groq": ProviderSpec(OPENAI, "https://api.groq.com/openai/v1"),
    "local": ProviderSpec(OPENAI, None),  # any OpenAI-compatible server (vLLM, Ollama, llama.cpp, ...)
    "anthropic": ProviderSpec(ANTHROPIC, "https://api.anthropic.com"),  # host only: adapter adds /v1/messages
    "google": ProviderSpec(GOOGLE, "https://generativelanguage.googleapis.com"),  # host only: adds /v1beta/...
}

# Imported on first use, so adapters may read the registry without an import cycle.
_ADAPTERS = {
    OPENAI: "server.providers.openai_format",
    ANTHROPIC: "server.providers.anthropic",
    GOOGLE: "server.providers.google",
}


def known_providers() -> tuple[str, ...]:
    """All provider ids, in registry order."""
    return tuple(PROVIDERS)


def provider_config(provider_id: str, env: Mapping[str, str] = os.environ) -> ProviderConfig | None:
    """The provider's config from the environment; None when unknown or when it has no base URL.

    A provider without `<ID>_API_KEY` is still returned (api_key None): callers may bring their own key.
    Empty variables count as unset.
    """
    spec = PROVIDERS.get(provider_id)
    if spec is None:
        return None
    prefix = provider_id.upper()
    base_url = (env.get(f"{prefix}_BASE_URL") or "").strip() or spec.default_base_url
    if not base_url:
        return None
    api_key = (env.get(f"{prefix}_API_KEY") or "").strip() or None
    return ProviderConfig(id=provider_id, wire_format=spec.wire_format, base_url=base_url.rstrip("/"), api_key=api_key)


def adapter_for(wire_format: str) -> ModuleType:
    """The module implementing `chat`, `stream_chat` and `embed` for a wire format."""
    if wire_format not in _ADAPTERS:
        raise ValueError(f"unknown wire format {wire_format!r}")
    return importlib.import_module(_ADAPTERS[wire_format])
