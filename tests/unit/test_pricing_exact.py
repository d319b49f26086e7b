"""Token pricing in scaled integers equals the exact rational cost, rounded up once, for every shipped model."""

from __future__ import annotations

import math
import random
from decimal import Decimal
from fractions import Fraction

import pytest

from server.catalog import load_catalog, max_token_cost_nanos, token_cost_nanos
from server.catalog.pricing import PricingError
from server.domain.money import nanos_to_usd


def _q(value) -> Fraction:
    return Fraction(Decimal(str(value)))


def reference_cost(entry, input_tokens: int, output_tokens: int, cached: int = 0, writes: int = 0) -> int:
    """The docstring's rule with Fractions: each component at its price, every price times the tier's
    multiplier, summed exactly, rounded up to whole nano-USD."""
    price_in = entry.get("inputPricePer1MTokens")
    price_cached = entry.get("cachedInputPricePer1MTokens", price_in)
    price_write = entry.get("cacheWritePricePer1MTokens", price_in)
    mult_in = mult_out = Fraction(1)
    for tier in entry.get("priceTiers") or ():
        if input_tokens > tier["aboveInputTokens"]:
            mult_in, mult_out = _q(tier["inputMultiplier"]), _q(tier["outputMultiplier"])
    plain = input_tokens - cached - writes
    usd_in = Fraction(0)
    for tokens, price in ((plain, price_in), (cached, price_cached), (writes, price_write)):
        if tokens:
            usd_in += tokens * _q(price)
    usd_out = output_tokens * _q(entry["outputPricePer1MTokens"]) if output_tokens else Fraction(0)
    return math.ceil((usd_in * mult_in + usd_out * mult_out) / 1_000_000 * 1_000_000_000)


def _token_priced_models():
    catalog = load_catalog(None)
    for provider in catalog.providers():
        for entry in provider["text_completions"]:
            if entry.get("inputPricePer1MTokens") is not None and entry.get("outputPricePer1MTokens") is not None:
                yield entry


def test_integer_pricing_equals_the_exact_rational_cost_for_every_model() -> None:
    rng = random.Random(12)
    checked = 0
    for entry in _token_priced_models():
        for _ in range(40):
            input_tokens = rng.choice([0, 1, 7, 999, 100_001, 200_001, 272_001, rng.randrange(0, 2_000_000)])
            cached = rng.randrange(0, input_tokens + 1) if input_tokens and rng.random() < 0.5 else 0
            writes = rng.randrange(0, input_tokens - cached + 1) if input_tokens - cached and rng.random() < 0.3 else 0
            output_tokens = rng.choice([0, 1, 33, rng.randrange(0, 200_000)])
            if (
                cached
                and entry.get("cachedInputPricePer1MTokens") is None
                and entry.get("inputPricePer1MTokens") is None
            ):
                continue
            got = token_cost_nanos(entry, input_tokens, output_tokens, cached, cache_write_tokens=writes)
            assert got == reference_cost(entry, input_tokens, output_tokens, cached, writes), entry["modelName"]
            checked += 1
    assert checked > 500


def test_reservation_prices_every_input_token_at_the_dearer_of_input_and_cache_write() -> None:
    entry = {
        "modelName": "m",
        "inputPricePer1MTokens": 1.25,
        "cacheWritePricePer1MTokens": 1.5625,
        "outputPricePer1MTokens": 10,
    }
    assert max_token_cost_nanos(entry, 1000, 10) == reference_cost(entry, 1000, 10, writes=1000)
    cheaper = {**entry, "cacheWritePricePer1MTokens": 0.3}
    assert max_token_cost_nanos(cheaper, 1000, 10) == reference_cost(cheaper, 1000, 10)


def test_one_third_of_a_nano_is_billed_as_one() -> None:
    entry = {"modelName": "m", "inputPricePer1MTokens": "0.000333", "outputPricePer1MTokens": 0}
    assert token_cost_nanos(entry, 1, 0) == 1  # 0.333 nano-USD, rounded up


@pytest.mark.parametrize("bad", [True, "abc", -1, float("inf"), None])
def test_a_bad_price_is_a_pricing_error_never_free(bad) -> None:
    entry = {"modelName": "m", "inputPricePer1MTokens": bad, "outputPricePer1MTokens": 1}
    with pytest.raises(PricingError):
        token_cost_nanos(entry, 10, 0)


def test_nanos_to_usd_is_the_float_nearest_the_exact_amount() -> None:
    rng = random.Random(3)
    for _ in range(20_000):
        nanos = rng.choice([rng.randrange(0, 10**12), rng.randrange(-(10**18), 10**18)])
        assert nanos_to_usd(nanos) == float(Decimal(nanos) / 1_000_000_000)
