"""Answers every RPC that no capability implements yet with UNIMPLEMENTED (REST 501) naming the
endpoint: never a fake success. Built from the descriptors, so new protos are covered automatically."""

from __future__ import annotations

from google.api import annotations_pb2
from google.protobuf.descriptor import MethodDescriptor

from server.errors import NotImplementedYet
from server.rpc import streaming, unary

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def rest_route(method: MethodDescriptor) -> str:
    """ "POST /api/v1/..." from the google.api.http option, else the gRPC method name."""
    rule = method.GetOptions().Extensions[annotations_pb2.http]
    for verb in HTTP_METHODS:
        path = getattr(rule, verb)
        if path:
            return f"{verb.upper()} {path}"
    return f"/{method.containing_service.full_name}/{method.name}"


def _handler(method: MethodDescriptor):
    route = rest_route(method)

    async def fail() -> None:
        raise NotImplementedYet(f"{route} is not implemented yet")

    if method.server_streaming:

        @streaming(auth=False)
        async def stream_handler(self, request, context, principal):
            await fail()
            yield  # pragma: no cover - makes this an async generator

        return stream_handler

    @unary(auth=False)
    async def unary_handler(self, request, context, principal):
        await fail()

    return unary_handler


def fill_unimplemented(servicer_cls: type, generated_base: type, service: object) -> type:
    """A subclass of servicer_cls where every method still inherited from the generated base answers 501."""
    missing = {
        m.name: _handler(m) for m in service.methods if getattr(servicer_cls, m.name) is getattr(generated_base, m.name)
    }
    return type(servicer_cls.__name__, (servicer_cls,), missing)
