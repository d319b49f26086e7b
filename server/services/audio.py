"""AudioService: text-to-speech (JSON) and speech-to-text uploads (multipart/form-data as HttpBody)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from indoxhub.v1 import audio_pb2, audio_pb2_grpc

from server.domain import media
from server.domain.multipart import parse_form
from server.rpc import unary
from server.services.caller import caller_from, caller_of
from server.services.media_shared import media_response, request_fields
from server.services.messages import struct_value

if TYPE_CHECKING:
    from server.hub import Hub


def _response(billed: media.Billed, data: dict, message: str) -> audio_pb2.AudioResponse:
    return media_response(audio_pb2.AudioResponse, billed, message, struct_value(data))


class AudioServicer(audio_pb2_grpc.AudioServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    @unary()
    async def CreateTextToSpeech(self, request, context, principal):
        caller = caller_of(request, context, principal)
        billed = await media.text_to_speech(self.hub, caller, fields=request_fields(request))
        speech = billed.result
        data = {
            "audio": base64.b64encode(speech.audio).decode("ascii"),
            "format": speech.response_format,
            "content_type": speech.content_type,
            "size": len(speech.audio),
            "encoding": "base64",
        }
        return _response(billed, data, "Speech generated")

    async def _transcribe(self, request, context, principal, kind: str) -> audio_pb2.AudioResponse:
        form = parse_form(request.content_type, request.data, max_file_bytes=self.hub.settings.max_body_bytes)
        caller = caller_from(  # an upload names its provider, model and key in form fields
            context,
            principal,
            provider=form.get("provider") or None,
            model=form.get("model") or None,
            byok_key=form.get("byok_api_key") or None,
        )
        billed = await media.transcribe(self.hub, caller, kind=kind, form=form)
        done = "Audio transcribed" if kind == "transcriptions" else "Audio translated to English"
        return _response(billed, media.transcript_data(billed.result), done)

    @unary()
    async def CreateTranscription(self, request, context, principal):
        return await self._transcribe(request, context, principal, "transcriptions")

    @unary()
    async def CreateTranslation(self, request, context, principal):
        return await self._transcribe(request, context, principal, "translations")
