"""The ONE table of upstream providers and the ONE map from wire format to adapter.

`PROVIDERS`: each provider speaks one wire format and has a default base URL; adding an OpenAI-compatible
provider is one row here plus one catalog file. The operator's key and an optional base-URL override come from
`<ID>_API_KEY` / `<ID>_BASE_URL`.

`ADAPTERS`: each wire format's implementation of each capability (chat, embeddings, images, speech,
transcription, video), following the Protocols in `server.providers.base`; `capability()` is the one place an
unsupported capability is refused. Adapters never read this module (no import cycle): whatever they need to
know about a provider travels in its `ProviderConfig`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from server.errors import NotFound
from server.providers import (
    anthropic,
    google,
    google_media,
    openai_format,
    openai_images,
    openai_speech,
    openai_transcription,
    openai_video,
)
from server.providers.base import (
    ChatCapability,
    EmbeddingCapability,
    ImageCapability,
    ProviderConfig,
    SpeechCapability,
    TranscriptionCapability,
    VideoCapability,
)

OPENAI, ANTHROPIC, GOOGLE = "openai", "anthropic", "google"

Capability = Literal["chat", "embeddings", "images", "speech", "transcription", "video"]

#: How a capability is named in the error a provider without it answers.
CAPABILITY_NAMES: dict[str, str] = {
    "chat": "chat",
    "embeddings": "embeddings",
    "images": "image generation",
    "speech": "text-to-speech",
    "transcription": "speech-to-text",
    "video": "video generation",
}


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


@dataclass(frozen=True)
class Adapter:
    """One wire format's implementations; a capability the format lacks is None."""

    chat: ChatCapability | None = None
    embeddings: EmbeddingCapability | None = None
    images: ImageCapability | None = None
    speech: SpeechCapability | None = None
    transcription: TranscriptionCapability | None = None
    video: VideoCapability | None = None


ADAPTERS: dict[str, Adapter] = {
    OPENAI: Adapter(
        chat=openai_format,
        embeddings=openai_format,
        images=openai_images,
        speech=openai_speech,
        transcription=openai_transcription,
        video=openai_video,
    ),
    ANTHROPIC: Adapter(chat=anthropic),
    GOOGLE: Adapter(chat=google, embeddings=google, images=google_media, video=google_media),
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
    return ProviderConfig(
        id=provider_id,
        wire_format=spec.wire_format,
        base_url=base_url.rstrip("/"),
        api_key=api_key,
        stream_usage_option=spec.stream_usage_option,
    )


def has_capability(cfg: ProviderConfig, name: Capability) -> bool:
    adapter = ADAPTERS.get(cfg.wire_format)
    return adapter is not None and getattr(adapter, name) is not None


def capability(cfg: ProviderConfig, name: Capability) -> Any:
    """The implementation of one capability for the provider's wire format, or 404 naming both."""
    adapter = ADAPTERS.get(cfg.wire_format)
    impl = getattr(adapter, name) if adapter is not None else None
    if impl is None:
        raise NotFound(f"Provider '{cfg.id}' does not offer {CAPABILITY_NAMES[name]}")
    return impl
