"""UserService: the reference's ten User endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from indoxhub.v1 import common_pb2, user_pb2, user_pb2_grpc

from server.domain import usage_stats, users
from server.domain.money import nanos_to_usd
from server.errors import ValidationFailed
from server.rpc import unary
from server.services.convert import key_fields, key_use_message, token_usage, transaction_message, user_message
from server.services.messages import plain_value

if TYPE_CHECKING:
    from server.hub import Hub

MAX_PAGE = 1000
LIMIT_FIELDS = ("requests_per_minute", "tokens_per_minute", "max_concurrent_requests", "budget_usd", "budget_period")


def _stats(bucket: usage_stats.Bucket) -> common_pb2.UsageStats:
    return common_pb2.UsageStats(
        requests=bucket.requests,
        cost=nanos_to_usd(bucket.cost_nanos),
        tokens=token_usage(bucket.input_tokens, bucket.output_tokens),
    )


def _page(limit: int | None, offset: int | None, default: int) -> tuple[int, int]:
    errors = []
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        errors.append({"loc": ["query", "limit"], "msg": f"limit must be 1 to {MAX_PAGE}", "type": "value_error"})
    if offset is not None and offset < 0:
        errors.append({"loc": ["query", "offset"], "msg": "offset must not be negative", "type": "value_error"})
    if errors:
        raise ValidationFailed(errors)
    return limit or default, offset or 0


class UserServicer(user_pb2_grpc.UserServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    @unary(auth=False)
    async def HealthCheck(self, request, context, principal):
        return user_pb2.HealthResponse(status="ok")

    @unary()
    async def GetCurrentUser(self, request, context, principal):
        return user_message(await users.get_user(self.hub, principal.user_id))

    @unary()
    async def ListTransactions(self, request, context, principal):
        limit, offset = _page(
            request.limit if request.HasField("limit") else None,
            request.offset if request.HasField("offset") else None,
            default=50,
        )
        rows, total = await users.list_transactions(self.hub, principal.user_id, limit, offset)
        return user_pb2.TransactionList(transactions=[transaction_message(r) for r in rows], total_count=total)

    @unary()
    async def CreateApiKey(self, request, context, principal):
        created = await users.create_api_key(
            self.hub,
            principal.user_id,
            request.name if request.HasField("name") else None,
            request.expiration_time if request.HasField("expiration_time") else None,
            {name: getattr(request, name) for name in LIMIT_FIELDS if request.HasField(name)},
        )
        return user_pb2.ApiKeyCreatedResponse(api_key=created.plaintext, **key_fields(created.row))

    @unary()
    async def ListApiKeys(self, request, context, principal):
        rows = await users.list_api_keys(self.hub, principal.user_id)
        use = await users.key_use(self.hub, rows)
        return user_pb2.ApiKeyList(
            keys=[
                user_pb2.ApiKeyResponse(api_key=r.masked, usage=key_use_message(use[r.id]), **key_fields(r))
                for r in rows
            ]
        )

    @unary()
    async def UpdateApiKey(self, request, context, principal):
        changes = {name: plain_value(getattr(request, name)) for name in LIMIT_FIELDS if request.HasField(name)}
        row = await users.update_api_key(
            self.hub,
            principal.user_id,
            request.api_key_id,
            request.name if request.HasField("name") else None,
            changes,
        )
        use = (await users.key_use(self.hub, [row]))[row.id]
        return user_pb2.ApiKeyResponse(api_key=row.masked, usage=key_use_message(use), **key_fields(row))

    @unary()
    async def DeleteApiKey(self, request, context, principal):
        await users.delete_api_key(self.hub, principal.user_id, request.api_key_id)
        return common_pb2.SuccessResponse(success=True, message=f"API key {request.api_key_id} deleted")

    @unary()
    async def RevokeApiKey(self, request, context, principal):
        await users.set_api_key_active(self.hub, principal.user_id, request.api_key_id, False)
        return common_pb2.SuccessResponse(success=True, message=f"API key {request.api_key_id} revoked")

    @unary()
    async def EnableApiKey(self, request, context, principal):
        await users.set_api_key_active(self.hub, principal.user_id, request.api_key_id, True)
        return common_pb2.SuccessResponse(success=True, message=f"API key {request.api_key_id} enabled")

    @unary()
    async def GetUsageStats(self, request, context, principal):
        summary = await usage_stats.summarize(
            self.hub,
            principal.user_id,
            request.start_date if request.HasField("start_date") else None,
            request.end_date if request.HasField("end_date") else None,
        )
        daily = []
        day = summary.start
        while day <= summary.end:
            bucket = summary.days.get(day, usage_stats.Bucket())
            daily.append(
                common_pb2.DailyUsage(
                    date=day.isoformat(),
                    requests=bucket.requests,
                    cost=nanos_to_usd(bucket.cost_nanos),
                    tokens=token_usage(bucket.input_tokens, bucket.output_tokens),
                )
            )
            day += timedelta(days=1)
        return user_pb2.UsageResponse(
            total_requests=summary.total.requests,
            total_cost=nanos_to_usd(summary.total.cost_nanos),
            remaining_credits=nanos_to_usd(summary.balance_nanos),
            total_tokens=token_usage(summary.total.input_tokens, summary.total.output_tokens),
            endpoints={k: _stats(v) for k, v in summary.endpoints.items()},
            providers={k: _stats(v) for k, v in summary.providers.items()},
            models={k: _stats(v) for k, v in summary.models.items()},
            daily_usage=daily,
        )

    @unary()
    async def DeleteAccount(self, request, context, principal):
        await users.delete_account(self.hub, principal.user_id)
        return common_pb2.SuccessResponse(success=True, message="Account and all its data deleted")
