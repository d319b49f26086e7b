"""POST /v1/images/generations, /v1/audio/speech, /v1/audio/transcriptions and /v1/audio/translations: OpenAI's
request fields into the fields the media domain takes, and its results into OpenAI's answers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from server.domain.multipart import Form
from server.domain.openai_surface import common
from server.domain.openai_surface.fields import Body
from server.providers.base import GeneratedImage, Transcript

_IMAGE_STRINGS = ("size", "quality", "style", "response_format", "background", "moderation", "output_format")
_SPEECH_STRINGS = ("voice", "instructions", "response_format")


@dataclass
class MediaRequest:
    model: str | None
    fields: dict[str, Any]
    byok_key: str | None
    session_id: str | None


def parse_image(data: dict[str, Any]) -> MediaRequest:
    body = Body(data, common.IGNORED)
    fields: dict[str, Any] = {"prompt": body.string("prompt", required=True)}
    model = body.string("model")
    for name in _IMAGE_STRINGS:
        fields[name] = body.string(name)
    fields["n"] = body.integer("n", 1, 10)
    fields["output_compression"] = body.integer("output_compression", 0, 100)
    byok, session_id, _ = common.extensions(body)
    body.done()
    return MediaRequest(model, {k: v for k, v in fields.items() if v is not None}, byok, session_id)


def images_response(images: list[GeneratedImage]) -> dict[str, Any]:
    data = []
    for image in images:
        item: dict[str, Any] = {}
        if image.b64_json is not None:
            item["b64_json"] = image.b64_json
        if image.url is not None:
            item["url"] = image.url
        if image.revised_prompt:
            item["revised_prompt"] = image.revised_prompt
        data.append(item)
    return {"created": int(time.time()), "data": data}


def parse_speech(data: dict[str, Any]) -> MediaRequest:
    body = Body(data, common.IGNORED | {"stream_format"})
    fields: dict[str, Any] = {"input": body.string("input", required=True)}
    model = body.string("model", required=True)
    for name in _SPEECH_STRINGS:
        fields[name] = body.string(name)
    fields["speed"] = body.number("speed", 0.25, 4.0)
    byok, session_id, _ = common.extensions(body)
    body.done()
    return MediaRequest(model, {k: v for k, v in fields.items() if v is not None}, byok, session_id)


def transcription_form(form: Form) -> Form:
    """The SDKs send a list field as repeated `timestamp_granularities[]`; the domain reads one JSON list."""
    values = form.fields.get("timestamp_granularities[]")
    if not values:
        return form
    fields = {k: v for k, v in form.fields.items() if k != "timestamp_granularities[]"}
    fields["timestamp_granularities"] = [orjson.dumps(values).decode()]
    return Form(fields=fields, files=form.files)


def transcript_body(transcript: Transcript) -> tuple[str, bytes]:
    """(content type, body) as OpenAI answers: JSON for json / verbose_json, plain text for text, srt and vtt."""
    if transcript.data is not None:
        data = {k: v for k, v in transcript.data.items() if k != "usage"}
        return "application/json", orjson.dumps(data)
    if transcript.response_format in ("json", "verbose_json"):
        return "application/json", orjson.dumps({"text": transcript.text})
    return "text/plain; charset=utf-8", transcript.text.encode()
