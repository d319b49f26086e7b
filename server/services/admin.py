"""AdminService: operator operations over gRPC (the CLI does the same through server.domain.users).

Not routed by Envoy: only callers that reach the gRPC port directly can use it.
"""

from __future__ import annotations

from indoxhub.v1 import admin_pb2, admin_pb2_grpc

from server.domain import users
from server.domain.money import nanos_to_usd
from server.hub import Hub
from server.rpc import unary


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    @unary(auth=False)
    async def CreateUser(self, request, context, principal):  # noqa: N802, ANN001
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
    async def AddCredits(self, request, context, principal):  # noqa: N802, ANN001
        user, txn = await users.add_credits(
            self.hub, request.email, request.amount, request.description if request.HasField("description") else None
        )
        return admin_pb2.AddCreditsResponse(
            user_id=user.id, credits=nanos_to_usd(user.balance_nanos), transaction_id=txn
        )
