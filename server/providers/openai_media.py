"""Media in the OpenAI wire format: images (`/images/generations`, also xAI's), speech (`/audio/speech`),
transcription and translation (`/audio/transcriptions`, `/audio/translations`, multipart) and Sora video
jobs (`POST /videos`, `GET /videos/{id}`, `GET /videos/{id}/content`).

Also home of the provider-neutral media types that `google_media` speaks too. Each `prepare_*` function is
pure: it validates the caller's fields against what this provider and model accept (a value the provider
cannot take is a 422 naming the field), drops fields the provider does not take, and returns the request to
send plus what the catalog prices it by. The `async` functions do the HTTP, with the shared retry and error
mapping of `server.providers.http`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from server.errors import UpstreamError, ValidationFailed
from server.providers.base import ProviderConfig
from server.providers.http import error_from_exception, error_from_status, get_json, post_json, send_checked
from server.providers.openai_format import headers, merge_extra

# ---------------------------------------------------------------------------------------------- neutral types


@dataclass
class ImageCall:
    """A validated image request: `body` for the provider; `calls` requests of `per_call` images each."""

    model: str
    body: dict[str, Any]
    n: int
    # What the catalog prices by: size (or imageSize / resolution) and quality. None: the provider decides
    # ("auto"), so the dearest listed option is reserved.
    price_size: str | None = None
    price_quality: str | None = None
    calls: int = 1


@dataclass
class GeneratedImage:
    b64_json: str | None = None
    url: str | None = None
    revised_prompt: str | None = None
    mime_type: str | None = None
    size: str | None = None  # as the provider reports it made the image (GPT Image does)
    quality: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.url is not None:
            out["url"] = self.url
        if self.b64_json is not None:
            out["b64_json"] = self.b64_json
        if self.mime_type:
            out["content_type"] = self.mime_type
        if self.revised_prompt:
            out["revised_prompt"] = self.revised_prompt
        return out


@dataclass
class SpeechCall:
    body: dict[str, Any]
    response_format: str


@dataclass
class Speech:
    audio: bytes
    content_type: str
    response_format: str


@dataclass
class TranscriptionCall:
    """Form fields for the provider (`fields` as (name, value) pairs: names may repeat)."""

    kind: str  # "transcriptions" | "translations"
    fields: list[tuple[str, str]]
    response_format: str


@dataclass
class Transcript:
    text: str
    response_format: str
    data: dict[str, Any] | None  # the JSON answer (json / verbose_json), None for text / srt / vtt
    seconds: float | None  # the audio duration, when the provider told it


@dataclass
class VideoCall:
    model: str
    body: dict[str, Any]
    seconds: int  # per video
    n: int
    price_size: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)  # small, storable description of the request


@dataclass
class VideoAsset:
    url: str
    content_type: str = "video/mp4"
    file_size: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "content_type": self.content_type, "file_size": self.file_size}


@dataclass
class VideoPoll:
    """A provider job's state in our words: queued | processing | completed | failed | cancelled."""

    status: str
    progress: int | None = None
    error: str | None = None
    assets: list[VideoAsset] = field(default_factory=list)
    seconds: float | None = None  # per video, when the provider reports it


# ---------------------------------------------------------------------------------------------- validation


def invalid(name: str, msg: str) -> ValidationFailed:
    return ValidationFailed.single(["body", name], msg)


def choice(fields: Mapping[str, Any], name: str, allowed: tuple[str, ...], who: str) -> Any:
    """The field's value when allowed (None when unset), else a 422 naming the field and the allowed values."""
    value = fields.get(name)
    if value is None:
        return None
    if value not in allowed:
        raise invalid(name, f"{value!r} is not supported by {who}; use one of: {', '.join(allowed)}")
    return value


def int_range(fields: Mapping[str, Any], name: str, low: int, high: int, who: str) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(name, f"{name} must be an integer from {low} to {high} for {who}")
    return value


def data_url(value: str, default_mime: str = "image/png") -> tuple[str, str]:
    """(mime, base64) of a data URL or of bare base64; a 422-worthy ValueError for anything else."""
    if value.startswith("data:"):
        head, sep, payload = value.partition(",")
        if not sep or ";base64" not in head:
            raise ValueError("a data URL must be base64-encoded (data:<mime>;base64,...)")
        return head[5:].split(";")[0] or default_mime, payload
    try:
        base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError("expected an http(s) URL, a data URL or base64 data") from None
    return default_mime, value


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


