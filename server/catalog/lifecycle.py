"""A model's lifecycle by date: what its status is on a given day, and why it can no longer be called.

Providers announce a deprecation date and a retirement date; from the retirement date on (00:00 UTC) the
provider refuses the model, so the gateway does too, without anyone editing a file that day. The catalog
stores the dates; this module turns them into the `status` and `is_disabled` the Models endpoints show
and the 404 an inference request gets.

`is_disabled` written in a file is the operator's decision and wins over the dates: `true` switches a model
off, `false` keeps serving it past its retirement date (a provider that extended it, a proxy that still has
it). Left out, which is how the shipped catalog is written, the model is disabled exactly when it is retired.
A stored `status` of "deprecated"/"retired" (for a model retired on an unknown date) is a floor: dates can
only move a model forward in its life, never back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

_ORDER = {"active": 0, "deprecated": 1, "retired": 2}


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _reached(value: Any, today: dt.date) -> bool:
    return isinstance(value, str) and dt.date.fromisoformat(value) <= today


def status_on(entry: Mapping[str, Any], today: dt.date) -> str:
    """ "active", "deprecated" or "retired" on `today`."""
    by_date = "active"
    if _reached(entry.get("retirement_date"), today):
        by_date = "retired"
    elif _reached(entry.get("deprecation_date"), today):
        by_date = "deprecated"
    stored = entry.get("status") or "active"
    return max(by_date, stored, key=_ORDER.__getitem__)


def price_change_on(entry: Mapping[str, Any], today: dt.date) -> Mapping[str, Any] | None:
    """The latest of the entry's `priceChanges` in effect on `today` (they are in date order), or None."""
    current = None
    for change in entry.get("priceChanges") or ():
        if _reached(change["effectiveFrom"], today):
            current = change
    return current


def prices_on(entry: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """The token prices that replace the entry's own on `today` (empty before its first price change):
    a provider announcing "$0.75 through December 31, $1.50 from January 1" is one entry, right both days."""
    change = price_change_on(entry, today)
    return {k: v for k, v in change.items() if k != "effectiveFrom"} if change else {}


def with_lifecycle(entry: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """`entry` (a fresh copy the caller owns) with its prices, `status` and `is_disabled` as of `today`."""
    entry.update(prices_on(entry, today))
    status = status_on(entry, today)
    entry["status"] = status
    entry["is_disabled"] = entry["is_disabled"] if isinstance(entry.get("is_disabled"), bool) else status == "retired"
    return entry


def unavailable_reason(entry: Mapping[str, Any], today: dt.date) -> str | None:
    """Why the model cannot be called today ("retired on 2026-10-23", "disabled"), or None."""
    if entry.get("is_disabled") is False:  # the operator keeps it on
        return None
    if status_on(entry, today) == "retired":
        when = entry.get("retirement_date")
        reason = f"retired on {when}" if when and _reached(when, today) else "retired by the provider"
    elif entry.get("is_disabled"):
        reason = "disabled"
    else:
        return None
    return reason
