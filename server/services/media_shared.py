"""What the media servicers (images, audio, videos) share: the request's own fields and the reply's common part."""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf.message import Message
from indoxhub.v1 import common_pb2

from server.domain import media
from server.domain.money import nanos_to_usd
from server.services.messages import struct_value

M = TypeVar("M", bound=Message)

ROUTING_FIELDS = frozenset({"provider", "model", "byok_api_key", "additional_params"})  # these go in the Caller


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


def media_response(cls: type[M], billed: media.Billed, message: str, data: Any) -> M:
    """ImageResponse / AudioResponse: the same fields, only `data` differs in type."""
    return cls(
        request_id=billed.request_id,
        created_at=billed.created_at,
        duration_ms=round(billed.duration_ms, 3),
        provider=billed.provider,
        model=billed.model,
        success=True,
        message=message,
        usage=media_usage(billed),
        data=data,
    )
