"""Builds the domain's `Caller` from a request: the one place that knows where each routing value arrives.

The session id comes from the `x-session-id` header, else from `additional_params.session_id` (then taken
out, so it is not sent to the provider); the address is the one `server.rpc.client_ip` reports.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.message import Message

from server.domain.auth import Principal
from server.domain.caller import Caller
from server.domain.validation import check_byok_key
from server.rpc import client_ip, metadata_of
from server.services.messages import opt, struct_dict


def caller_from(
    context: grpc.aio.ServicerContext,
    principal: Principal,
    *,
    provider: str | None,
    model: str | None,
    byok_key: str | None,
    extra: dict[str, Any] | None = None,
) -> Caller:
    """A Caller from routing values however the request carried them (JSON fields, form fields)."""
    extra = {} if extra is None else extra
    check_byok_key(byok_key)
    session_id = metadata_of(context).get("x-session-id") or extra.pop("session_id", None)
    return Caller(
        principal,
        provider=provider,
        model=model,
        byok_key=byok_key,
        session_id=str(session_id) if session_id else None,
        client_ip=client_ip(context),
        extra=extra,
    )


def caller_of(request: Message, context: grpc.aio.ServicerContext, principal: Principal) -> Caller:
    """The Caller of a JSON request: its `provider`, `model`, `byok_api_key` and `additional_params` fields."""
    return caller_from(
        context,
        principal,
        provider=opt(request, "provider"),
        model=opt(request, "model"),
        byok_key=opt(request, "byok_api_key"),
        extra=struct_dict(request, "additional_params"),
    )
