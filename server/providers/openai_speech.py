"""Text-to-speech in the OpenAI wire format (`POST /audio/speech`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from server.errors import UpstreamError
from server.providers.base import (
    ProviderConfig,
    Speech,
    SpeechCall,
)
from server.providers.http import send_checked
from server.providers.media_fields import choice, invalid
from server.providers.openai_format import headers, merge_extra

SPEECH_FORMATS = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
MAX_SPEECH_CHARS = 4096


def prepare_speech(model: str, text: str, fields: Mapping[str, Any], extra: dict[str, Any]) -> SpeechCall:
    """POST /audio/speech: voice defaults to alloy; instructions only for models that take them (not tts-1*)."""
    if len(text) > MAX_SPEECH_CHARS:
        raise invalid("input", f"input must be at most {MAX_SPEECH_CHARS} characters for {model}")
    fmt = choice(fields, "response_format", tuple(SPEECH_FORMATS), model) or "mp3"
    voice = fields.get("voice") or "alloy"
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", voice):
        raise invalid("voice", "voice must be a voice name such as 'alloy'")
    speed = fields.get("speed")
    if speed is not None and not 0.25 <= speed <= 4.0:
        raise invalid("speed", "speed must be from 0.25 to 4.0")
    body: dict[str, Any] = {"model": model, "input": text, "voice": voice, "response_format": fmt}
    if speed is not None:
        body["speed"] = speed
    if fields.get("instructions"):
        if model.startswith("tts-1"):
            raise invalid("instructions", f"{model} does not take instructions (gpt-4o-mini-tts does)")
        body["instructions"] = fields["instructions"]
    return SpeechCall(merge_extra(body, extra, frozenset({"model", "input"})), fmt)


async def speech(
    client: httpx.AsyncClient, cfg: ProviderConfig, call: SpeechCall, api_key: str, *, byok: bool
) -> Speech:
    url = f"{cfg.base_url}/audio/speech"
    json_headers = {**headers(api_key), "content-type": "application/json"}
    response = await send_checked(
        client,
        cfg.id,
        lambda: client.post(url, headers=json_headers, content=orjson.dumps(call.body)),
        byok=byok,
    )
    if not response.content:
        raise UpstreamError(cfg.id, 502, "the provider returned no audio")
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if not content_type or content_type == "application/octet-stream":
        content_type = SPEECH_FORMATS[call.response_format]
    return Speech(response.content, content_type, call.response_format)
