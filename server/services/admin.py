"""AdminService: operator operations over gRPC (the CLI does the same through server.domain.users).

Not routed by Envoy, and never open: every call needs `authorization: Bearer <admin token>` (HUB_ADMIN_TOKEN, else
the token generated into the data directory), so no other local process can create users or add credits.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from indoxhub.v1 import admin_pb2, admin_pb2_grpc

from server.domain import users
from server.domain.money import nanos_to_usd
from server.errors import Unauthorized
from server.rpc import metadata_of, unary

if TYPE_CHECKING:
    from server.hub import Hub


def require_admin(expected: bytes, context) -> None:
    """The caller must present the admin token (compared in constant time)."""
    sent = metadata_of(context).get("authorization", "").encode("utf-8", "replace")
    if not hmac.compare_digest(sent, expected):
        raise Unauthorized("Admin token required: send 'authorization: Bearer <token>' (python -m server admin-token)")


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub
        self._expected = f"Bearer {hub.settings.resolved_admin_token()}".encode()

    @unary(auth=False)
    async def CreateUser(self, request, context, principal):
        require_admin(self._expected, context)
        user, key = await users.create_user(
            self.hub, request.email, request.credits, request.username if request.HasField("username") else None
        )
        return admin_pb2.CreateUserResponse(
            user_id=user.id,
            email=user.email,
            api_key=key.plaintext,
            api_key_id=key.row.id,
            credits=nanos_to_usd(user.balance_nanos),
        )

    @unary(auth=False)
    async def AddCredits(self, request, context, principal):
        require_admin(self._expected, context)
        user, txn = await users.add_credits(
            self.hub, request.email, request.amount, request.description if request.HasField("description") else None
        )
        return admin_pb2.AddCreditsResponse(
            user_id=user.id, credits=nanos_to_usd(user.balance_nanos), transaction_id=txn
        )

    @unary(auth=False)
    async def SetDefaultLimits(self, request, context, principal):
        require_admin(self._expected, context)
        fields = ("requests_per_minute", "tokens_per_minute", "max_concurrent_requests", "budget_usd", "budget_period")
        user = await users.set_default_limits(
            self.hub,
            request.email,
            {name: getattr(request, name) if request.HasField(name) else None for name in fields},
        )
        return admin_pb2.SetDefaultLimitsResponse(user_id=user.id, **default_limit_fields(user))


def default_limit_fields(user) -> dict:
    """A user's default limits as message fields (unset ones left out)."""
    out = {
        name: getattr(user, f"default_{name}")
        for name in ("requests_per_minute", "tokens_per_minute", "max_concurrent_requests")
        if getattr(user, f"default_{name}") is not None
    }
    if user.default_budget_nanos is not None:
        out["budget_usd"] = nanos_to_usd(user.default_budget_nanos)
        out["budget_period"] = user.default_budget_period or "total"
    return out
