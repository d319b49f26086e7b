"""OpenAIService: the OpenAI-compatible surface at /v1, a thin servicer over the same domain layer as /api/v1.

Bodies arrive and leave as raw google.api.HttpBody: `server.domain.openai_surface` reads OpenAI's JSON into
the domain's inputs and writes the domain's results as OpenAI's objects; routing, reservation, the provider
call and settlement are `inference`, `embeddings` and `media`, exactly as for /api/v1. Usage records name
the surface (`openai.chat`, `openai.responses`, ...). Errors use OpenAI's body and statuses.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

import orjson
from google.api import httpbody_pb2
from indoxhub.v1 import openai_pb2_grpc

from server.domain import embeddings, inference, media
from server.domain.auth import Principal
from server.domain.caller import Caller
from server.domain.multipart import parse_form
from server.domain.openai_surface import chat, common, fields, models, responses_api
from server.domain.openai_surface import embeddings as oai_embeddings
from server.domain.openai_surface import media as oai_media
from server.domain.openai_surface.errors import on_surface
from server.errors import log_unexpected, sse_error_event
from server.hub import Hub
from server.rpc import Undecodable, abort, authenticated, request_id, unary
from server.services.caller import caller_from

SSE_DONE = b"data: [DONE]\n\n"
STREAM_HEADERS = (("cache-control", "no-cache"),)


def _json(obj: Any) -> httpbody_pb2.HttpBody:
    return httpbody_pb2.HttpBody(content_type="application/json", data=orjson.dumps(obj))


def _data(obj: dict[str, Any]) -> httpbody_pb2.HttpBody:
    return httpbody_pb2.HttpBody(content_type="text/event-stream", data=b"data: " + orjson.dumps(obj) + b"\n\n")


def _event(obj: dict[str, Any]) -> httpbody_pb2.HttpBody:
    """A Responses event: OpenAI sends the type as the SSE event name as well."""
    head = b"event: " + obj["type"].encode() + b"\n"
    return httpbody_pb2.HttpBody(content_type="text/event-stream", data=head + b"data: " + orjson.dumps(obj) + b"\n\n")


def _streaming(renames: dict[str, str] | None = None) -> Callable:
    """Before the first chunk, a failure is a plain HTTP error (OpenAI's body, fields named as on this surface:
    `renames`); after it, an error chunk and `[DONE]` end the stream (its 200 is already sent)."""

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        async def wrapper(self, request, context):
            started = False
            try:
                if type(request) is Undecodable:
                    raise request.error
                principal = await authenticated(self.hub, context)
                async for chunk in fn(self, request, context, principal):
                    started = True
                    yield chunk
            except Exception as exc:
                if not started:
                    await abort(context, on_surface(exc, renames), "openai")
                    return
                log_unexpected(exc, request_id(context))
                yield _data(sse_error_event(exc, "openai"))
                yield httpbody_pb2.HttpBody(content_type="text/event-stream", data=SSE_DONE)

        return wrapper

    return deco


def _caller(
    context, principal: Principal, model: str | None, byok: str | None, session_id: str | None, **extra: Any
) -> Caller:
    """The model is "provider/model" (a bare name means OpenAI, as on /api/v1); `extra` goes to the provider."""
    if session_id:
        extra["session_id"] = session_id
    return caller_from(context, principal, provider=None, model=model, byok_key=byok, extra=extra)


class OpenAIServicer(openai_pb2_grpc.OpenAIServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    async def _prepare(self, req: common.Request, context, principal: Principal, endpoint: str):
        caller = _caller(context, principal, req.model, req.byok_key, req.session_id, **req.extra)
        return await inference.prepare(self.hub, caller, endpoint=endpoint, params=req.params)

    async def _events(self, call: inference.ChatCall, context, translate: Callable):
        """inference's stream through `translate` (event -> list of OpenAI objects); headers after the first
        upstream item, so failures before any output are still plain HTTP errors."""
        async with contextlib.aclosing(inference.run_stream(self.hub, call)) as events:
            first = await anext(events)
            await context.send_initial_metadata((*STREAM_HEADERS, ("x-stream-id", call.response_id)))
            for out in translate(first):
                yield out
            async for event in events:
                for out in translate(event):
                    yield out

    @_streaming()
    async def CreateChatCompletion(self, request, context, principal):
        req = chat.parse(fields.parse_object(request.data))
        call = await self._prepare(req, context, principal, "openai.chat")
        if not req.stream:
            yield _json(chat.completion(await inference.run_unary(self.hub, call)))
            return
        chunks = chat.ChunkStream(req.include_usage)
        async for chunk in self._events(call, context, chunks.feed):
            yield _data(chunk)
        yield httpbody_pb2.HttpBody(content_type="text/event-stream", data=SSE_DONE)

    @_streaming({"max_tokens": "max_output_tokens", "messages": "input"})
    async def CreateResponse(self, request, context, principal):
        req = responses_api.parse(fields.parse_object(request.data))
        call = await self._prepare(req, context, principal, "openai.responses")
        if not req.stream:
            yield _json(responses_api.response(req.echo, await inference.run_unary(self.hub, call)))
            return
        stream = responses_api.EventStream(req.echo)
        async for event in self._events(call, context, stream.feed):
            yield _event(event)

    @unary(style="openai")
    async def CreateEmbedding(self, request, context, principal):
        req = oai_embeddings.parse(fields.parse_object(request.data))
        caller = _caller(context, principal, req.model, req.byok_key, req.session_id, **req.extra)
        done = await embeddings.embed(self.hub, caller, text=req.texts, endpoint="openai.embedding")
        body = oai_embeddings.response(done.provider, done.model, done.vectors, done.usage.input_tokens, req.base64)
        return _json(body)

    @unary(style="openai")
    async def ListModels(self, request, context, principal):
        return _json(models.listing(self.hub.catalog))

    @unary(style="openai")
    async def RetrieveModel(self, request, context, principal):
        return _json(models.one(self.hub.catalog, request.model))

    @unary(style="openai")
    async def CreateImage(self, request, context, principal):
        req = oai_media.parse_image(fields.parse_object(request.data))
        caller = _caller(context, principal, req.model, req.byok_key, req.session_id)
        billed = await media.generate_images(self.hub, caller, fields=req.fields, endpoint="openai.image")
        return _json(oai_media.images_response(billed.result))

    @unary(style="openai")
    async def CreateSpeech(self, request, context, principal):
        req = oai_media.parse_speech(fields.parse_object(request.data))
        caller = _caller(context, principal, req.model, req.byok_key, req.session_id)
        billed = await media.text_to_speech(self.hub, caller, fields=req.fields, endpoint="openai.tts")
        return httpbody_pb2.HttpBody(content_type=billed.result.content_type, data=billed.result.audio)

    async def _transcribe(self, request, context, principal, kind: str) -> httpbody_pb2.HttpBody:
        form = parse_form(request.content_type, request.data, max_file_bytes=self.hub.settings.max_body_bytes)
        form = oai_media.transcription_form(form)
        caller = _caller(
            context, principal, form.get("model") or None, form.get("byok_api_key") or None, form.get("session_id")
        )
        billed = await media.transcribe(self.hub, caller, kind=kind, form=form, surface="openai.")
        content_type, data = oai_media.transcript_body(billed.result)
        return httpbody_pb2.HttpBody(content_type=content_type, data=data)

    @unary(style="openai")
    async def CreateTranscription(self, request, context, principal):
        return await self._transcribe(request, context, principal, "transcriptions")

    @unary(style="openai")
    async def CreateTranslation(self, request, context, principal):
        return await self._transcribe(request, context, principal, "translations")
