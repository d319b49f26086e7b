"""Images, text-to-speech and speech-to-text: validate, route, reserve, call the provider, settle once.

The same keys, catalog and billing path as text: each call reserves its maximum cost from the catalog
price (images: per image, size and quality aware; speech: per input character; transcription: per audio
minute), then settles the real cost once, or 0 when the call failed. Provider wire formats live in
the media adapters in `server.providers` (dispatched through `server.providers.registry`).
"""

from __future__ import annotations

import io
import math
import wave
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson

from server.catalog import pricing
from server.domain import billing, clock, tokens
from server.domain.caller import Caller
from server.domain.multipart import Form, UploadedFile
from server.domain.routing import Route, resolve
from server.errors import NotFound, Unavailable, ValidationFailed
from server.providers import registry
from server.providers.base import GeneratedImage, Speech, Transcript

if TYPE_CHECKING:
    from server.hub import Hub

T = TypeVar("T")

# The documented defaults (dall-e-3, veo-3.0-generate-001) are retired: each category defaults to the
# current model that replaced them. With only a provider given, its first active model of the category.
DEFAULT_MODELS = {
    "image_generation": "openai/gpt-image-2",
    "text_to_speech": "openai/tts-1",
    "speech_to_text": "openai/whisper-1",
    "video_generation": "google/veo-3.1-generate-preview",
}


# ---------------------------------------------------------------------------------------------- routing


def route_media(hub: Hub, caller: Caller, category: str) -> Route:
    """resolve() with the media defaults; 404 / 503 exactly as for text."""
    provider, model = caller.provider, caller.model
    if not model:
        if provider:
            listed = hub.catalog.models_in(provider.strip().lower(), category)
            active = [m for m in listed if not m.get("is_disabled")]
            if not active:
                raise NotFound(f"Provider '{provider}' has no available model for {category}")
            model = active[0]["modelName"]
        else:
            model = DEFAULT_MODELS[category]
    return resolve(hub, provider, model, category, caller.byok_key)


def priced(fn: Callable[[], int], route: Route) -> int:
    """A catalog price; a model without one is a gap in the catalog (503), never free."""
    try:
        return fn()
    except pricing.PricingError as exc:
        raise Unavailable(f"Model '{route.provider}/{route.model}' cannot be billed: {exc}") from exc


# ---------------------------------------------------------------------------------------------- billing


@dataclass
class Billed(Generic[T]):
    """A finished, settled media call."""

    request_id: str
    provider: str
    model: str
    result: T
    charge_nanos: int
    duration_ms: float
    breakdown: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: clock.iso(clock.now()))


async def billed_call(
    hub: Hub,
    caller: Caller,
    route: Route,
    *,
    endpoint: str,
    reserve_nanos: int,
    request_content: Any,
    call: Callable[[], Awaitable[T]],
    cost: Callable[[T], int],
    response_content: Callable[[T], Any] = lambda _: None,
) -> Billed[T]:
    """Meters one media call: reserves, runs `call`, settles exactly once (cost 0, status error on failure)."""
    meter = await billing.meter(hub, caller, route, reserve_nanos, endpoint=endpoint, request_content=request_content)
    async with meter.guard():
        result = await call()
        amount = priced(lambda: cost(result), route)
    charge = await meter.settle("success", amount, response_content=response_content(result))
    return Billed(meter.request_id, route.provider, route.model, result, charge, meter.elapsed_ms())


# ---------------------------------------------------------------------------------------------- images


def image_price(entry: Mapping[str, Any], size: str | None, quality: str | None) -> Fraction:
    """USD of one image. A size or quality the provider chooses ("auto", None) or the catalog does not list is
    priced at the dearest listed option (never an under-charge); otherwise exactly the catalog's price."""
    table = entry.get("imagePrices")
    if not isinstance(table, Mapping) or not table:
        return pricing.image_price_usd(entry, size, quality)
    sizes = [size] if size in table else list(table)
    prices = []
    for each in sizes:
        by_quality = table[each]
        if isinstance(by_quality, Mapping) and quality not in by_quality:
            prices += [pricing.image_price_usd(entry, each, q) for q in by_quality]
        else:
            prices.append(pricing.image_price_usd(entry, each, quality))
    return max(prices)


