"""What a request costs, in integer nano-USD (1 USD = 1_000_000_000 nano-USD), from a catalog model entry.

Why integers: the ledger stores money as integer nano-USD so that sums are exact and identical on SQLite
and PostgreSQL. A float cost (0.15 / 1e6 * 1000 ...) accumulates binary rounding error over millions of
requests, and two replicas could even round one request differently. So every function here computes the
exact rational cost from the catalog's decimal prices (each JSON number is read through its shortest
decimal text, e.g. 0.15 -> Decimal("0.15"), never through the binary float value), sums all components
exactly, and rounds ONCE, up, to the next whole nano-USD: a request is never billed less than it cost, and
by less than one nano-USD more.

Catalog price fields (USD) used here:
- tokens: `inputPricePer1MTokens`, `outputPricePer1MTokens`, optional `cachedInputPricePer1MTokens`
  (cache reads) and `cacheWritePricePer1MTokens` (cache writes: Anthropic, OpenAI GPT-6), optional
  `priceTiers` [{`aboveInputTokens`, `inputMultiplier`, `outputMultiplier`}]: once a request's input exceeds
  a tier's threshold, EVERY token of that request is billed at the multiplied prices (how OpenAI bills
  prompts over 272K, Google/Anthropic/xAI over 200K, Claude Haiku 5.5 over 100K); the input multiplier
  applies to input, cached-input and cache-write prices. Reasoning tokens are output tokens;
- images: `pricePerImage` (default), optional `imagePrices` {size: price} or {size: {quality: price}},
  optional `defaultImageQuality`;
- text-to-speech: `pricePer1MCharacters`;
- audio in: `pricePerMinute` or `pricePerHour`, optional `minimumBilledSeconds`;
- video: `pricePerSecond`, optional `pricesPerSecondBySize` {size: price}.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from server.domain.money import NANOS_PER_USD, nanos_to_usd, usd_to_nanos

__all__ = [
    "NANOS_PER_USD",
    "PricingError",
    "characters_cost_nanos",
    "image_cost_nanos",
    "image_price_usd",
    "max_token_cost_nanos",
    "minutes_cost_nanos",
    "nanos_to_usd",
    "price_tier",
    "seconds_cost_nanos",
    "token_cost_nanos",
    "usd_to_nanos",
]

_MILLION = 1_000_000


class PricingError(ValueError):
    """The model entry has no price for what was used (a catalog gap): never bill such usage as free."""


# Prices are read as scaled integers: (n, k) stands for n / 10**k exactly. Every catalog number is a finite
# decimal, so this is as exact as a Fraction, and a request's token cost is a few integer products instead of
# a dozen Fraction operations (each with a gcd): it runs twice per chat request.
Scaled = tuple[int, int]


@lru_cache(maxsize=4096)
def _scaled(value: int | float | str | Decimal) -> Scaled:
    """A catalog number through its shortest decimal text as (n, k), value == n / 10**k."""
    sign, digits, exponent = Decimal(str(value)).as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite number: {value!r}")
    n = int("".join(map(str, digits)))
    n = -n if sign else n
    return (n * 10**exponent, 0) if exponent >= 0 else (n, -exponent)


def _checked(value: Any, field: str, entry: Mapping[str, Any]) -> Scaled:
    """A catalog price as a scaled integer; bools, non-numbers and negatives are rejected."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PricingError(f"model '{entry.get('modelName')}': price '{field}' is not a number")
    try:
        scaled = _scaled(value)
    except (ArithmeticError, ValueError):  # "abc", inf, nan
        raise PricingError(f"model '{entry.get('modelName')}': price '{field}' is not a number") from None
    if scaled[0] < 0:
        raise PricingError(f"model '{entry.get('modelName')}': price '{field}' is negative")
    return scaled


def _usd(value: Any, field: str, entry: Mapping[str, Any]) -> Fraction:
    """A catalog price as an exact fraction of a USD."""
    n, k = _checked(value, field, entry)
    return Fraction(n, 10**k)


def _rate(entry: Mapping[str, Any], field: str, *, fallback: str | None = None) -> Scaled:
    """The price `field` (else `fallback`) of the entry as a scaled integer; missing: PricingError."""
    if entry.get(field) is not None:
        return _checked(entry[field], field, entry)
    if fallback is not None and entry.get(fallback) is not None:
        return _checked(entry[fallback], fallback, entry)
    raise PricingError(f"model '{entry.get('modelName')}' has no '{field}'")


def _price(entry: Mapping[str, Any], field: str, *, fallback: str | None = None) -> Fraction:
    n, k = _rate(entry, field, fallback=fallback)
    return Fraction(n, 10**k)


