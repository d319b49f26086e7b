"""Domain rows to protobuf messages (shared by several servicers)."""

from __future__ import annotations

from indoxhub.v1 import common_pb2, user_pb2

from server.db.models import ApiKey, Transaction, User
from server.domain.clock import iso
from server.domain.money import nanos_to_usd


def user_message(user: User) -> user_pb2.UserResponse:
    credits = nanos_to_usd(user.balance_nanos)
    return user_pb2.UserResponse(
        id=user.id,
        username=user.username,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        is_active=user.is_active,
        credits=credits,
        app_credit=int(user.balance_nanos // 10_000_000),
        account_tier=user.account_tier,
        created_at=iso(user.created_at),
        has_model_restrictions=False,
        has_password=False,
    )


def key_fields(key: ApiKey) -> dict:
    fields = {
        "id": key.id,
        "name": key.name,
        "is_active": key.is_active,
        "created_at": iso(key.created_at),
    }
    if key.expires_at is not None:
        fields["expires_at"] = iso(key.expires_at)
    if key.last_used_at is not None:
        fields["last_used_at"] = iso(key.last_used_at)
    for name in ("requests_per_minute", "tokens_per_minute", "max_concurrent_requests"):
        if getattr(key, name) is not None:
            fields[name] = getattr(key, name)
    if key.budget_nanos is not None:
        fields["budget_usd"] = nanos_to_usd(key.budget_nanos)
        fields["budget_period"] = key.budget_period or "total"
    return fields


def key_use_message(use) -> user_pb2.KeyLimitUse:
    """server.domain.limits.KeyUse as its message."""
    return user_pb2.KeyLimitUse(
        requests_in_window=i32(use.requests_in_window),
        tokens_in_window=i32(use.tokens_in_window),
        requests_in_flight=i32(use.in_flight),
        spend_in_period=nanos_to_usd(use.spent_in_period_nanos),
    )


def transaction_message(row: Transaction) -> user_pb2.TransactionItem:
    return user_pb2.TransactionItem(
        id=row.id,
        transaction_id=row.transaction_id,
        amount=nanos_to_usd(row.amount_nanos),
        currency="USD",
        transaction_type=row.transaction_type,
        status=row.status,
        payment_method=row.payment_method,
        description=row.description,
        created_at=iso(row.created_at),
    )


INT32_MAX = 2**31 - 1


def i32(value: int) -> int:
    """Counts are int32 in the protos (so REST prints JSON numbers, not strings): saturate, never overflow."""
    return min(int(value), INT32_MAX)


def token_usage(inp: int, out: int) -> common_pb2.TokenUsage:
    return common_pb2.TokenUsage(input=i32(inp), output=i32(out), total=i32(inp + out))
