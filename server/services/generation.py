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
from server.domain.validation import (
    Checker,
    check_agent_messages,
    check_messages,
    check_output_options,
    check_response_format,
    check_sampling,
    check_tool_choice,
    check_tools,
)
from server.errors import NotFound
from server.providers.base import ChatParams
from server.rpc import streaming, unary
from server.services.caller import caller_of
from server.services.messages import opt, struct_dict, to_message, value_py

if TYPE_CHECKING:
    from server.hub import Hub

SSE_DONE = b"data: [DONE]\n\n"


def _sse(event: dict[str, Any]) -> httpbody_pb2.HttpBody:
    return httpbody_pb2.HttpBody(content_type="text/event-stream", data=b"data: " + orjson.dumps(event) + b"\n\n")


# The agentic options: typed request fields, or the same names in additional_params (what OpenAI-style
# clients put there). They are taken out of `extra`, so adapters translate them instead of passing them on.
AGENTIC = ("tools", "tool_choice", "parallel_tool_calls", "response_format", "stop", "seed", "reasoning_effort")


def _typed_agentic(request) -> dict[str, Any]:
    """The agentic fields the request set as typed fields (ChatRequest only)."""
    fields = request.DESCRIPTOR.fields_by_name
    if "tools" not in fields:
        return {}
    out: dict[str, Any] = {}
    if request.tools:
        out["tools"] = [
            {
                "type": t.type or "function",
                "function": {
                    k: v
                    for k, v in {
                        "name": t.function.name,
                        "description": t.function.description or None,
                        "parameters": struct_dict(t.function, "parameters") or None,
                        "strict": opt(t.function, "strict"),
                    }.items()
                    if v is not None
                },
            }
            for t in request.tools
        ]
    for name in ("tool_choice",):
        if request.HasField(name):
            out[name] = value_py(request, name, ["body", name])
    if request.HasField("response_format"):
        out["response_format"] = struct_dict(request, "response_format")
    for name in ("parallel_tool_calls", "seed", "reasoning_effort"):
        if (value := opt(request, name)) is not None:
            out[name] = value
    if request.stop:
        out["stop"] = list(request.stop)
    return out


def agentic_options(request, extra: dict[str, Any], checker: Checker) -> dict[str, Any]:
    """Validated agentic options (typed fields win over additional_params); removes them from `extra`."""
    options = {name: extra.pop(name) for name in AGENTIC if name in extra}
    options.update(_typed_agentic(request))
    if isinstance(options.get("stop"), str):
        options["stop"] = [options["stop"]]
    loc = ["body", "additional_params"]
    check_tools(checker, options.get("tools"), [*loc, "tools"])
    check_tool_choice(checker, options.get("tool_choice"), options.get("tools"), [*loc, "tool_choice"])
    check_response_format(checker, options.get("response_format"), [*loc, "response_format"])
    check_output_options(
        checker,
        options.get("stop"),
        options.get("seed"),
        options.get("reasoning_effort"),
        options.get("parallel_tool_calls"),
        loc,
    )
    if options.get("response_format", {}).get("type") == "text":
        options.pop("response_format")
    return {k: v for k, v in options.items() if v is not None}


def _params(request, messages: list[dict[str, Any]], extra: dict[str, Any], options: dict[str, Any]) -> ChatParams:
    return ChatParams(
        model="",
        messages=messages,
        temperature=opt(request, "temperature"),
        max_tokens=opt(request, "max_tokens"),
        top_p=opt(request, "top_p"),
        frequency_penalty=opt(request, "frequency_penalty"),
        presence_penalty=opt(request, "presence_penalty"),
        extra=extra,
        **options,
    )


def _typed_part(part) -> dict[str, Any]:
    if part.type == "image_url":
        image = {"url": part.image_url.url}
        if part.image_url.detail:
            image["detail"] = part.image_url.detail
        return {"type": "image_url", "image_url": image}
    if part.type == "file":
        file = {"file_data": part.file.file_data}
        if part.file.filename:
            file["filename"] = part.file.filename
        return {"type": "file", "file": file}
    return {"type": part.type or "text", "text": part.text}


def message_dict(m, i: int) -> dict[str, Any]:
    """A ChatMessage as the internal OpenAI-shaped dict (content, tool_calls, tool_call_id, name)."""
    content = value_py(m, "content", ["body", "messages", i, "content"])
    if content is None and m.parts:
        content = [_typed_part(p) for p in m.parts]
    out: dict[str, Any] = {"role": m.role, "content": content}
    if m.tool_calls:
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": c.type or "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments or "{}"},
            }
            for c in m.tool_calls
        ]
    if m.HasField("tool_call_id"):
        out["tool_call_id"] = m.tool_call_id
    if m.HasField("name"):
        out["name"] = m.name
    if m.HasField("reasoning_content"):
        out["reasoning_content"] = m.reasoning_content
    return out


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
        caller = caller_of(request, context, principal)
        options = agentic_options(request, caller.extra, checker)
        checker.done()
        params = _params(request, messages, caller.extra, options)
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
        messages = [message_dict(m, i) for i, m in enumerate(request.messages)]
        check_messages(checker, messages)
        check_agent_messages(checker, messages)
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