def _count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _amount(value: float | int, name: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    exact = Fraction(Decimal(str(value)))
    if exact < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return exact


def _to_nanos(usd: Fraction) -> int:
    """Round an exact USD amount up to whole nano-USD."""
    return math.ceil(usd * NANOS_PER_USD)


def _tier(model_entry: Mapping[str, Any], input_tokens: int) -> Mapping[str, Any] | None:
    """The highest tier of `priceTiers` whose `aboveInputTokens` the input exceeds (the schema keeps them
    ascending), else None."""
    chosen = None
    for tier in model_entry.get("priceTiers") or ():
        if input_tokens > tier["aboveInputTokens"]:
            chosen = tier
    return chosen


def price_tier(model_entry: Mapping[str, Any], input_tokens: int) -> tuple[Fraction, Fraction]:
    """(input multiplier, output multiplier) for a request with `input_tokens` in total, else (1, 1)."""
    tier = _tier(model_entry, input_tokens)
    if tier is None:
        return Fraction(1), Fraction(1)
    return (
        _usd(tier["inputMultiplier"], "priceTiers.inputMultiplier", model_entry),
        _usd(tier["outputMultiplier"], "priceTiers.outputMultiplier", model_entry),
    )


def _plus(a: Scaled, b: Scaled) -> Scaled:
    (an, ak), (bn, bk) = a, b
    if ak == bk:
        return an + bn, ak
    if ak > bk:
        return an + bn * 10 ** (ak - bk), ak
    return an * 10 ** (bk - ak) + bn, bk


def _times(tokens: int, price: Scaled) -> Scaled:
    return tokens * price[0], price[1]


def _product(a: Scaled, b: Scaled) -> Scaled:
    return a[0] * b[0], a[1] + b[1]


def token_cost_nanos(
    model_entry: Mapping[str, Any],
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    *,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> int:
    """Cost of a token-priced request.

    `input_tokens` is ALL input tokens, the cached ones included (OpenAI's `prompt_tokens`, Gemini's
    `promptTokenCount`); `cached_tokens` (cache reads) and `cache_write_tokens` are parts of it. For
    Anthropic pass input_tokens = input_tokens + cache_read_input_tokens + cache_creation_input_tokens.
    Cached tokens are billed at `cachedInputPricePer1MTokens` when the model has one, else at the input
    price; cache writes at `cacheWritePricePer1MTokens`, else the input price. `reasoning_tokens` are a part
    of `output_tokens` (every provider counts them in its output) and cost the output price. The tier of
    `priceTiers` the whole input lands in multiplies every price. A component with tokens but no price
    raises PricingError.
    """
    input_tokens = _count(input_tokens, "input_tokens")
    output_tokens = _count(output_tokens, "output_tokens")
    cached_tokens = _count(cached_tokens, "cached_tokens")
    cache_write_tokens = _count(cache_write_tokens, "cache_write_tokens")
    reasoning_tokens = _count(reasoning_tokens, "reasoning_tokens")
    if cached_tokens + cache_write_tokens > input_tokens:
        raise ValueError("cached_tokens + cache_write_tokens cannot exceed input_tokens (they are part of it)")
    if reasoning_tokens > output_tokens:
        raise ValueError("reasoning_tokens cannot exceed output_tokens (they are part of it)")

    plain = input_tokens - cached_tokens - cache_write_tokens
    total_in: Scaled = (0, 0)
    if plain:
        total_in = _times(plain, _rate(model_entry, "inputPricePer1MTokens"))
    if cached_tokens:
        price = _rate(model_entry, "cachedInputPricePer1MTokens", fallback="inputPricePer1MTokens")
        total_in = _plus(total_in, _times(cached_tokens, price))
    if cache_write_tokens:
        price = _rate(model_entry, "cacheWritePricePer1MTokens", fallback="inputPricePer1MTokens")
        total_in = _plus(total_in, _times(cache_write_tokens, price))
    total_out = _times(output_tokens, _rate(model_entry, "outputPricePer1MTokens")) if output_tokens else (0, 0)
    tier = _tier(model_entry, input_tokens) if model_entry.get("priceTiers") else None
    if tier is not None:
        total_in = _product(total_in, _checked(tier["inputMultiplier"], "priceTiers.inputMultiplier", model_entry))
        total_out = _product(total_out, _checked(tier["outputMultiplier"], "priceTiers.outputMultiplier", model_entry))
    n, k = _plus(total_in, total_out)  # USD per million tokens
    return -(-n * (NANOS_PER_USD // _MILLION) // 10**k)  # rounded up to whole nano-USD


def max_token_cost_nanos(model_entry: Mapping[str, Any], input_tokens: int, output_tokens: int) -> int:
    """The most a request of at most `input_tokens` in and `output_tokens` out can cost: what a reservation
    holds. Every input token at the dearest input rate the model has (a cache write costs more than plain
    input), in the tier `input_tokens` lands in (tiers only rise with input, so fewer tokens cost less)."""
    input_tokens = _count(input_tokens, "input_tokens")
    output_tokens = _count(output_tokens, "output_tokens")
    dearer_writes = False
    if model_entry.get("cacheWritePricePer1MTokens") is not None and input_tokens:
        (wn, wk), (pn, pk) = (
            _rate(model_entry, "cacheWritePricePer1MTokens"),
            _rate(model_entry, "inputPricePer1MTokens"),
        )
        dearer_writes = wn * 10**pk > pn * 10**wk
    return token_cost_nanos(
        model_entry, input_tokens, output_tokens, cache_write_tokens=input_tokens if dearer_writes else 0
    )


def _price_of_size(value: Any, quality: str | None, default_quality: Any, entry: Mapping[str, Any]) -> Fraction:
    if not isinstance(value, Mapping):
        return _usd(value, "imagePrices", entry)
    for q in (quality, default_quality):
        if isinstance(q, str) and value.get(q) is not None:
            return _usd(value[q], f"imagePrices.{q}", entry)
    # Unknown or unset quality for this size: the dearest quality, never an under-charge.
    return max(_usd(v, "imagePrices", entry) for v in value.values())


def image_price_usd(model_entry: Mapping[str, Any], size: str | None = None, quality: str | None = None) -> Fraction:
    """Exact USD price of ONE image: `imagePrices[size][quality]` (or `[size]`), else `pricePerImage`.

    With a known size but an unknown/unset quality: `defaultImageQuality`, else the dearest quality of that
    size. With an unknown size: `pricePerImage`, else the dearest listed price.
    """
    table = model_entry.get("imagePrices")
    default_quality = model_entry.get("defaultImageQuality")
    if isinstance(table, Mapping) and table:
        if size is not None and size in table:
            return _price_of_size(table[size], quality, default_quality, model_entry)
        if model_entry.get("pricePerImage") is None:
            return max(_price_of_size(v, quality, default_quality, model_entry) for v in table.values())
    return _price(model_entry, "pricePerImage")


def image_cost_nanos(
    model_entry: Mapping[str, Any], n: int, size: str | None = None, quality: str | None = None
) -> int:
    """Cost of `n` generated images of one size and quality."""
    n = _count(n, "n")
    if n == 0:
        return 0
    return _to_nanos(n * image_price_usd(model_entry, size, quality))


def characters_cost_nanos(entry: Mapping[str, Any], chars: int) -> int:
    """Text-to-speech billed per input character (`pricePer1MCharacters`)."""
    chars = _count(chars, "chars")
    if chars == 0:
        return 0
    return _to_nanos(chars * _price(entry, "pricePer1MCharacters") / _MILLION)


def minutes_cost_nanos(entry: Mapping[str, Any], seconds: float) -> int:
    """Audio priced per minute (or per hour), billed for the exact duration, not whole minutes.

    `seconds` is the audio duration; `minimumBilledSeconds` (e.g. Groq's 10 s) raises short clips to it.
    """
    duration = _amount(seconds, "seconds")
    if duration == 0:
        return 0
    minimum = entry.get("minimumBilledSeconds")
    if minimum is not None:
        duration = max(duration, _amount(minimum, "minimumBilledSeconds"))
    if entry.get("pricePerMinute") is not None:
        per_second = _price(entry, "pricePerMinute") / 60
    else:
        per_second = _price(entry, "pricePerHour") / 3600
    return _to_nanos(duration * per_second)


def seconds_cost_nanos(entry: Mapping[str, Any], seconds: float, size: str | None = None) -> int:
    """Video priced per generated second; `pricesPerSecondBySize[size]` when listed, else `pricePerSecond`."""
    duration = _amount(seconds, "seconds")
    if duration == 0:
        return 0
    by_size = entry.get("pricesPerSecondBySize")
    if size is not None and isinstance(by_size, Mapping) and by_size.get(size) is not None:
        per_second = _usd(by_size[size], f"pricesPerSecondBySize.{size}", entry)
    else:
        per_second = _price(entry, "pricePerSecond")
    return _to_nanos(duration * per_second)
