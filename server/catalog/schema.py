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
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

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


class PriceChange(_Closed):
    """New token prices from a date on (a promotion ending, an announced cut); they replace the entry's own."""

    effectiveFrom: str
    inputPricePer1MTokens: Price | None = None
    cachedInputPricePer1MTokens: Price | None = None
    cacheWritePricePer1MTokens: Price | None = None
    outputPricePer1MTokens: Price | None = None

    @field_validator("effectiveFrom")
    @classmethod
    def _date(cls, v: Any) -> Any:
        return _date(v)


class ModelEntry(_Closed):
    """Fields every category shares: identity, lifecycle, provenance."""

    modelName: NonEmpty
    id: NonEmpty | None = None
    name: NonEmpty | None = None
    type: NonEmpty | None = None
    description: str | None = None
    aliases: list[NonEmpty] = []
    # Lifecycle: `is_disabled` is the operator's switch; the dates drive `status` (see lifecycle.py).
    is_disabled: StrictBool = False
    status: Literal["active", "deprecated", "retired"] | None = None
    releaseDate: str | None = None
    deprecation_date: str | None = None
    retirement_date: str | None = None
    replacement: NonEmpty | None = None
    # Provenance: the page each fact was taken from (or "estimate") and the day it was checked.
    priceSource: str | None = None
    priceCheckedAt: str | None = None
    specSource: str | None = None
    pricingNote: str | None = None

    @field_validator("releaseDate", "deprecation_date", "retirement_date", "priceCheckedAt")
    @classmethod
    def _dates(cls, v: Any) -> Any:
        return v if v is None else _date(v)

    @field_validator("priceSource", "specSource")
    @classmethod
    def _sources(cls, v: Any) -> Any:
        return v if v is None else _source(v)

    @model_validator(mode="after")
    def _lifecycle_in_order(self) -> ModelEntry:
        if self.deprecation_date and self.retirement_date and self.deprecation_date > self.retirement_date:
            raise ValueError("field 'deprecation_date': is after 'retirement_date'")
        if self.replacement is not None and self.replacement in (self.modelName, *self.aliases):
            raise ValueError("field 'replacement': names the model itself")
        return self

    def priced(self) -> bool:
        """Whether the entry has the price its category bills by (an enabled model must)."""
        return True

    @model_validator(mode="after")
    def _enabled_models_are_priced(self) -> ModelEntry:
        if not self.is_disabled and not self.priced():
            raise ValueError(f"an enabled model needs {self.PRICE_NEEDED}; set is_disabled: true until it has one")
        return self

    PRICE_NEEDED: ClassVar[str] = "a price"


class TokenPriced(ModelEntry):
    inputPricePer1MTokens: Price | None = None
    cachedInputPricePer1MTokens: Price | None = None
    outputPricePer1MTokens: Price | None = None


class TextModel(TokenPriced):
    contextWindow: PositiveInt | None = None
    maxOutputTokens: PositiveInt | None = None
    cacheWritePricePer1MTokens: Price | None = None
    priceTiers: list[PriceTier] = []
    priceChanges: list[PriceChange] = []
    supportsTools: StrictBool
    supportsVision: StrictBool
    supportsPdf: StrictBool
    supportsJsonSchema: StrictBool
    reasoningEfforts: list[Literal["low", "medium", "high"]]
    upstreamApi: Literal["chat_completions", "responses"]
    # The operator's default fallbacks ("provider/model", tried in order when this model fails before any
    # output; a request's additional_params.fallbacks replaces them; server.domain.inference).
    fallbacks: list[NonEmpty] = []

    PRICE_NEEDED: ClassVar[str] = "'contextWindow', 'inputPricePer1MTokens' and 'outputPricePer1MTokens'"

    def priced(self) -> bool:
        return None not in (self.contextWindow, self.inputPricePer1MTokens, self.outputPricePer1MTokens)

    @field_validator("reasoningEfforts")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("lists a value twice")
        return v

    @field_validator("priceChanges")
    @classmethod
    def _in_date_order(cls, v: list[PriceChange]) -> list[PriceChange]:
        dates = [c.effectiveFrom for c in v]
        if dates != sorted(set(dates)):
            raise ValueError("changes must have distinct 'effectiveFrom' dates, in ascending order")
        return v

    @field_validator("priceTiers")
    @classmethod
    def _ascending(cls, v: list[PriceTier]) -> list[PriceTier]:
        thresholds = [t.aboveInputTokens for t in v]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("tiers must have distinct 'aboveInputTokens', in ascending order")
        return v


class EmbeddingModel(TokenPriced):
    contextWindow: PositiveInt | None = None
    dimensions: PositiveInt | None = None

    PRICE_NEEDED: ClassVar[str] = "'contextWindow' and 'inputPricePer1MTokens'"

    def priced(self) -> bool:
        return self.contextWindow is not None and self.inputPricePer1MTokens is not None


class ImageModel(TokenPriced):
    pricePerImage: Price | None = None
    defaultImageQuality: NonEmpty | None = None
    imagePrices: dict[str, Price | dict[str, Price]] | None = None
    imageInputPricePer1MTokens: Price | None = None
    imageOutputPricePer1MTokens: Price | None = None

    PRICE_NEEDED: ClassVar[str] = "'pricePerImage' or 'imagePrices'"

    def priced(self) -> bool:
        return self.pricePerImage is not None or bool(self.imagePrices)


class SpeechModel(TokenPriced):
    pricePer1MCharacters: Price | None = None
    pricePerMinute: Price | None = None

    PRICE_NEEDED: ClassVar[str] = "'pricePer1MCharacters' or 'inputPricePer1MTokens'"

    def priced(self) -> bool:
        return self.pricePer1MCharacters is not None or self.inputPricePer1MTokens is not None


class TranscriptionModel(TokenPriced):
    pricePerMinute: Price | None = None
    pricePerHour: Price | None = None
    minimumBilledSeconds: Price | None = None
    audioInputPricePer1MTokens: Price | None = None

    PRICE_NEEDED: ClassVar[str] = "'pricePerMinute' or 'pricePerHour'"

    def priced(self) -> bool:
        return self.pricePerMinute is not None or self.pricePerHour is not None


class VideoModel(ModelEntry):
    pricePerSecond: Price | None = None
    pricesPerSecondBySize: dict[str, Price] | None = None

    PRICE_NEEDED: ClassVar[str] = "'pricePerSecond'"

    def priced(self) -> bool:
        return self.pricePerSecond is not None


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
    if msg.startswith("field '"):  # a model-level check names its own field
        return msg
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
