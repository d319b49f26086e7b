"""ImagesService, plus the helpers the media servicers share (set request fields, the Usage message)."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message
from indoxhub.v1 import common_pb2, images_pb2, images_pb2_grpc

from server.domain import media
from server.domain.money import nanos_to_usd
from server.hub import Hub
from server.rpc import client_ip, metadata_of, unary
from server.services.messages import opt, struct_dict, struct_value

ROUTING_FIELDS = frozenset({"provider", "model", "byok_api_key", "additional_params"})


def request_fields(request: Message, skip: frozenset[str] = ROUTING_FIELDS) -> dict[str, Any]:
    """The fields the caller set (optional scalars present, non-empty repeated fields), by proto name."""
    out: dict[str, Any] = {}
    for descriptor, value in request.ListFields():
        if descriptor.name in skip or descriptor.message_type is not None:
            continue
        out[descriptor.name] = list(value) if descriptor.is_repeated else value
    return out


def media_usage(billed: media.Billed) -> common_pb2.Usage:
    usage = common_pb2.Usage(
        cost=nanos_to_usd(billed.charge_nanos),
        latency=round(billed.duration_ms, 3),
        timestamp=billed.created_at,
        request_count=1,
    )
    breakdown = {k: v for k, v in billed.breakdown.items() if v is not None}
    if breakdown:
        usage.cost_breakdown.CopyFrom(struct_value(breakdown))
    return usage


class ImagesServicer(images_pb2_grpc.ImagesServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    @unary()
    async def CreateImage(self, request, context, principal):
        extra = struct_dict(request, "additional_params")
        billed = await media.generate_images(
            self.hub,
            principal,
            fields=request_fields(request),
            extra=extra,
            provider=opt(request, "provider"),
            model=opt(request, "model"),
            byok_key=opt(request, "byok_api_key"),
            session_id=media.session_of(metadata_of(context), extra),
            client_ip=client_ip(context),
        )
        return images_pb2.ImageResponse(
            request_id=billed.request_id,
            created_at=billed.created_at,
            duration_ms=round(billed.duration_ms, 3),
            provider=billed.provider,
            model=billed.model,
            success=True,
            message=f"Generated {len(billed.result)} image(s)",
            usage=media_usage(billed),
            data=[struct_value(image.as_dict()) for image in billed.result],
        )
