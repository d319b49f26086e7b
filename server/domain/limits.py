"""Per-key limits: requests and tokens per minute, requests in flight, a spending budget per UTC period.

The algorithm is a **sliding window log**: every request of a key with a per-minute limit leaves one row
(`key_window_events`: when it started, the tokens it reserved), and a request passes when the rows of the last
60 seconds leave room for it. Unlike fixed windows nothing doubles at a minute boundary: no 60 seconds ever see
more than the limit. Tokens are reserved at their worst case (prompt with a margin plus the maximum output)
and settled to the real usage, so parallel requests cannot overshoot. Concurrency is a counter on the key
row that always equals the key's hold rows with `slot` set; the budget is a running sum for the current
period (worst cases of requests in flight included, settled to the charge).

Everything runs as plain statements on the ledger connection inside the credit reservation's transaction
(server.domain.billing): the first statement updates the key row, which serialises the requests of one key
on every process and replica sharing the database (SQLite's write lock, PostgreSQL's row lock), and the
checks that follow read what every earlier request committed. Nothing lives in process memory. What a
request took is written on its hold row, so settling, and crash recovery of a hold, give back exactly that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from server.db.models import ApiKey, KeyWindowEvent
from server.domain.money import nanos_to_usd
from server.errors import HubError, InsufficientCredits, RateLimited, ValidationFailed

WINDOW_SECONDS = 60.0
PERIODS = ("day", "week", "month", "total")
CONCURRENCY_RETRY_SECONDS = 1  # a slot frees when some request ends; there is no better estimate

FIELDS = ("requests_per_minute", "tokens_per_minute", "max_concurrent_requests", "budget_usd", "budget_period")


@dataclass(frozen=True)
class Taken:
    """What one request took from its key's limits; stored on its hold row and given back from there."""

    slot: bool = False
    tokens: int = 0
    budget_nanos: int = 0
    period_key: str | None = None

    def hold_columns(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "limit_tokens": self.tokens,
            "budget_nanos": self.budget_nanos,
            "budget_period_key": self.period_key,
        }


NOTHING = Taken()


def period_key(period: str | None, at: datetime) -> str:
    """The UTC calendar period `at` falls in: its first day (weeks start on Monday), or "total"."""
    day = at.date()
    if period == "day":
        return day.isoformat()
    if period == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if period == "month":
        return day.replace(day=1).isoformat()
    return "total"


def _retry(seconds: float) -> int:
    return max(1, math.ceil(seconds))


# The first statement of a limited request: takes the key row's lock (a no-op update) and reads its limits.
_LOCK = (
    update(ApiKey)
    .where(ApiKey.id == bindparam("b_kid"))
    .values(in_flight=ApiKey.in_flight)
    .returning(
        ApiKey.requests_per_minute,
        ApiKey.tokens_per_minute,
        ApiKey.max_concurrent_requests,
        ApiKey.budget_nanos,
        ApiKey.budget_period,
        ApiKey.in_flight,
        ApiKey.budget_spent_nanos,
        ApiKey.budget_period_key,
    )
)
_PRUNE = delete(KeyWindowEvent).where(
    KeyWindowEvent.api_key_id == bindparam("b_kid"), KeyWindowEvent.at <= bindparam("b_cut")
)
_WINDOW = select(func.count(), func.coalesce(func.sum(KeyWindowEvent.tokens), 0)).where(
    KeyWindowEvent.api_key_id == bindparam("b_kid"), KeyWindowEvent.at > bindparam("b_cut")
)
_OLDEST = (
    select(KeyWindowEvent.at, KeyWindowEvent.tokens)
    .where(KeyWindowEvent.api_key_id == bindparam("b_kid"), KeyWindowEvent.at > bindparam("b_cut"))
    .order_by(KeyWindowEvent.at)
)
_INSERT_EVENT = insert(KeyWindowEvent)
_TAKE = (
    update(ApiKey)
    .where(ApiKey.id == bindparam("b_kid"))
    .values(
        in_flight=ApiKey.in_flight + bindparam("b_slot"),
        budget_spent_nanos=bindparam("b_spent"),
        budget_period_key=bindparam("b_pk"),
    )
)
_GIVE_BACK = (
    update(ApiKey)
    .where(ApiKey.id == bindparam("b_kid"))
    .values(
        in_flight=case((ApiKey.in_flight > bindparam("b_slot"), ApiKey.in_flight - bindparam("b_slot")), else_=0),
        budget_spent_nanos=case(
            (ApiKey.budget_period_key == bindparam("b_pk"), ApiKey.budget_spent_nanos - bindparam("b_refund")),
            else_=ApiKey.budget_spent_nanos,
        ),
    )
)
_SETTLE_TOKENS = (
    update(KeyWindowEvent).where(KeyWindowEvent.request_id == bindparam("b_rid")).values(tokens=bindparam("b_used"))
)


