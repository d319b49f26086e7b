"""EmbeddingsService."""

from __future__ import annotations

from indoxhub.v1 import embeddings_pb2, embeddings_pb2_grpc

from server.domain import clock, embeddings
from server.domain.money import nanos_to_usd
from server.hub import Hub
from server.rpc import client_ip, metadata_of, unary
from server.services.messages import list_value, opt, struct_dict, value_py


class EmbeddingsServicer(embeddings_pb2_grpc.EmbeddingsServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    @unary()
    async def CreateEmbedding(self, request, context, principal):
        extra = struct_dict(request, "additional_params")
        session_id = metadata_of(context).get("x-session-id") or extra.pop("session_id", None)
        done = await embeddings.embed(
            self.hub,
            principal,
            text=value_py(request, "text"),
            provider=opt(request, "provider"),
            model=opt(request, "model"),
            extra=extra,
            byok_key=opt(request, "byok_api_key"),
            session_id=str(session_id) if session_id else None,
            client_ip=client_ip(context),
        )
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
