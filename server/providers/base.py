"""Provider-neutral types that every adapter speaks: our side of the pure translation functions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class ProviderConfig:
    """Where and how to reach one provider: from `<PROVIDER>_API_KEY` / `<PROVIDER>_BASE_URL`."""

    id: str  # "openai", "anthropic", ...
    wire_format: str  # "openai", "anthropic" or "google"
    base_url: str  # OpenAI format: includes the version path; anthropic/google: the host only
    api_key: str | None  # the operator's key; None when not configured
    # OpenAI format only: ask for usage in streams with `stream_options` (Mistral rejects it with 422 and
    # always reports usage anyway).
    stream_usage_option: bool = True


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
    # The most output tokens the reservation covers: what an API that requires a limit (Anthropic) is sent
    # when the caller gave no max_tokens.
    output_limit: int | None = None
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
    cache_write_tokens: int = 0  # part of input_tokens, like cached_tokens (billed at the cache-write rate)


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


# ---------------------------------------------------------------------------------------------- the contract
# One wire format's adapter is a set of capability implementations (modules or objects with these
# functions); `server.providers.registry` maps each wire format to them. `byok` says whether `api_key` is the
# caller's own key (then a rejected key is the caller's problem, and the call is free).

StreamItem = Delta | ToolCallDelta | StreamEnd


class ChatCapability(Protocol):
    async def chat(
        self, client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
    ) -> ChatResult: ...

    def stream_chat(
        self, client: httpx.AsyncClient, cfg: ProviderConfig, params: ChatParams, api_key: str, *, byok: bool
    ) -> AsyncIterator[StreamItem]: ...


class EmbeddingCapability(Protocol):
    async def embed(
        self,
        client: httpx.AsyncClient,
        cfg: ProviderConfig,
        model: str,
        texts: list[str],
        api_key: str,
        extra: dict[str, Any],
        *,
        byok: bool,
    ) -> EmbeddingResult: ...


# ---------------------------------------------------------------------------------------------- media types
# What the media adapters of every wire format speak: each `prepare_*` function validates the caller's
# fields for one provider and model and returns one of these calls; the async functions return the results.


@dataclass
class ImageCall:
    """A validated image request: `body` for the provider; `calls` requests of `per_call` images each."""

    model: str
    body: dict[str, Any]
    n: int
    # What the catalog prices by: size (or imageSize / resolution) and quality. None: the provider decides
    # ("auto"), so the dearest listed option is reserved.
    price_size: str | None = None
    price_quality: str | None = None
    calls: int = 1


@dataclass
class GeneratedImage:
    b64_json: str | None = None
    url: str | None = None
    revised_prompt: str | None = None
    mime_type: str | None = None
    size: str | None = None  # as the provider reports it made the image (GPT Image does)
    quality: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.url is not None:
            out["url"] = self.url
        if self.b64_json is not None:
            out["b64_json"] = self.b64_json
        if self.mime_type:
            out["content_type"] = self.mime_type
        if self.revised_prompt:
            out["revised_prompt"] = self.revised_prompt
        return out


@dataclass
class SpeechCall:
    body: dict[str, Any]
    response_format: str


@dataclass
class Speech:
    audio: bytes
    content_type: str
    response_format: str


@dataclass
class TranscriptionCall:
    """Form fields for the provider (`fields` as (name, value) pairs: names may repeat)."""

    kind: str  # "transcriptions" | "translations"
    fields: list[tuple[str, str]]
    response_format: str


@dataclass
class Transcript:
    text: str
    response_format: str
    data: dict[str, Any] | None  # the JSON answer (json / verbose_json), None for text / srt / vtt
    seconds: float | None  # the audio duration, when the provider told it


@dataclass
class VideoCall:
    model: str
    body: dict[str, Any]
    seconds: int  # per video
    n: int
    price_size: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)  # small, storable description of the request


@dataclass
class VideoAsset:
    url: str
    content_type: str = "video/mp4"
    file_size: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "content_type": self.content_type, "file_size": self.file_size}


@dataclass
class VideoPoll:
    """A provider job's state in our words: queued | processing | completed | failed | cancelled."""

    status: str
    progress: int | None = None
    error: str | None = None
    assets: list[VideoAsset] = field(default_factory=list)
    seconds: float | None = None  # per video, when the provider reports it


class ImageCapability(Protocol):
    def prepare_images(
        self, provider: str, model: str, prompt: str, n: int, fields: Mapping[str, Any], extra: dict[str, Any]
    ) -> ImageCall: ...

    async def generate_images(
        self, client: httpx.AsyncClient, cfg: ProviderConfig, call: ImageCall, api_key: str, *, byok: bool
    ) -> list[GeneratedImage]: ...


class SpeechCapability(Protocol):
    def prepare_speech(self, model: str, text: str, fields: Mapping[str, Any], extra: dict[str, Any]) -> SpeechCall: ...

    async def speech(
        self, client: httpx.AsyncClient, cfg: ProviderConfig, call: SpeechCall, api_key: str, *, byok: bool
    ) -> Speech: ...


class TranscriptionCapability(Protocol):
    def prepare_transcription(self, model: str, kind: str, fields: Mapping[str, Any]) -> TranscriptionCall: ...

    async def transcribe(
        self,
        client: httpx.AsyncClient,
        cfg: ProviderConfig,
        call: TranscriptionCall,
        upload: tuple[str, bytes, str],
        api_key: str,
        *,
        byok: bool,
    ) -> Transcript: ...


class VideoCapability(Protocol):
    def prepare_video(
        self, provider: str, model: str, prompt: str, fields: Mapping[str, Any], extra: dict[str, Any]
    ) -> VideoCall: ...

    async def submit_video(
        self, client: httpx.AsyncClient, cfg: ProviderConfig, call: VideoCall, api_key: str, *, byok: bool
    ) -> tuple[str, VideoPoll]: ...

    async def poll_video(
        self, client: httpx.AsyncClient, cfg: ProviderConfig, job_id: str, api_key: str, *, byok: bool
    ) -> VideoPoll: ...

    async def cancel_video(
        self, client: httpx.AsyncClient, cfg: ProviderConfig, job_id: str, api_key: str, *, byok: bool
    ) -> bool: ...
