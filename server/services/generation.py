"""ChatService and CompletionsService: REST (JSON or SSE in HttpBody) and typed gRPC (unary and stream)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import orjson
from google.api import httpbody_pb2
from google.protobuf.message import Message
from indoxhub.v1 import chat_pb2_grpc, completions_pb2, completions_pb2_grpc, responses_pb2

from server.domain import inference
from server.domain.auth import Principal
from server.domain.validation import Checker, check_messages, check_sampling
from server.errors import NotFound
from server.providers.base import ChatParams
from server.rpc import streaming, unary
from server.services.caller import caller_of
from server.services.messages import opt, to_message, value_py

if TYPE_CHECKING:
    from server.hub import Hub

SSE_DONE = b"data: [DONE]\n\n"


def _sse(event: dict[str, Any]) -> httpbody_pb2.HttpBody:
    return httpbody_pb2.HttpBody(content_type="text/event-stream", data=b"data: " + orjson.dumps(event) + b"\n\n")


def _params(request, messages: list[dict[str, Any]], extra: dict[str, Any]) -> ChatParams:
    return ChatParams(
        model="",
        messages=messages,
        temperature=opt(request, "temperature"),
        max_tokens=opt(request, "max_tokens"),
        top_p=opt(request, "top_p"),
        frequency_penalty=opt(request, "frequency_penalty"),
        presence_penalty=opt(request, "presence_penalty"),
        extra=extra,
    )


class _Generation:
    """Shared by chat and completions: they differ only in how the request becomes messages."""

    endpoint = ""
    response_type: type[Message]

    def __init__(self, hub: Hub):
        self.hub = hub

    def messages(self, request, checker: Checker) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def prepare(self, request, context, principal: Principal) -> inference.ChatCall:
        checker = Checker()
        messages = self.messages(request, checker)
        check_sampling(
            checker,
            opt(request, "temperature"),
            opt(request, "top_p"),
            opt(request, "max_tokens"),
            opt(request, "frequency_penalty"),
            opt(request, "presence_penalty"),
        )
        checker.done()
        caller = caller_of(request, context, principal)
        params = _params(request, messages, caller.extra)
        return await inference.prepare(self.hub, caller, endpoint=self.endpoint, params=params)

    async def rest(self, request, context, principal: Principal):
        call = await self.prepare(request, context, principal)
        if not opt(request, "stream"):
            body = await inference.run_unary(self.hub, call)
            yield httpbody_pb2.HttpBody(content_type="application/json", data=orjson.dumps(body))
            return
        async with contextlib.aclosing(inference.run_stream(self.hub, call)) as events:
            first = await anext(events)  # upstream failures before any output still raise as HTTP errors here
            await context.send_initial_metadata((("cache-control", "no-cache"), ("x-stream-id", call.response_id)))
            yield _sse(first)
            async for event in events:
                yield _sse(event)
        yield httpbody_pb2.HttpBody(content_type="text/event-stream", data=SSE_DONE)

    async def typed(self, request, context, principal: Principal) -> Message:
        """The unary answer as the service's typed response (ChatResponse or CompletionResponse)."""
        call = await self.prepare(request, context, principal)
        return to_message(await inference.run_unary(self.hub, call), self.response_type)

    async def typed_stream(self, request, context, principal: Principal):
        call = await self.prepare(request, context, principal)
        async with contextlib.aclosing(inference.run_stream(self.hub, call)) as events:
            async for event in events:
                yield to_message(event, responses_pb2.StreamEvent)

    async def stop(self, request, principal: Principal) -> responses_pb2.StopStreamResponse:
        if not await self.hub.streams.stop(request.stream_id, principal.user_id):
            raise NotFound(f"Stream '{request.stream_id}' not found or already finished")
        return responses_pb2.StopStreamResponse(success=True, message="Stream stopped", stream_id=request.stream_id)


class ChatServicer(_Generation, chat_pb2_grpc.ChatServiceServicer):
    endpoint = "chat"
    response_type = responses_pb2.ChatResponse

    def messages(self, request, checker: Checker) -> list[dict[str, Any]]:
        messages = [
            {"role": m.role, "content": value_py(m, "content", ["body", "messages", i, "content"])}
            for i, m in enumerate(request.messages)
        ]
        check_messages(checker, messages)
        return messages

    @streaming()
    async def CreateChatCompletion(self, request, context, principal):
        async for chunk in self.rest(request, context, principal):
            yield chunk

    @unary()
    async def Chat(self, request, context, principal):
        return await self.typed(request, context, principal)

    @streaming()
    async def StreamChat(self, request, context, principal):
        async for event in self.typed_stream(request, context, principal):
            yield event

    @unary()
    async def StopStream(self, request, context, principal):
        return await self.stop(request, principal)


class CompletionsServicer(_Generation, completions_pb2_grpc.CompletionsServiceServicer):
    endpoint = "completion"
    response_type = completions_pb2.CompletionResponse

    def messages(self, request, checker: Checker) -> list[dict[str, Any]]:
        if not request.prompt:
            checker.add(["body", "prompt"], "Field required", "missing")
        return [{"role": "user", "content": request.prompt}]

    @streaming()
    async def CreateCompletion(self, request, context, principal):
        async for chunk in self.rest(request, context, principal):
            yield chunk

    @unary()
    async def Complete(self, request, context, principal):
        return await self.typed(request, context, principal)

    @streaming()
    async def StreamComplete(self, request, context, principal):
        async for event in self.typed_stream(request, context, principal):
            yield event

    @unary()
    async def StopStream(self, request, context, principal):
        return await self.stop(request, principal)
