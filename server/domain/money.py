"""Money is stored as integer nano-USD: exact sums, no float drift, same on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NANOS_PER_USD = 1_000_000_000


def usd_to_nanos(usd: float | Decimal | str) -> int:
    return int((Decimal(str(usd)) * NANOS_PER_USD).to_integral_value(rounding=ROUND_HALF_UP))


def nanos_to_usd(nanos: int) -> float:
    """The nearest float to the exact USD amount (Python's int / int is correctly rounded, like the Decimal
    quotient converted to float, at a fraction of its cost)."""
    return nanos / NANOS_PER_USD
