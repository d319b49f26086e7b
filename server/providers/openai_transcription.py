"""Transcription and translation in the OpenAI wire format (`/audio/transcriptions`, `/audio/translations`,
multipart), also Groq's Whisper."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from server.errors import UpstreamError
from server.providers.base import (
    ProviderConfig,
    Transcript,
    TranscriptionCall,
)
from server.providers.http import send_checked
from server.providers.media_fields import choice, invalid
from server.providers.openai_format import headers

TRANSCRIPT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
TRANSLATION_MODELS = ("whisper-1", "whisper-large-v3")  # OpenAI's and Groq's translation-capable models
_TIMESTAMP = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{3})\s*-->\s*(\d+):(\d{2}):(\d{2})[,.](\d{3})")


def _whisper(model: str) -> bool:
    return model.startswith("whisper")


def prepare_transcription(model: str, kind: str, fields: Mapping[str, Any]) -> TranscriptionCall:
    """Form fields for /audio/transcriptions or /audio/translations, checked against what `model` takes.

    `fields` holds the caller's parsed values: language, prompt, response_format, temperature (float) and
    timestamp_granularities (a list of strings).
    """
    if kind == "translations" and model not in TRANSLATION_MODELS:
        raise invalid("model", f"Translation is only available with {' or '.join(TRANSLATION_MODELS)}, not {model}")
    formats = TRANSCRIPT_FORMATS if _whisper(model) else ("json", "text")
    fmt = choice(fields, "response_format", formats, model) or "json"
    out: list[tuple[str, str]] = [("model", model), ("response_format", fmt)]
    for name in ("prompt", "language") if kind == "transcriptions" else ("prompt",):
        if fields.get(name):
            out.append((name, fields[name]))
    if fields.get("temperature") is not None:
        out.append(("temperature", repr(float(fields["temperature"]))))
    granularities = fields.get("timestamp_granularities") if kind == "transcriptions" else None
    if granularities:
        if not _whisper(model):
            raise invalid("timestamp_granularities", f"{model} does not take timestamp_granularities (whisper-1 does)")
        if fmt != "verbose_json":
            raise invalid("timestamp_granularities", "timestamp_granularities needs response_format 'verbose_json'")
        out += [("timestamp_granularities[]", g) for g in granularities]
    return TranscriptionCall(kind, out, fmt)


def subtitle_end_seconds(text: str) -> float | None:
    """The end time of the last cue of an SRT or VTT text."""
    ends = [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for *_, h, m, s, ms in _TIMESTAMP.findall(text or "")]
    return max(ends) if ends else None


def parse_transcript(body: bytes, response_format: str, provider: str) -> Transcript:
    if response_format in ("json", "verbose_json"):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UpstreamError(provider, 502, "the provider answered with invalid JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise UpstreamError(provider, 502, "the provider's transcript has no text")
        seconds = data.get("duration")
        usage = data.get("usage")
        if not isinstance(seconds, int | float) and isinstance(usage, dict) and usage.get("type") == "duration":
            seconds = usage.get("seconds")
        seconds = float(seconds) if isinstance(seconds, int | float) and not isinstance(seconds, bool) else None
        return Transcript(data["text"], response_format, data, seconds)
    text = body.decode("utf-8", "replace")
    seconds = subtitle_end_seconds(text) if response_format in ("srt", "vtt") else None
    return Transcript(text, response_format, None, seconds)


async def transcribe(
    client: httpx.AsyncClient,
    cfg: ProviderConfig,
    call: TranscriptionCall,
    upload: tuple[str, bytes, str],
    api_key: str,
    *,
    byok: bool,
) -> Transcript:
    """POSTs the audio (filename, bytes, content type) as multipart; the answer in the requested format."""
    url = f"{cfg.base_url}/audio/{call.kind}"
    response = await send_checked(
        client,
        cfg.id,
        lambda: client.post(url, headers=headers(api_key), data=_form_dict(call.fields), files={"file": upload}),
        byok=byok,
    )
    return parse_transcript(response.content, call.response_format, cfg.id)


def _form_dict(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """httpx form data: repeated names become lists (sent as repeated fields)."""
    out: dict[str, str | list[str]] = {}
    for name, value in pairs:
        if name in out:
            current = out[name]
            out[name] = [*current, value] if isinstance(current, list) else [current, value]
        else:
            out[name] = [value] if name.endswith("[]") else value
    return out
