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
    # Agentic options, in the OpenAI chat-completions shape (the gateway's internal form); each adapter
    # translates them into its wire format's native fields, or refuses them before any call.
    tools: list[dict[str, Any]] | None = None  # [{"type": "function", "function": {name, description, parameters}}]
    tool_choice: Any = None  # "auto" | "none" | "required" | {"type": "function", "function": {"name"}}
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None  # {"type": "json_object"} | {"type": "json_schema", ...}
    stop: list[str] | None = None
    seed: int | None = None
    reasoning_effort: str | None = None  # "low" | "medium" | "high"
    extra: dict[str, Any] = field(default_factory=dict)  # other additional_params, passed through


@dataclass
class TokenCounts:
    """Usage as the provider reported it."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass
class ToolCall:
    """One function call the model asked for; `arguments` is the JSON text exactly as the model wrote it."""

    id: str  # the call id the provider gave (or one the adapter made up when the provider gives none)
    name: str
    arguments: str


@dataclass
class ChatResult:
    """A whole (non-streamed) chat answer."""

    text: str
    finish_reason: str  # "stop", "length", "content_filter", "tool_calls", ...
    usage: TokenCounts | None  # None when the provider reported none
    reasoning: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)  # in the order the model made them


@dataclass
class Delta:
    """One streamed piece of output."""

    kind: Literal["text", "reasoning"]
    text: str


@dataclass
class ToolCallDelta:
    """One streamed piece of a tool call. `index` numbers the calls of one answer from 0; the first delta of
    a call carries its `id` and `name`, later ones only more `arguments` text (which concatenates exactly)."""

    index: int
    arguments: str = ""
    id: str | None = None
    name: str | None = None


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
