"""EmbeddingsService."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indoxhub.v1 import embeddings_pb2, embeddings_pb2_grpc

from server.domain import clock, embeddings
from server.domain.money import nanos_to_usd
from server.rpc import unary
from server.services.caller import caller_of
from server.services.messages import list_value, value_py

if TYPE_CHECKING:
    from server.hub import Hub


class EmbeddingsServicer(embeddings_pb2_grpc.EmbeddingsServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    @unary()
    async def CreateEmbedding(self, request, context, principal):
        caller = caller_of(request, context, principal)
        done = await embeddings.embed(self.hub, caller, text=value_py(request, "text"))
        return embeddings_pb2.EmbeddingResponse(
            request_id=done.request_id,
            created_at=clock.iso(clock.now()),
            duration_ms=round(done.duration_ms, 3),
            provider=done.provider,
            model=done.model,
            success=True,
            usage=embeddings_pb2.EmbeddingUsage(
                input_tokens=done.usage.input_tokens,
                total_tokens=done.usage.input_tokens,
                cost=nanos_to_usd(done.cost_nanos),
            ),
            data=list_value([list(v) for v in done.vectors]),
            dimensions=len(done.vectors[0]) if done.vectors else 0,
        )
