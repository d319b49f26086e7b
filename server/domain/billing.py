"""Billing and usage: the ONE place where credits move and usage records are written.

A request first *reserves* its maximum cost: one conditional UPDATE (`balance >= amount`) plus a credit hold
row, in one transaction, so concurrent requests can never overspend. When the request ends it is *settled*
exactly once: the hold is removed, the unused part refunded, and the usage record and the ledger entry that
explain the charge are written, all in one transaction. A failed call settles at cost 0.

Every capability meters through one function, `meter()`: it reserves and returns a `Meter`, whose
`settle_*` methods are the only ways a request ends (success, stopped with what was produced, failed at 0)
and whose `guard()` settles any failure it sees. Top-ups (`top_up`) are the other way credits move.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from server import metrics
from server.db.models import CreditHold, Instance, Transaction, UsageRecord, User, VideoJob
from server.db.prepared import Prepared, PreparedInsert
from server.domain import clock, limits, usage_index
from server.domain.caller import Caller
from server.domain.money import nanos_to_usd
from server.domain.routing import Route
from server.errors import HubError, InsufficientCredits

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.hub import Hub

log = logging.getLogger("hub.billing")

STALE_HOLD_AGE = timedelta(hours=2)  # longer than any request may run


def sortable_id(prefix: str) -> str:
    """`prefix` + 32 hex digits: the time in milliseconds (12), then 80 random bits. Ids made later sort later,
    so the unique indexes they key (usage records, ledger entries, holds) grow at their right edge instead of
    taking a random page each time: fewer pages written per commit, on SQLite and PostgreSQL alike (a ledger
    entry's insert went from 75 to 27 µs in batches of 4)."""
    return f"{prefix}{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def new_request_id() -> str:
    return sortable_id("resp_")


@dataclass
class Outcome:
    """What a finished request used; becomes one usage record."""

    endpoint: str
    provider: str
    model: str
    status: str  # "success" | "error" | "stopped"
    cost_nanos: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    duration_ms: float = 0.0
    ttft_ms: float | None = None
    error: str | None = None
    request_content: Any = None
    response_content: Any = None


@dataclass
class Reservation:
    """Credits held for one request. `byok` requests hold nothing and are charged nothing."""

    request_id: str
    user_id: int
    api_key_id: int | None
    amount_nanos: int
    byok: bool
    session_id: str | None = None
    client_ip: str | None = None
    settled: bool = False
    held: bool = False  # a hold row exists (credits, or a limited key's share of its limits)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)


# The hot path's statements, prepared once per dialect (server.db.prepared).
_RESERVE = Prepared(
    update(User)
    .where(User.id == bindparam("b_uid"), User.balance_nanos >= bindparam("b_amt"))
    .values(balance_nanos=User.balance_nanos - bindparam("b_amt"))
)
_REFUND = Prepared(
    update(User).where(User.id == bindparam("b_uid")).values(balance_nanos=User.balance_nanos + bindparam("b_amt"))
)
_DELETE_HOLD = Prepared(
    delete(CreditHold)
    .where(CreditHold.request_id == bindparam("b_rid"))
    .returning(
        CreditHold.api_key_id,
        CreditHold.slot,
        CreditHold.limit_tokens,
        CreditHold.budget_nanos,
        CreditHold.budget_period_key,
    )
)
_INSERT_HOLD = PreparedInsert(CreditHold)
_INSERT_LEDGER = PreparedInsert(Transaction)
_INSERT_USAGE = PreparedInsert(UsageRecord)


async def reserve(
    hub: Hub,
    *,
    user_id: int,
    api_key_id: int | None,
    amount_nanos: int,
    byok: bool,
    session_id: str | None = None,
    client_ip: str | None = None,
    request_id: str | None = None,
    limited: bool = False,
    tokens: int = 0,
    slot: bool = True,
) -> Reservation:
    """Holds amount_nanos of the user's balance and, for a `limited` key, what the request takes from the key's
    limits (`tokens`: its worst case; `slot`: whether it counts as in flight until settled); or raises
    InsufficientCredits / the limit's refusal without touching anything."""
    res = Reservation(request_id or new_request_id(), user_id, api_key_id, 0 if byok else max(0, amount_nanos), byok)
    res.session_id, res.client_ip = session_id, client_ip
    limited = limited and api_key_id is not None
    if res.byok and not limited:
        return res
    now = clock.now()

    def op(conn: Connection) -> bool | HubError:
        if not res.byok and _RESERVE.rowcount(conn, {"b_uid": user_id, "b_amt": res.amount_nanos}) != 1:
            return False
        taken = limits.NOTHING
        if limited:  # the key's limits, in this same transaction (server.domain.limits)
            taken = limits.take(
                conn,
                api_key_id=api_key_id,
                request_id=res.request_id,
                now=now,
                tokens=tokens,
                cost_nanos=res.amount_nanos,
                slot=slot,
            )
            if isinstance(taken, HubError):
                if not res.byok:
                    _REFUND.execute(conn, {"b_uid": user_id, "b_amt": res.amount_nanos}).close()
                return taken
        hold = {"request_id": res.request_id, "user_id": user_id, "amount_nanos": res.amount_nanos, "created_at": now}
        _INSERT_HOLD.execute(
            conn, {**hold, "api_key_id": api_key_id, "instance_id": hub.instance_id, **taken.hold_columns()}
        )
        return True

    done = await hub.ledger.run(op)
    if isinstance(done, HubError):
        raise done
    if not done:
        raise InsufficientCredits("Insufficient credits: this request may cost more than your remaining balance")
    res.held = True
    return res


async def reserve_for(
    hub: Hub,
    caller: Caller,
    route: Route,
    amount_nanos: int,
    *,
    request_id: str | None = None,
    tokens: int = 0,
    slot: bool = True,
) -> Reservation:
    """reserve() for one routed call: the caller's credits (none when the route uses their own key) and their
    key's limits, with the session and address their usage record will carry."""
    return await reserve(
        hub,
        user_id=caller.principal.user_id,
        api_key_id=caller.principal.api_key_id,
        amount_nanos=amount_nanos,
        byok=route.byok,
        session_id=caller.session_id,
        client_ip=caller.client_ip,
        request_id=request_id,
        limited=caller.principal.limited,
        tokens=tokens,
        slot=slot,
    )


def charge_for(res: Reservation, status: str, cost_nanos: int) -> int:
    """What a request is charged: nothing for BYOK or a failure, else its cost, never above the reservation."""
    return 0 if res.byok or status == "error" else min(max(cost_nanos, 0), res.amount_nanos)


async def settle(hub: Hub, res: Reservation, outcome: Outcome) -> int:
    """Charges min(cost, reserved), refunds the rest, writes usage + ledger; exactly once. Returns the charge."""
    async with res._lock:
        if res.settled:
            return 0
        charge = charge_for(res, outcome.status, outcome.cost_nanos)
        now = clock.now()
        usage = _usage_row(hub, res, outcome, charge, now)
        ledger = _ledger_row(res, outcome, charge, now) if charge else None

        used_tokens = 0 if outcome.status == "error" else outcome.input_tokens + outcome.output_tokens

        def op(conn: Connection) -> bool:
            hold = _DELETE_HOLD.first(conn, {"b_rid": res.request_id}) if res.held or not res.byok else None
            if not res.byok:
                if hold is None:
                    return False  # released already (crash recovery): nothing left to move
                if res.amount_nanos - charge:
                    _REFUND.execute(conn, {"b_uid": res.user_id, "b_amt": res.amount_nanos - charge}).close()
                if ledger:
                    _INSERT_LEDGER.execute(conn, ledger)
            if hold is not None:  # the key's limits: the slot, the unused budget, the window's tokens
                _release_limits(conn, res.request_id, hold, used_tokens, charge)
            _INSERT_USAGE.execute(conn, usage)
            usage_index.on_record(conn, usage)  # rollups and latency index, unless derived later
            return True

        try:
            done = await hub.ledger.run(op)
        except IntegrityError:
            done = False
        res.settled = True
        if not done:
            log.warning("request %s was already settled; not charging again", res.request_id)
            return 0
        metrics.observe(
            outcome.endpoint,
            outcome.provider,
            outcome.status,
            outcome.duration_ms,
            outcome.input_tokens,
            outcome.output_tokens,
            nanos_to_usd(charge),
        )
        return charge


async def record_attempt(hub: Hub, res: Reservation, outcome: Outcome, attempt: int) -> None:
    """Writes the usage record of one failed attempt of a request (cost 0; nothing else moves)."""
    usage = _usage_row(hub, res, outcome, 0, clock.now())
    usage["request_id"] = f"{res.request_id}-{attempt}"

    def op(conn: Connection) -> None:
        _INSERT_USAGE.execute(conn, usage)
        usage_index.on_record(conn, usage)

    await hub.ledger.run(op)
    metrics.observe(outcome.endpoint, outcome.provider, "error", outcome.duration_ms, 0, 0, 0.0)


def error_detail(exc: BaseException) -> str:
    """What a failed request's usage record says about the failure (never a secret: details are ours)."""
    return exc.detail if isinstance(exc, HubError) and isinstance(exc.detail, str) else type(exc).__name__


@dataclass
class Meter:
    """One metered request, from its reservation to its one settlement.

    Built by `meter()` (a new request) or `Meter.resume()` (a request that outlives the process that reserved
    it, e.g. a video job); every way a request ends goes through `settle`.
    """

    hub: Hub
    reservation: Reservation
    endpoint: str
    provider: str
    model: str
    request_content: Any = None
    started: float = field(default_factory=time.perf_counter)
    _closing: bool = False  # a settlement was handed to a background task
    _attempts: int = 0  # failed attempts recorded (fallbacks)

    @property
    def request_id(self) -> str:
        return self.reservation.request_id

    @property
    def settled(self) -> bool:
        return self.reservation.settled or self._closing

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def outcome(self, status: str, cost_nanos: int = 0, **fields: Any) -> Outcome:
        fields.setdefault("duration_ms", self.elapsed_ms())
        fields.setdefault("request_content", self.request_content)
        return Outcome(self.endpoint, self.provider, self.model, status, cost_nanos, **fields)

    async def settle(self, status: str, cost_nanos: int = 0, **fields: Any) -> int:
        """Settles once (status success | stopped | error) and returns the charge; a caller cancelled meanwhile
        cannot interrupt the settlement itself."""
        return await asyncio.shield(settle(self.hub, self.reservation, self.outcome(status, cost_nanos, **fields)))

    async def fail(self, exc: BaseException, **fields: Any) -> None:
        """Settles a failed request: cost 0, status error, the failure recorded."""
        await self.settle("error", 0, error=error_detail(exc), **fields)

    async def record_failed_attempt(self, exc: BaseException) -> None:
        """A usage record (status error, cost 0) for an attempt that failed before the request moved on to a
        fallback model; the reservation stays held for the next attempt and is settled once at the end."""
        self._attempts += 1
        outcome = self.outcome("error", 0, error=error_detail(exc))
        await asyncio.shield(record_attempt(self.hub, self.reservation, outcome, self._attempts))

    def settle_later(self, status: str, cost_nanos: int = 0, **fields: Any) -> None:
        """Settles in a task the caller's cancellation cannot reach (a client that left mid-stream)."""
        self._closing = True
        self.hub.in_background(settle(self.hub, self.reservation, self.outcome(status, cost_nanos, **fields)))

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[Meter]:
        """Any exception leaving the block settles the request as failed (unless it was settled already)."""
        try:
            yield self
        except BaseException as exc:
            if not self.settled:
                await self.fail(exc)
            raise

    @classmethod
    def resume(
        cls,
        hub: Hub,
        *,
        request_id: str,
        user_id: int,
        api_key_id: int | None,
        amount_nanos: int,
        byok: bool,
        endpoint: str,
        provider: str,
        model: str,
        session_id: str | None = None,
        client_ip: str | None = None,
    ) -> Meter:
        """The meter of a request reserved earlier (its hold row still exists until it is settled)."""
        res = Reservation(request_id, user_id, api_key_id, amount_nanos, byok, session_id, client_ip)
        res.held = True  # a BYOK request of a limited key has a hold too; settling removes whatever hold there is
        return cls(hub, res, endpoint, provider, model)


async def meter(
    hub: Hub,
    caller: Caller,
    route: Route,
    amount_nanos: int,
    *,
    endpoint: str,
    request_content: Any = None,
    request_id: str | None = None,
    tokens: int = 0,
    slot: bool = True,
) -> Meter:
    """THE metering point of every capability: reserves the request's worst case for the caller (nothing when
    the route uses the caller's own key) and takes what it needs from the key's limits (`tokens`: its worst
    case; `slot`: counts as in flight until settled), or raises 402 / 429 before anything is sent upstream."""
    res = await reserve_for(hub, caller, route, amount_nanos, request_id=request_id, tokens=tokens, slot=slot)
    return Meter(hub, res, endpoint, route.provider, route.model, request_content)


async def top_up(session: AsyncSession, user_id: int, amount_nanos: int, description: str, when: datetime) -> str:
    """Adds credits with the ledger entry that explains them, inside the caller's transaction; returns the
    transaction id. The balance update is atomic in SQL."""
    await session.execute(
        update(User).where(User.id == user_id).values(balance_nanos=User.balance_nanos + amount_nanos)
    )
    transaction_id = sortable_id("txn_")
    session.add(
        Transaction(
            transaction_id=transaction_id,
            user_id=user_id,
            amount_nanos=amount_nanos,
            transaction_type="credit",
            status="completed",
            payment_method="admin",
            description=description,
            created_at=when,
        )
    )
    return transaction_id


def _release_limits(conn: Connection, request_id: str, hold, used_tokens: int, charge: int) -> None:
    api_key_id, slot, tokens, budget_nanos, period_key = hold
    taken = limits.Taken(slot=bool(slot), tokens=tokens or 0, budget_nanos=budget_nanos or 0, period_key=period_key)
    if taken != limits.NOTHING:
        limits.release(
            conn,
            api_key_id=api_key_id,
            request_id=request_id,
            taken=taken,
            used_tokens=used_tokens,
            charge_nanos=charge,
        )


def _ledger_row(res: Reservation, outcome: Outcome, charge: int, now) -> dict:
    return {
        "transaction_id": sortable_id("txn_"),
        "user_id": res.user_id,
        "amount_nanos": -charge,
        "transaction_type": "usage",
        "status": "completed",
        "payment_method": "credits",
        "description": f"{outcome.endpoint}: {outcome.provider}/{outcome.model}",
        "request_id": res.request_id,
        "created_at": now,
    }


def _usage_row(hub: Hub, res: Reservation, outcome: Outcome, charge: int, now) -> dict:
    row = {
        "request_id": res.request_id,
        "user_id": res.user_id,
        "api_key_id": res.api_key_id,
        "endpoint": outcome.endpoint,
        "provider": outcome.provider,
        "model": outcome.model,
        "input_tokens": outcome.input_tokens,
        "output_tokens": outcome.output_tokens,
        "cached_tokens": outcome.cached_tokens,
        "reasoning_tokens": outcome.reasoning_tokens,
        "cost_nanos": charge,
        "duration_ms": outcome.duration_ms,
        "ttft_ms": outcome.ttft_ms,
        "status": outcome.status,
        "session_id": res.session_id,
        "client_ip": res.client_ip,
        "error": outcome.error,
        "byok": res.byok,
        "created_at": now,
    }
    if hub.settings.log_content:  # otherwise left out: SQL NULL, without encoding two JSON nulls per request
        row["request_content"] = outcome.request_content
        row["response_content"] = outcome.response_content
    return row


async def release_stale_holds(hub: Hub, older_than: timedelta = STALE_HOLD_AGE) -> int:
    """Refunds old holds that no instance owns (written before instances existed, or by a tool), each in its own
    transaction with its hold's removal. Holds of crashed processes are released by `release_orphaned_holds`.

    Holds of video jobs are left alone, however old: a job runs for minutes to hours and survives restarts,
    and the video worker settles its hold exactly once when the job ends (server.domain.videos).
    """
    cutoff = clock.now() - older_than
    released = 0
    of_video_job = exists().where(VideoJob.id == CreditHold.request_id)
    async with hub.sessions() as session:
        stale = (
            (
                await session.execute(
                    select(CreditHold).where(
                        CreditHold.created_at < cutoff, CreditHold.instance_id.is_(None), ~of_video_job
                    )
                )
            )
            .scalars()
            .all()
        )
    for hold in stale:

        def op(conn: Connection, hold=hold) -> bool:
            gone = _DELETE_HOLD.first(conn, {"b_rid": hold.request_id})
            if gone is None:
                return False
            _REFUND.execute(conn, {"b_uid": hold.user_id, "b_amt": hold.amount_nanos}).close()
            _release_limits(conn, hold.request_id, gone, 0, 0)  # the slot and the whole budget share come back
            return True

        released += bool(await hub.ledger.run(op))
    return released


_ORPHANED_HOLDS = select(CreditHold.request_id, CreditHold.user_id, CreditHold.amount_nanos).where(
    CreditHold.instance_id.is_not(None),
    ~exists().where(Instance.id == CreditHold.instance_id),
    ~exists().where(VideoJob.id == CreditHold.request_id),
)


async def release_orphaned_holds(hub: Hub) -> int:
    """Refunds every hold whose instance is gone (its lease expired, see server.domain.instances), exactly once:
    each refund is conditional on deleting its hold, in the same transaction. A failed request costs nothing, so a
    request its process did not live to finish costs nothing either. Video jobs' holds stay: the video worker
    settles them when the job ends, whichever process started it."""

    def op(conn: Connection) -> int:
        released = 0
        for request_id, user_id, amount in conn.execute(_ORPHANED_HOLDS).all():
            gone = _DELETE_HOLD.first(conn, {"b_rid": request_id})
            if gone is not None:
                if amount:
                    _REFUND.execute(conn, {"b_uid": user_id, "b_amt": amount}).close()
                _release_limits(conn, request_id, gone, 0, 0)  # the key's slot and budget share come back too
                released += 1
        return released

    released = await hub.ledger.run(op)
    if released:
        log.warning("released %d credit holds of stopped server processes", released)
    return released
