# ruff: noqa: N815  (the field names are the catalog JSON's own camelCase keys)
"""The one schema every catalog file is validated against at start-up (pydantic, strict).

Why strict and closed: a catalog entry decides what a request costs and which upstream features the gateway
may use. A typo ("supportTools"), a price written as a string or a flag as "yes" must stop the server with
the file, the model and the field named, never fall back to a default. So every field is declared here,
unknown fields are errors, and JSON types are not coerced (except an integer where a price may be fractional).

The models only validate; the loader keeps the JSON objects as they are (the Models endpoints answer them).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator

#: The reasoning_effort values a text model may accept (what `reasoningEfforts` lists).
REASONING_EFFORTS = ("low", "medium", "high")
#: The upstream endpoints an OpenAI-format text model may need (`upstreamApi`).
UPSTREAM_APIS = ("chat_completions", "responses")
#: The capability flags every text_completions entry states; the agentic chat path relies on them.
CAPABILITY_FLAGS = (
    "supportsTools",
    "supportsVision",
    "supportsPdf",
    "supportsJsonSchema",
    "reasoningEfforts",
    "upstreamApi",
)

Price = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # USD; ints allowed, bools are not
PositiveInt = Annotated[StrictInt, Field(gt=0)]
NonEmpty = Annotated[str, Field(min_length=1, strict=True)]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date(value: Any) -> Any:
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    dt.date.fromisoformat(value)  # a real calendar date
    return value


def _source(value: Any) -> Any:
    if value == "estimate" or (isinstance(value, str) and value.startswith("https://")):
        return value
    raise ValueError("must be the https:// page the value was taken from, or 'estimate'")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PriceTier(_Closed):
    """Whole-request multipliers once the prompt exceeds a size (OpenAI over 272K, Gemini/Claude over 200K)."""

    aboveInputTokens: PositiveInt
    inputMultiplier: Price  # input, cached-input and cache-write prices
    outputMultiplier: Price


class ModelEntry(_Closed):
    """Fields every category shares: identity, lifecycle, provenance."""

    modelName: NonEmpty
    id: NonEmpty | None = None
    name: NonEmpty | None = None
    type: NonEmpty | None = None
    description: str | None = None
    aliases: list[NonEmpty] = []
    is_disabled: StrictBool = False
    status: Literal["active", "deprecated", "retired"] | None = None
    shutdownDate: str | None = None
    replacement: NonEmpty | None = None
    priceSource: str | None = None
    specSource: str | None = None
    pricingNote: str | None = None

    @field_validator("shutdownDate")
    @classmethod
    def _dates(cls, v: Any) -> Any:
        return v if v is None else _date(v)

    @field_validator("priceSource", "specSource")
    @classmethod
    def _sources(cls, v: Any) -> Any:
        return v if v is None else _source(v)


class TokenPriced(ModelEntry):
    inputPricePer1MTokens: Price | None = None
    cachedInputPricePer1MTokens: Price | None = None
    outputPricePer1MTokens: Price | None = None


class TextModel(TokenPriced):
    contextWindow: PositiveInt
    maxOutputTokens: PositiveInt | None = None
    cacheWritePricePer1MTokens: Price | None = None
    longContextPricing: dict[str, Any] | None = None
    supportsTools: StrictBool
    supportsVision: StrictBool
    supportsPdf: StrictBool
    supportsJsonSchema: StrictBool
    reasoningEfforts: list[Literal["low", "medium", "high"]]
    upstreamApi: Literal["chat_completions", "responses"]

    @field_validator("reasoningEfforts")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("lists a value twice")
        return v


class EmbeddingModel(TokenPriced):
    contextWindow: PositiveInt
    dimensions: PositiveInt | None = None


class ImageModel(TokenPriced):
    pricePerImage: Price | None = None
    defaultImageQuality: NonEmpty | None = None
    imagePrices: dict[str, Price | dict[str, Price]] | None = None
    imageInputPricePer1MTokens: Price | None = None
    imageOutputPricePer1MTokens: Price | None = None


class SpeechModel(TokenPriced):
    pricePer1MCharacters: Price | None = None
    pricePerMinute: Price | None = None


class TranscriptionModel(TokenPriced):
    pricePerMinute: Price | None = None
    pricePerHour: Price | None = None
    minimumBilledSeconds: Price | None = None
    audioInputPricePer1MTokens: Price | None = None


class VideoModel(ModelEntry):
    pricePerSecond: Price | None = None
    pricesPerSecondBySize: dict[str, Price] | None = None


MODEL_SCHEMAS: dict[str, type[ModelEntry]] = {
    "text_completions": TextModel,
    "embeddings": EmbeddingModel,
    "image_generation": ImageModel,
    "text_to_speech": SpeechModel,
    "speech_to_text": TranscriptionModel,
    "video_generation": VideoModel,
}


class ProviderFields(_Closed):
    """A provider's own fields (its six model lists are validated entry by entry)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: NonEmpty
    name: NonEmpty | None = None
    description: str | None = None
    website: str | None = None
    apiBaseUrl: str | None = None
    pricingUrl: str | None = None
    pricesCheckedAt: str | None = None

    @field_validator("id")
    @classmethod
    def _no_slash(cls, v: str) -> str:
        if "/" in v:
            raise ValueError("must not contain '/' (models are named provider/model)")
        return v

    @field_validator("pricesCheckedAt")
    @classmethod
    def _checked(cls, v: Any) -> Any:
        return v if v is None else _date(v)


def _describe(err: ValidationError) -> str:
    """The first error as `field 'a.b': message` (pydantic's location, without its own noise)."""
    first = err.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown field (a typo? the fields are declared in server/catalog/schema.py)"
    elif first["type"] == "missing":
        msg = "is required"
    return f"field '{loc}': {msg}" if loc else msg


def provider_problem(provider: dict[str, Any]) -> str | None:
    """What is wrong with a provider's own fields, or None."""
    fields = {k: v for k, v in provider.items() if k not in MODEL_SCHEMAS}
    try:
        ProviderFields.model_validate(fields)
    except ValidationError as err:
        return _describe(err)
    return None


def model_problem(category: str, entry: dict[str, Any]) -> str | None:
    """What is wrong with one model entry of `category`, or None (the message names the field)."""
    try:
        MODEL_SCHEMAS[category].model_validate(entry)
    except ValidationError as err:
        return _describe(err)
    if entry.get("type") is not None and entry["type"] != category:
        return f"field 'type': is '{entry['type']}' in the {category} list"
    return None