# ---------------------------------------------------------------------------------------------- images


_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
_GPT_IMAGE_FIELDS = ("user", "background", "moderation", "output_format", "output_compression")
XAI_ASPECT_RATIOS = (
    "1:1",
    "16:9",
    "9:16",
    "4:3",
    "3:4",
    "3:2",
    "2:3",
    "2:1",
    "1:2",
    "19.5:9",
    "9:19.5",
    "20:9",
    "9:20",
    "auto",
)
_RESERVED_IMAGE = frozenset({"model", "prompt", "n"})


def _gpt_image(model: str, fields: Mapping[str, Any], body: dict[str, Any]) -> tuple[str | None, str | None]:
    size = fields.get("size")
    if size is not None and size != "auto":
        m = _SIZE.match(size)
        if not m or not all(16 <= int(v) <= 4096 for v in m.groups()):
            raise invalid("size", f"{size!r} is not a size {model} accepts: use 'auto' or WIDTHxHEIGHT, e.g. 1024x1024")
    quality = choice(fields, "quality", ("auto", "low", "medium", "high"), model)
    if fields.get("response_format") not in (None, "b64_json"):
        raise invalid("response_format", f"{model} returns images as base64 only: use 'b64_json' or leave it unset")
    choice(fields, "background", ("transparent", "opaque", "auto"), model)
    choice(fields, "moderation", ("low", "auto"), model)
    choice(fields, "output_format", ("png", "jpeg", "webp"), model)
    int_range(fields, "output_compression", 0, 100, model)
    body.update({k: fields[k] for k in ("size", "quality", *_GPT_IMAGE_FIELDS) if fields.get(k) is not None})
    return (None if size == "auto" else size), (None if quality == "auto" else quality)


def _dall_e(model: str, fields: Mapping[str, Any], body: dict[str, Any], n: int) -> tuple[str | None, str | None]:
    three = model == "dall-e-3"
    sizes = ("1024x1024", "1792x1024", "1024x1792") if three else ("256x256", "512x512", "1024x1024")
    size = choice(fields, "size", sizes, model)
    quality = choice(fields, "quality", ("standard", "hd") if three else ("standard",), model)
    if three:
        choice(fields, "style", ("vivid", "natural"), model)
        if n != 1:
            raise invalid("n", "dall-e-3 generates one image per request: n must be 1")
    choice(fields, "response_format", ("url", "b64_json"), model)
    passed = ("size", "quality", "response_format", "user") + (("style",) if three else ())
    body.update({k: fields[k] for k in passed if fields.get(k) is not None})
    return size or "1024x1024", quality or "standard"  # the API's defaults


def _xai(model: str, fields: Mapping[str, Any], extra: dict[str, Any], body: dict[str, Any]) -> tuple:
    choice(fields, "response_format", ("url", "b64_json"), model)
    choice(fields, "aspect_ratio", XAI_ASPECT_RATIOS, model)
    quality = choice(fields, "quality", ("low", "medium", "high"), model)
    resolution = extra.get("resolution")
    if resolution is not None:
        if resolution not in ("1k", "2k"):
            raise invalid("additional_params", f"resolution {resolution!r} is not supported by {model}: use 1k or 2k")
    body.update({k: fields[k] for k in ("response_format", "aspect_ratio", "quality") if fields.get(k) is not None})
    return resolution, quality


def prepare_images(
    provider: str, model: str, prompt: str, n: int, fields: Mapping[str, Any], extra: dict[str, Any]
) -> ImageCall:
    """POST /images/generations for OpenAI's GPT Image and DALL-E models, and xAI's Grok Imagine models."""
    if not 1 <= n <= 10:
        raise invalid("n", f"n must be from 1 to 10 for {model}")
    body: dict[str, Any] = {"model": model, "prompt": prompt, "n": n}
    if provider == "xai":
        size, quality = _xai(model, fields, extra, body)
    elif model.startswith("dall-e-"):
        size, quality = _dall_e(model, fields, body, n)
    else:  # GPT Image models (gpt-image-*, chatgpt-image-*) and any newer model of that API
        size, quality = _gpt_image(model, fields, body)
    return ImageCall(model, merge_extra(body, extra, _RESERVED_IMAGE), n, size, quality)


