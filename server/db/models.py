"""Tables. Money is integer nano-USD (1e-9 USD) so sums are exact and portable across databases."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    func,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    username: Mapped[str] = mapped_column(String(150))
    first_name: Mapped[str | None] = mapped_column(String(150))
    last_name: Mapped[str | None] = mapped_column(String(150))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    account_tier: Mapped[str] = mapped_column(String(32), default="free")
    # Spendable balance; reservations are already subtracted (see server.domain.billing).
    balance_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Limits given to this user's new API keys (set by an operator; server.domain.limits).
    default_requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    default_tokens_per_minute: Mapped[int | None] = mapped_column(Integer)
    default_max_concurrent_requests: Mapped[int | None] = mapped_column(Integer)
    default_budget_nanos: Mapped[int | None] = mapped_column(BigInteger)
    default_budget_period: Mapped[str | None] = mapped_column(String(8))


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the full key
    masked: Mapped[str] = mapped_column(String(32))  # prefix + last four, for listings
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Limits (null: none) and their state; checked and taken with the credit reservation (server.domain.limits).
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    tokens_per_minute: Mapped[int | None] = mapped_column(Integer)
    max_concurrent_requests: Mapped[int | None] = mapped_column(Integer)
    budget_nanos: Mapped[int | None] = mapped_column(BigInteger)
    budget_period: Mapped[str | None] = mapped_column(String(8))  # day | week | month | total
    in_flight: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # = its holds with a slot
    budget_spent_nanos: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # incl. holds
    budget_period_key: Mapped[str] = mapped_column(String(10), default="", server_default="")  # period of the sum


class KeyWindowEvent(Base):
    """One request of a key with a per-minute limit, in the sliding window: when it started and the tokens it
    reserved (worst case) or, once settled, used. Rows older than the window are deleted by the next request."""

    __tablename__ = "key_window_events"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    at: Mapped[float] = mapped_column(Float)  # Unix seconds
    tokens: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_key_window_events_key_at", "api_key_id", "at"),)


class Transaction(Base):
    """The credit ledger: credits in (positive) and usage charges (negative)."""

    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    amount_nanos: Mapped[int] = mapped_column(BigInteger)
    transaction_type: Mapped[str] = mapped_column(String(32))  # "credit" | "usage"
    status: Mapped[str] = mapped_column(String(32), default="completed")
    payment_method: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(String(500))
    request_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # usage charges: one per request
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_transactions_user_created", "user_id", "created_at"),)


class CreditHold(Base):
    """Credits set aside for a request in flight. Written with the balance debit it explains; removed when
    the request settles. Holds of a process that stopped (its instance lease expired) are released by the
    live ones (server.domain.instances)."""

    __tablename__ = "credit_holds"
    # Written and deleted by every request, and small (what is in flight): one B-tree on SQLite, no secondary
    # index (each would be one more WAL page per commit; the sweeps by user or instance scan it).
    __table_args__ = {"sqlite_with_rowid": False}

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    amount_nanos: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What the request took from its key's limits, given back when the hold goes (server.domain.limits).
    api_key_id: Mapped[int | None] = mapped_column(Integer)
    slot: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # one of max_concurrent
    limit_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # reserved for tokens/min
    budget_nanos: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # added to the budget sum
    budget_period_key: Mapped[str | None] = mapped_column(String(10))
    instance_id: Mapped[str | None] = mapped_column(String(64))  # the process that holds it


class Instance(Base):
    """A running server process. It bumps `beats` every second; one whose count stops moving for the lease
    time has stopped, and another process releases what it owned (server.domain.instances)."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))  # hostname|boot id|pid namespace: "same machine" test
    pid: Mapped[int] = mapped_column(Integer)
    beats: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ActiveStream(Base):
    """A stream in flight on some server process, so that its owner can stop it from any process."""

    __tablename__ = "active_streams"

    stream_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    instance_id: Mapped[str | None] = mapped_column(String(64), index=True)  # the process that runs it


class UsageRecord(Base):
    """One row per gateway request (success, error or stopped): what analytics and bills are made of."""

    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(Integer)
    endpoint: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # "success" | "error" | "stopped"
    session_id: Mapped[str | None] = mapped_column(String(200))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    byok: Mapped[bool] = mapped_column(Boolean, default=False)
    request_content: Mapped[dict | None] = mapped_column(JSON)
    response_content: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_usage_user_created", "user_id", "created_at"),
        Index("ix_usage_user_session_created", "user_id", "session_id", "created_at"),
        Index("ix_usage_created_model", "created_at", "provider", "model"),
    )


