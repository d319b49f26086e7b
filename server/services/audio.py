"""AudioService: text-to-speech (JSON) and speech-to-text uploads (multipart/form-data as HttpBody)."""

from __future__ import annotations

import base64

from indoxhub.v1 import audio_pb2, audio_pb2_grpc

from server.domain import media
from server.domain.multipart import parse_form
from server.hub import Hub
from server.rpc import client_ip, metadata_of, unary
from server.services.images import media_usage, request_fields
from server.services.messages import opt, struct_dict, struct_value


def _response(billed: media.Billed, data: dict, message: str) -> audio_pb2.AudioResponse:
    return audio_pb2.AudioResponse(
        request_id=billed.request_id,
        created_at=billed.created_at,
        duration_ms=round(billed.duration_ms, 3),
        provider=billed.provider,
        model=billed.model,
        success=True,
        message=message,
        usage=media_usage(billed),
        data=struct_value(data),
    )


class AudioServicer(audio_pb2_grpc.AudioServiceServicer):
    def __init__(self, hub: Hub):
        self.hub = hub

    @unary()
    async def CreateTextToSpeech(self, request, context, principal):
        extra = struct_dict(request, "additional_params")
        billed = await media.text_to_speech(
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
        billed = await media.transcribe(
            self.hub,
            principal,
            kind=kind,
            form=form,
            session_id=media.session_of(metadata_of(context), {}),
            client_ip=client_ip(context),
        )
        done = "Audio transcribed" if kind == "transcriptions" else "Audio translated to English"
        return _response(billed, media.transcript_data(billed.result), done)

    @unary()
    async def CreateTranscription(self, request, context, principal):
        return await self._transcribe(request, context, principal, "transcriptions")

    @unary()
    async def CreateTranslation(self, request, context, principal):
        return await self._transcribe(request, context, principal, "translations")