def parse_images(data: Any, provider: str) -> list[GeneratedImage]:
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise UpstreamError(provider, 502, "the provider's image answer has no 'data' list")
    images = []
    size, quality = data.get("size"), data.get("quality")
    for item in items:
        if not isinstance(item, dict) or not (item.get("b64_json") or item.get("url")):
            continue
        mime = None
        if item.get("b64_json") and isinstance(data.get("output_format"), str):
            mime = f"image/{data['output_format']}"
        images.append(
            GeneratedImage(
                item.get("b64_json"),
                item.get("url"),
                item.get("revised_prompt"),
                mime,
                size if isinstance(size, str) else None,
                quality if isinstance(quality, str) else None,
            )
        )
    return images


async def generate_images(
    client: httpx.AsyncClient, cfg: ProviderConfig, call: ImageCall, api_key: str
) -> list[GeneratedImage]:
    data = await post_json(
        client, cfg.id, f"{cfg.base_url}/images/generations", headers(api_key), call.body, byok=api_key != cfg.api_key
    )
    images = parse_images(data, cfg.id)
    if not images:
        raise UpstreamError(cfg.id, 502, "the provider returned no images")
    return images


# ---------------------------------------------------------------------------------------------- speech

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


async def speech(client: httpx.AsyncClient, cfg: ProviderConfig, call: SpeechCall, api_key: str) -> Speech:
    url = f"{cfg.base_url}/audio/speech"
    json_headers = {**headers(api_key), "content-type": "application/json"}
    response = await send_checked(
        client,
        cfg.id,
        lambda: client.post(url, headers=json_headers, content=orjson.dumps(call.body)),
        byok=api_key != cfg.api_key,
    )
    if not response.content:
        raise UpstreamError(cfg.id, 502, "the provider returned no audio")
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if not content_type or content_type == "application/octet-stream":
        content_type = SPEECH_FORMATS[call.response_format]
    return Speech(response.content, content_type, call.response_format)


# ---------------------------------------------------------------------------------------------- transcription

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
) -> Transcript:
    """POSTs the audio (filename, bytes, content type) as multipart; the answer in the requested format."""
    url = f"{cfg.base_url}/audio/{call.kind}"
    response = await send_checked(
        client,
        cfg.id,
        lambda: client.post(url, headers=headers(api_key), data=_form_dict(call.fields), files={"file": upload}),
        byok=api_key != cfg.api_key,
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


# ---------------------------------------------------------------------------------------------- video (Sora)

SORA_SECONDS = (4, 8, 12)
SORA_SIZES = {"sora-2": ("720x1280", "1280x720"), "sora-2-pro": ("720x1280", "1280x720", "1024x1792", "1792x1024")}
_SORA_BY_SHAPE = {
    ("16:9", "720p"): "1280x720",
    ("9:16", "720p"): "720x1280",
    ("16:9", "1080p"): "1792x1024",
    ("9:16", "1080p"): "1024x1792",
}
_SORA_STATUS = {"queued": "queued", "in_progress": "processing", "completed": "completed", "failed": "failed"}


def _sora_size(model: str, fields: Mapping[str, Any]) -> str:
    sizes = SORA_SIZES.get(model, SORA_SIZES["sora-2-pro"])
    if fields.get("size") is not None:
        return choice(fields, "size", sizes, model)
    aspect = choice(fields, "aspect_ratio", ("16:9", "9:16"), model) or "9:16"
    resolution = choice(fields, "resolution", ("720p", "1080p"), model) or "720p"
    size = _SORA_BY_SHAPE[(aspect, resolution)]
    if size not in sizes:
        raise invalid("resolution", f"{resolution} is not available with {model}")
    return size


def prepare_video(provider: str, model: str, prompt: str, fields: Mapping[str, Any], extra: dict) -> VideoCall:
    """POST /videos (JSON): seconds 4/8/12 (default 4), one video per job, size from size or aspect_ratio and
    resolution; an input image becomes `input_reference.image_url` (URL or data URL)."""
    seconds = fields.get("duration") or 4
    if seconds not in SORA_SECONDS:
        raise invalid("duration", f"{model} makes videos of {', '.join(map(str, SORA_SECONDS))} seconds")
    if (fields.get("n") or 1) != 1:
        raise invalid("n", f"{model} makes one video per job: n must be 1")
    size = _sora_size(model, fields)
    body: dict[str, Any] = {"model": model, "prompt": prompt, "seconds": str(seconds), "size": size}
    image = fields.get("input_image")
    if image:
        if not _is_url(image):
            try:
                mime, payload = data_url(image)
            except ValueError as exc:
                raise invalid("input_image", str(exc)) from None
            image = f"data:{mime};base64,{payload}"
        body["input_reference"] = {"image_url": image}
    summary = {"seconds": seconds, "size": size, "n": 1}
    return VideoCall(model, merge_extra(body, extra, frozenset({"model", "prompt"})), seconds, 1, size, summary)


def _sora_error(video: dict[str, Any]) -> str:
    error = video.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "the provider reported a failure")
    return str(error or "the provider reported a failure")