def required_text(fields: dict[str, Any], name: str = "prompt") -> str:
    value = fields.pop(name, None)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.single(["body", name], "Field required", "missing")
    return value


async def generate_images(
    hub: Hub, caller: Caller, *, fields: dict[str, Any], endpoint: str = "image"
) -> Billed[list[GeneratedImage]]:
    """`fields` are the ImageRequest fields the caller set (snake_case), without provider/model/key/extra;
    `endpoint` names the surface in the usage record ("openai.image" on /v1)."""
    prompt = required_text(fields)
    n = fields.get("n", 1)
    if not isinstance(n, int) or n < 1:
        raise ValidationFailed.single(["body", "n"], "n must be a positive integer")
    route = route_media(hub, caller, "image_generation")
    adapter = registry.capability(route.config, "images")
    call = adapter.prepare_images(route.provider, route.model, prompt, n, fields, caller.extra)

    def cost(images: list[GeneratedImage]) -> int:
        units = [
            image_price(route.entry, image.size or call.price_size, image.quality or call.price_quality)
            for image in images
        ]
        return math.ceil(sum(units, Fraction(0)) * pricing.NANOS_PER_USD)

    unit = priced(lambda: image_price(route.entry, call.price_size, call.price_quality), route)
    billed = await billed_call(
        hub,
        caller,
        route,
        endpoint=endpoint,
        reserve_nanos=math.ceil(call.n * unit * pricing.NANOS_PER_USD),
        request_content={"prompt": prompt, "n": call.n, "size": call.price_size, "quality": call.price_quality},
        call=lambda: adapter.generate_images(hub.http, route.config, call, route.api_key, byok=route.byok),
        cost=cost,
        response_content=lambda images: {"images": len(images)},
    )
    first = billed.result[0]
    size, quality = first.size or call.price_size, first.quality or call.price_quality
    billed.breakdown = {
        "images": len(billed.result),
        "price_per_image": float(image_price(route.entry, size, quality)),
        "size": size,
        "quality": quality,
    }
    return billed


# ---------------------------------------------------------------------------------------------- speech


def _speech_cost(entry: Mapping[str, Any], text: str) -> int:
    """Per character when the catalog prices so, else the input tokens (the audio is not metered)."""
    if entry.get("pricePer1MCharacters") is not None:
        return pricing.characters_cost_nanos(entry, len(text))
    return pricing.token_cost_nanos(entry, tokens.count_text(text), 0)


async def text_to_speech(hub: Hub, caller: Caller, *, fields: dict[str, Any], endpoint: str = "tts") -> Billed[Speech]:
    text = required_text(fields, "input")
    route = route_media(hub, caller, "text_to_speech")
    adapter = registry.capability(route.config, "speech")
    call = adapter.prepare_speech(route.model, text, fields, caller.extra)
    amount = priced(lambda: _speech_cost(route.entry, text), route)
    billed = await billed_call(
        hub,
        caller,
        route,
        endpoint=endpoint,
        reserve_nanos=amount,
        request_content={"input": text, "voice": call.body.get("voice")},
        call=lambda: adapter.speech(hub.http, route.config, call, route.api_key, byok=route.byok),
        cost=lambda _speech: amount,
        response_content=lambda speech: {"bytes": len(speech.audio), "format": speech.response_format},
    )
    billed.breakdown = {"characters": len(text)}
    return billed


# ---------------------------------------------------------------------------------------------- transcription

# Typical bitrates (bytes per second) by container, for settling when neither the provider nor the file
# tells the duration; the reservation assumes a very low bitrate so that it covers any real file.
_TYPICAL_BYTES_PER_SECOND = {
    "mp3": 16_000,
    "mpeg": 16_000,
    "mpga": 16_000,
    "m4a": 16_000,
    "mp4": 16_000,
    "aac": 16_000,
    "ogg": 8_000,
    "opus": 8_000,
    "webm": 8_000,
    "flac": 90_000,
}
_LOWEST_BYTES_PER_SECOND = 2_000  # 16 kbit/s: below what speech codecs are used at