def take(
    conn: Connection,
    *,
    api_key_id: int,
    request_id: str,
    now: datetime,
    tokens: int,
    cost_nanos: int,
    slot: bool,
) -> Taken | HubError:
    """Checks every limit of the key and takes what this request needs, or returns the refusal (nothing taken).

    `tokens` and `cost_nanos` are the request's worst case; `slot` whether it occupies one of
    max_concurrent_requests while it runs (a video job, which outlives its request, does not)."""
    row = conn.execute(_LOCK, {"b_kid": api_key_id}).first()
    if row is None:  # the key went away meanwhile: the next request will find it missing
        return NOTHING
    rpm, tpm, max_concurrent, budget, period, in_flight, spent, spent_key = row
    if slot and max_concurrent is not None and in_flight >= max_concurrent:
        return RateLimited(
            f"Rate limit: this API key's max_concurrent_requests ({max_concurrent}) are all in flight",
            retry_after=CONCURRENCY_RETRY_SECONDS,
        )
    pk = None
    if budget is not None:
        pk = period_key(period, now)
        spent = spent if spent_key == pk else 0
        if spent + cost_nanos > budget:
            return InsufficientCredits(
                f"This API key's budget_usd ({nanos_to_usd(budget):g} per {period or 'total'}) would be exceeded: "
                f"{nanos_to_usd(spent):g} used, this request may cost up to {nanos_to_usd(cost_nanos):g}"
            )
    if rpm is not None or tpm is not None:
        ts = now.timestamp()
        cut = ts - WINDOW_SECONDS
        conn.execute(_PRUNE, {"b_kid": api_key_id, "b_cut": cut})
        count, used = conn.execute(_WINDOW, {"b_kid": api_key_id, "b_cut": cut}).one()
        if rpm is not None and count >= rpm:
            events = conn.execute(_OLDEST.offset(count - rpm).limit(1), {"b_kid": api_key_id, "b_cut": cut}).first()
            wait = events[0] + WINDOW_SECONDS - ts if events else WINDOW_SECONDS
            return RateLimited(
                f"Rate limit: this API key's requests_per_minute ({rpm}) is used up; retry in {_retry(wait)} s",
                retry_after=_retry(wait),
            )
        if tpm is not None:
            if tokens > tpm:
                return ValidationFailed.single(
                    ["body", "max_tokens"],
                    f"This request may use up to {tokens} tokens (prompt plus maximum output), more than this API "
                    f"key's tokens_per_minute ({tpm}); set max_tokens lower",
                )
            if used + tokens > tpm:
                wait = _tokens_free_in(conn, api_key_id, cut, ts, used + tokens - tpm)
                return RateLimited(
                    f"Rate limit: this API key's tokens_per_minute ({tpm}) is used up ({used} in the last minute, "
                    f"this request may use {tokens}); retry in {_retry(wait)} s",
                    retry_after=_retry(wait),
                )
        conn.execute(_INSERT_EVENT, {"request_id": request_id, "api_key_id": api_key_id, "at": ts, "tokens": tokens})
    taken = Taken(
        slot=slot and max_concurrent is not None,
        tokens=tokens if tpm is not None else 0,
        budget_nanos=cost_nanos if budget is not None else 0,
        period_key=pk,
    )
    if taken.slot or budget is not None:
        conn.execute(
            _TAKE,
            {
                "b_kid": api_key_id,
                "b_slot": int(taken.slot),
                "b_spent": spent + taken.budget_nanos if budget is not None else row[6],
                "b_pk": pk if budget is not None else spent_key,
            },
        )
    return taken