async def submit_video(
    client: httpx.AsyncClient, cfg: ProviderConfig, call: VideoCall, api_key: str
) -> tuple[str, VideoPoll]:
    """Starts the job: (the provider's job id, its first state)."""
    data = await post_json(
        client, cfg.id, f"{cfg.base_url}/videos", headers(api_key), call.body, byok=api_key != cfg.api_key
    )
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise UpstreamError(cfg.id, 502, "the provider did not return a video job id")
    return data["id"], _sora_state(data)


def _sora_state(video: dict[str, Any]) -> VideoPoll:
    status = _SORA_STATUS.get(str(video.get("status")), "processing")
    progress = video.get("progress") if isinstance(video.get("progress"), int) else None
    seconds = video.get("seconds")
    try:
        per_video = float(seconds) if seconds is not None else None
    except (TypeError, ValueError):
        per_video = None
    return VideoPoll(status, progress, _sora_error(video) if status == "failed" else None, seconds=per_video)


async def content_info(
    client: httpx.AsyncClient, provider: str, url: str, send_headers: dict, *, byok: bool, hops: int = 3
) -> tuple[str, int | None]:
    """(content type, size in bytes) of a downloadable result, reading no more of it than needed.

    Redirects (e.g. to a signed storage URL) are followed WITHOUT the credentials: httpx would forward custom
    key headers such as x-goog-api-key to another host.
    """
    try:
        async with client.stream("GET", url, headers=send_headers) as response:
            location = response.headers.get("location")
            if response.is_redirect and location:
                if hops <= 0:
                    raise UpstreamError(provider, 502, "too many redirects for the generated file")
                target = str(response.url.join(location))
                return await content_info(client, provider, target, {}, byok=byok, hops=hops - 1)
            if response.status_code >= 400:
                raise error_from_status(provider, response.status_code, await response.aread(), byok=byok)
            content_type = response.headers.get("content-type", "video/mp4").split(";")[0].strip() or "video/mp4"
            length = response.headers.get("content-length")
            if length is not None and length.isdigit() and "content-encoding" not in response.headers:
                return content_type, int(length)
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
            return content_type, size
    except httpx.HTTPError as exc:
        raise error_from_exception(provider, exc) from exc


async def poll_video(client: httpx.AsyncClient, cfg: ProviderConfig, job_id: str, api_key: str) -> VideoPoll:
    byok = api_key != cfg.api_key
    data = await get_json(client, cfg.id, f"{cfg.base_url}/videos/{job_id}", headers(api_key), byok=byok)
    if not isinstance(data, dict):
        raise UpstreamError(cfg.id, 502, "the provider's video job is not an object")
    state = _sora_state(data)
    if state.status == "completed":
        url = f"{cfg.base_url}/videos/{job_id}/content"
        content_type, size = await content_info(client, cfg.id, url, headers(api_key), byok=byok)
        state.assets = [VideoAsset(url, content_type, size)]
        state.progress = 100
    return state


async def cancel_video(client: httpx.AsyncClient, cfg: ProviderConfig, job_id: str, api_key: str) -> bool:
    """Sora has no cancel call: deleting the job is the closest (best effort; False when it failed)."""
    try:
        response = await client.delete(f"{cfg.base_url}/videos/{job_id}", headers=headers(api_key))
    except httpx.HTTPError:
        return False
    return response.status_code < 400