class utc_day(FunctionElement):  # noqa: N801 - used like a SQL function
    """The UTC calendar day of a timestamp column, as a DATE. One expression per dialect, identical in queries
    and in the index that serves them: SQLite `date(x)` (timestamps are stored as UTC text), PostgreSQL
    `CAST(timezone('UTC', x) AS DATE)` (immutable, unlike a plain cast of a timestamptz)."""

    type = Date()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day)
def _utc_day(element, compiler, **kw) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element, compiler, **kw) -> str:
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


class UsageLatency(Base):
    """The latency index: per usage record, the columns analytics group and filter by and its duration, with
    the indexes the exact latency percentiles walk. Derived from `usage_records` (server.domain.usage_index):
    on SQLite off the request path, by record id; elsewhere in the transaction that writes the record."""

    __tablename__ = "usage_latencies"

    record_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("usage_records.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    user_id: Mapped[int] = mapped_column(Integer)
    endpoint: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    session_id: Mapped[str | None] = mapped_column(String(200))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# Latency percentiles per group are read by walking one of these in duration order (ORDER BY duration_ms LIMIT 1
# OFFSET k, server.domain.analytics): (user_id, the group, duration_ms), then created_at so that date filters
# are checked inside the index. A new row lands at a random place in each (by duration), which is why they live
# in usage_latencies, written off the request path, and not on usage_records; the day index only takes today's
# (hot) pages, so it also carries the filter columns.
Index(
    "ix_latency_user_model_duration",
    UsageLatency.user_id,
    UsageLatency.provider,
    UsageLatency.model,
    UsageLatency.duration_ms,
    UsageLatency.created_at,
)
Index(
    "ix_latency_user_provider_duration",
    UsageLatency.user_id,
    UsageLatency.provider,
    UsageLatency.duration_ms,
    UsageLatency.created_at,
)
Index(
    "ix_latency_user_endpoint_duration",
    UsageLatency.user_id,
    UsageLatency.endpoint,
    UsageLatency.duration_ms,
    UsageLatency.created_at,
)
Index(
    "ix_latency_user_ip_duration",
    UsageLatency.user_id,
    UsageLatency.client_ip,
    UsageLatency.duration_ms,
    UsageLatency.created_at,
)
Index(
    "ix_latency_user_session_duration",
    UsageLatency.user_id,
    UsageLatency.session_id,
    UsageLatency.duration_ms,
    UsageLatency.created_at,
)
Index(
    "ix_latency_user_day_duration",
    UsageLatency.user_id,
    utc_day(UsageLatency.created_at),
    UsageLatency.duration_ms,
    UsageLatency.created_at,
    UsageLatency.endpoint,
    UsageLatency.provider,
    UsageLatency.model,
)


class UsageDaily(Base):
    """Per user, UTC day, endpoint, provider and model: the sums of the usage records. Updated in the transaction
    that writes each usage record (server.domain.billing.settle), so it always equals the records it sums; read
    by /user/usage and the analytics totals so their cost does not grow with the number of records."""

    __tablename__ = "usage_daily"
    __table_args__ = {"sqlite_with_rowid": False}  # SQLite: stored in its key order, one B-tree

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)  # status "error"
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)  # sum
    streams: Mapped[int] = mapped_column(BigInteger, default=0)  # records with a time to first token
    ttft_ms: Mapped[float] = mapped_column(Float, default=0.0)  # sum over those


class UsageDailySession(Base):
    """As UsageDaily, per session id too ('' for records without one), with the first and last record's time:
    what /analytics/sessions and group_by=session_id read instead of the records."""

    __tablename__ = "usage_daily_sessions"
    __table_args__ = {"sqlite_with_rowid": False}  # SQLite: stored in its key order, one B-tree

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsageDailyClient(Base):
    """As UsageDaily, per client IP too ('' when unknown): what group_by=client_ip reads."""

    __tablename__ = "usage_daily_clients"
    __table_args__ = {"sqlite_with_rowid": False}  # SQLite: stored in its key order, one B-tree

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    client_ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)


class VideoJob(Base):
    __tablename__ = "video_jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    provider_job_id: Mapped[str | None] = mapped_column(String(500))
    params: Mapped[dict | None] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    reserved_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    byok: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_video_jobs_user_created", "user_id", "created_at"),
        Index("ix_video_jobs_status", "status"),
    )
