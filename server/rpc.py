"""Decorators that make servicer methods thin: authenticate, run, and turn any failure into the
gRPC status + REST status chosen in server.errors (the one place where that mapping lives)."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar

import grpc
from google.protobuf.message import DecodeError, Message

from server.domain.auth import Principal, authenticate
from server.errors import Style, ValidationFailed, log_unexpected, to_grpc

log = logging.getLogger("hub.rpc")


class Undecodable:
    """What `safe_deserializer` hands a method instead of a request it could not decode, so the method's
    decorator answers a 422 instead of the gRPC library answering an opaque INTERNAL error."""

    __slots__ = ("error",)

    def __init__(self, error: ValidationFailed) -> None:
        self.error = error


def _decode_failure(exc: DecodeError) -> ValidationFailed:
    text = str(exc)
    if "MaxDepth" in text:
        return ValidationFailed.single(["body"], "Input is nested too deeply", "json_invalid")
    if "UTF-8" in text:
        msg = "Input should be a valid string, unable to parse raw data as a unicode string"
        return ValidationFailed.single(["path"], msg, "string_unicode")
    return ValidationFailed.single(["body"], "Input could not be decoded", "json_invalid")


def safe_deserializer(cls: type[Message]) -> Callable[[bytes], Message | Undecodable]:
    """`cls.FromString`, except that invalid UTF-8 in a string or nesting beyond protobuf's depth limit (both of
    which Envoy lets through) become an `Undecodable` the method answers with 422."""
    from_string = cls.FromString

    def deserialize(data: bytes) -> Message | Undecodable:
        try:
            return from_string(data)
        except DecodeError as exc:
            return Undecodable(_decode_failure(exc))

    return deserialize


# The current call's metadata as a dict: read several times per request (auth, session, address), built once.
_METADATA: ContextVar[tuple[object, dict[str, str]] | None] = ContextVar("hub_call_metadata", default=None)


def metadata_of(context: grpc.aio.ServicerContext) -> dict[str, str]:
    """The call's text metadata (do not modify: the dict is shared by every reader of this call)."""
    cached = _METADATA.get()
    if cached is not None and cached[0] is context:
        return cached[1]
    metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
    _METADATA.set((context, metadata))
    return metadata


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


RECEIVED_AT = "x-hub-received-at"  # set by Envoy (envoy.yaml.tmpl): when it received the request, epoch seconds


async def authenticated(hub, context: grpc.aio.ServicerContext) -> Principal:
    """The caller's principal (401 otherwise). Every authenticated call comes through here, so it is also where
    the ledger learns how long requests queue (server.db.ledger)."""
    metadata = metadata_of(context)
    hub.ledger.queue_wait.observe(metadata.get(RECEIVED_AT))
    return await authenticate(hub, metadata)


async def _principal(self, context, auth: bool) -> Principal | None:
    return await authenticated(self.hub, context) if auth else None


def unary(auth: bool = True, style: Style = "hub") -> Callable:
    """For `async def method(self, request, context, principal) -> response`; `style` picks the error body."""

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        async def wrapper(self, request, context):
            try:
                if type(request) is Undecodable:
                    raise request.error
                principal = await _principal(self, context, auth)
                return await fn(self, request, context, principal)
            except Exception as exc:
                await abort(context, exc, style)

        wrapper.requires_auth = auth  # read by server.openapi (which routes need a key)
        return wrapper

    return deco


def streaming(auth: bool = True, style: Style = "hub") -> Callable:
    """For `async def method(self, request, context, principal)` async generators; `style` picks the error body."""

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        async def wrapper(self, request, context) -> AsyncIterator:
            try:
                if type(request) is Undecodable:
                    raise request.error
                principal = await _principal(self, context, auth)
                async for item in fn(self, request, context, principal):
                    yield item
            except Exception as exc:
                await abort(context, exc, style)

        wrapper.requires_auth = auth  # read by server.openapi (which routes need a key)
        return wrapper

    return deco
