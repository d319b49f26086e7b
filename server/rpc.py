"""Decorators that make servicer methods thin: authenticate, run, and turn any failure into the
gRPC status + REST status chosen in server.errors (the one place where that mapping lives)."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable

import grpc

from server.domain.auth import Principal, authenticate
from server.errors import Style, log_unexpected, to_grpc

log = logging.getLogger("hub.rpc")


def metadata_of(context: grpc.aio.ServicerContext) -> dict[str, str]:
    return {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}


def client_ip(context: grpc.aio.ServicerContext) -> str | None:
    """The REST caller's address from Envoy's x-forwarded-for, else the gRPC peer's."""
    forwarded = metadata_of(context).get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[-1].strip()
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    return rest.rsplit(":", 1)[0].strip("[]") if kind in ("ipv4", "ipv6") else None


def request_id(context: grpc.aio.ServicerContext) -> str | None:
    """Envoy's x-request-id (REST callers), so a logged internal error can be matched to a caller's report."""
    return metadata_of(context).get("x-request-id")


async def abort(context: grpc.aio.ServicerContext, exc: BaseException, style: Style = "hub") -> None:
    log_unexpected(exc, request_id(context))
    code, message, trailers = to_grpc(exc, style)
    await context.abort(code, message, trailing_metadata=trailers)


async def _principal(self, context, auth: bool) -> Principal | None:
    return await authenticate(self.hub, metadata_of(context)) if auth else None


def unary(auth: bool = True, style: Style = "hub") -> Callable:
    """For `async def method(self, request, context, principal) -> response`; `style` picks the error body."""

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        async def wrapper(self, request, context):
            try:
                principal = await _principal(self, context, auth)
                return await fn(self, request, context, principal)
            except Exception as exc:
                await abort(context, exc, style)

        return wrapper

    return deco


def streaming(auth: bool = True, style: Style = "hub") -> Callable:
    """For `async def method(self, request, context, principal)` async generators; `style` picks the error body."""

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        async def wrapper(self, request, context) -> AsyncIterator:
            try:
                principal = await _principal(self, context, auth)
                async for item in fn(self, request, context, principal):
                    yield item
            except Exception as exc:
                await abort(context, exc, style)

        return wrapper

    return deco