def _tokens_free_in(conn: Connection, api_key_id: int, cut: float, ts: float, excess: int) -> float:
    """Seconds until requests leaving the window free `excess` tokens."""
    freed = 0
    for at, tokens in conn.execute(_OLDEST, {"b_kid": api_key_id, "b_cut": cut}):
        freed += tokens
        if freed >= excess:
            return at + WINDOW_SECONDS - ts
    return WINDOW_SECONDS


def release(
    conn: Connection,
    *,
    api_key_id: int | None,
    request_id: str,
    taken: Taken,
    used_tokens: int,
    charge_nanos: int,
) -> None:
    """Gives back what a hold took: its slot, the unused part of its budget reservation, and settles its
    window row to the tokens really used. Runs in the transaction that removes the hold."""
    if api_key_id is None:
        return
    if taken.slot or taken.budget_nanos:
        conn.execute(
            _GIVE_BACK,
            {
                "b_kid": api_key_id,
                "b_slot": int(taken.slot),
                "b_pk": taken.period_key or "",
                "b_refund": max(0, taken.budget_nanos - charge_nanos),
            },
        )
    if taken.tokens:
        conn.execute(_SETTLE_TOKENS, {"b_rid": request_id, "b_used": max(0, used_tokens)})


# ---------------------------------------------------------------------------------------------- settings


@dataclass
class Limits:
    """A key's (or a user's default) limits; None: no limit."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_concurrent_requests: int | None = None
    budget_nanos: int | None = None
    budget_period: str | None = None

    def any(self) -> bool:
        return any(
            v is not None
            for v in (self.requests_per_minute, self.tokens_per_minute, self.max_concurrent_requests, self.budget_nanos)
        )


def validate(values: dict[str, Any], loc_prefix: tuple[str, ...] = ("body",)) -> dict[str, Any]:
    """Checks limit fields given as JSON-like values (None removes a limit); returns column values.
    Raises the documented 422 listing every bad field."""
    errors, out = [], {}
    for name in ("requests_per_minute", "tokens_per_minute", "max_concurrent_requests"):
        if name not in values:
            continue
        value = values[name]
        if value is not None and (isinstance(value, bool) or not _whole(value) or not 1 <= value <= 2**31 - 1):
            errors.append(
                {
                    "loc": [*loc_prefix, name],
                    "msg": f"{name} must be a whole number >= 1 or null",
                    "type": "value_error",
                }
            )
        else:
            out[name] = None if value is None else int(value)
    if "budget_usd" in values:
        value = values["budget_usd"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e9):
            errors.append(
                {
                    "loc": [*loc_prefix, "budget_usd"],
                    "msg": "budget_usd must be a positive number or null",
                    "type": "value_error",
                }
            )
        else:
            out["budget_nanos"] = None if value is None else round(value * 1_000_000_000)
    if "budget_period" in values:
        value = values["budget_period"]
        if value is not None and value not in PERIODS:
            errors.append(
                {
                    "loc": [*loc_prefix, "budget_period"],
                    "msg": "budget_period must be one of day, week, month, total",
                    "type": "value_error",
                }
            )
        else:
            out["budget_period"] = value
    if errors:
        raise ValidationFailed(errors)
    return out


def _whole(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


# ---------------------------------------------------------------------------------------------- current use


@dataclass
class KeyUse:
    """What a key uses of its limits right now (what the key list shows)."""

    requests_in_window: int = 0
    tokens_in_window: int = 0
    in_flight: int = 0
    spent_in_period_nanos: int = 0


def current_use(conn: Connection, keys: list[ApiKey], now: datetime) -> dict[int, KeyUse]:
    """Per key id: requests and tokens of the last minute, requests in flight, spend in the budget period."""
    if not keys:
        return {}
    cut = now.timestamp() - WINDOW_SECONDS
    rows = conn.execute(
        select(KeyWindowEvent.api_key_id, func.count(), func.coalesce(func.sum(KeyWindowEvent.tokens), 0))
        .where(KeyWindowEvent.api_key_id.in_([k.id for k in keys]), KeyWindowEvent.at > cut)
        .group_by(KeyWindowEvent.api_key_id)
    )
    window = {kid: (count, tokens) for kid, count, tokens in rows}
    out = {}
    for key in keys:
        count, tokens = window.get(key.id, (0, 0))
        spent = key.budget_spent_nanos if key.budget_period_key == period_key(key.budget_period, now) else 0
        out[key.id] = KeyUse(int(count), int(tokens), key.in_flight or 0, spent or 0)
    return out
