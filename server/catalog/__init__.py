"""Provider/model catalog (shipped JSON + HUB_CATALOG_DIR overrides) and exact nano-USD pricing."""

from server.catalog.catalog import (
    CATEGORIES,
    Catalog,
    CatalogError,
    load_catalog,
    model_keys,
    split_model_ref,
)
from server.catalog.pricing import (
    PricingError,
    characters_cost_nanos,
    image_cost_nanos,
    image_price_usd,
    max_token_cost_nanos,
    minutes_cost_nanos,
    nanos_to_usd,
    price_tier,
    seconds_cost_nanos,
    token_cost_nanos,
    usd_to_nanos,
)

__all__ = [
    "CATEGORIES",
    "Catalog",
    "CatalogError",
    "PricingError",
    "characters_cost_nanos",
    "image_cost_nanos",
    "image_price_usd",
    "load_catalog",
    "max_token_cost_nanos",
    "minutes_cost_nanos",
    "model_keys",
    "nanos_to_usd",
    "price_tier",
    "seconds_cost_nanos",
    "split_model_ref",
    "token_cost_nanos",
    "usd_to_nanos",
]
