"""Provider-neutral types that every adapter speaks: our side of the pure translation functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class ProviderConfig:
    """Where and how to reach one provider: from `<PROVIDER>_API_KEY` / `<PROVIDER>_BASE_URL`."""

    id: str  # "openai", "anthropic", ...
    wire_format: str  # "openai", "anthropic" or "google"
    base_url: str  # OpenAI format: includes the version path; anthropic/google: the host only
    api_key: str | None  # the operator's key; None when not configured


@dataclass
class ChatParams:
    """A chat call with the model id as the provider knows it (no "provider/" prefix)."""

    model: str
    messages: list[dict[str, Any]]  # [{"role": ..., "content": str | list}]
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # additional_params, passed through


@dataclass
class TokenCounts:
    """Usage as the provider reported it."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass
class ChatResult:
    """A whole (non-streamed) chat answer."""

    text: str
    finish_reason: str  # "stop", "length", "content_filter", "tool_calls", ...
    usage: TokenCounts | None  # None when the provider reported none
    reasoning: str = ""


@dataclass
class Delta:
    """One streamed piece of output."""

    kind: Literal["text", "reasoning"]
    text: str


@dataclass
class StreamEnd:
    """The last item of a stream: why it ended and the usage, when the provider reported it."""

    finish_reason: str
    usage: TokenCounts | None


@dataclass
class EmbeddingResult:
    """One vector per input, in input order."""

    vectors: list[list[float]]
    usage: TokenCounts | None