def wav_seconds(data: bytes) -> float | None:
    """The exact duration of a WAV file, or None when it is not one."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate = w.getframerate()
            return w.getnframes() / rate if rate else None
    except (wave.Error, EOFError, ValueError):
        return None


def audio_seconds(upload: UploadedFile) -> tuple[float, float]:
    """(most, likely) duration of an upload: exact for WAV, else estimated from its size."""
    exact = wav_seconds(upload.data)
    if exact is not None:
        return exact, exact
    ext = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    sub = upload.content_type.split("/")[-1].split(";")[0].strip().lower()
    rate = _TYPICAL_BYTES_PER_SECOND.get(ext) or _TYPICAL_BYTES_PER_SECOND.get(sub) or 16_000
    size = len(upload.data)
    return size / _LOWEST_BYTES_PER_SECOND, size / rate


def _form_float(form: Form, name: str, low: float, high: float) -> float | None:
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValidationFailed.single(
            ["body", name], "Input should be a valid number, unable to parse string as a number", "float_parsing"
        ) from None
    if not low <= value <= high:
        raise ValidationFailed.single(["body", name], f"{name} must be from {low:g} to {high:g}")
    return value


def _granularities(raw: str | None) -> list[str] | None:
    """timestamp_granularities as documented (a JSON list string), also a bare word or comma-separated words."""
    if raw is None or not raw.strip():
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(v in ("word", "segment") for v in value):
        raise ValidationFailed.single(
            ["body", "timestamp_granularities"], 'timestamp_granularities must be a JSON list of "word" / "segment"'
        )
    return list(dict.fromkeys(value))


def transcription_fields(form: Form, kind: str) -> dict[str, Any]:
    """The documented form fields, parsed and checked (the provider-specific checks come later)."""
    fields: dict[str, Any] = {
        "prompt": form.get("prompt") or None,
        "response_format": form.get("response_format") or None,
        "temperature": _form_float(form, "temperature", 0.0, 1.0),
    }
    if kind == "transcriptions":
        fields["language"] = form.get("language") or None
        fields["timestamp_granularities"] = _granularities(form.get("timestamp_granularities"))
    return fields


async def transcribe(hub: Hub, caller: Caller, *, kind: str, form: Form, surface: str = "") -> Billed[Transcript]:
    """`kind` is "transcriptions" (endpoint "stt") or "translations" (endpoint "translation"); the caller's
    provider, model and key come from the same form."""
    upload = form.files.get("file")
    if upload is None:
        raise ValidationFailed.single(["body", "file"], "Field required", "missing")
    if not upload.data:
        raise ValidationFailed.single(["body", "file"], "The uploaded file is empty")
    fields = transcription_fields(form, kind)
    route = route_media(hub, caller, "speech_to_text")
    adapter = registry.capability(route.config, "transcription")
    call = adapter.prepare_transcription(route.model, kind, fields)
    most, likely = audio_seconds(upload)

    def seconds_of(transcript: Transcript) -> float:
        return transcript.seconds if transcript.seconds is not None else likely

    filename = upload.filename or "audio"
    billed = await billed_call(
        hub,
        caller,
        route,
        endpoint=surface + ("stt" if kind == "transcriptions" else "translation"),
        reserve_nanos=priced(lambda: pricing.minutes_cost_nanos(route.entry, max(most, likely)), route),
        request_content={"filename": filename, "bytes": len(upload.data), "response_format": call.response_format},
        call=lambda: adapter.transcribe(
            hub.http,
            route.config,
            call,
            (filename, upload.data, upload.content_type or "application/octet-stream"),
            route.api_key,
            byok=route.byok,
        ),
        cost=lambda transcript: pricing.minutes_cost_nanos(route.entry, seconds_of(transcript)),
        response_content=lambda transcript: {"text": transcript.text},
    )
    billed.breakdown = {"audio_seconds": round(seconds_of(billed.result), 3)}
    if route.entry.get("pricePerMinute") is not None:
        billed.breakdown["price_per_minute"] = float(route.entry["pricePerMinute"])
    return billed


def transcript_data(transcript: Transcript) -> dict[str, Any]:
    """AudioResponse.data for STT: the text, the format, and whatever the JSON answer adds (segments, words)."""
    data: dict[str, Any] = {"text": transcript.text, "response_format": transcript.response_format}
    if transcript.data:
        for key, value in transcript.data.items():
            if key not in ("text", "usage"):
                data[key] = value
    if transcript.seconds is not None:
        data.setdefault("duration", transcript.seconds)
    return data
