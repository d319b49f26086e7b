"""Media: the multipart parser, each provider's pure request building, the adapters against the in-process fake
providers, and the video job lifecycle against a real database (SQLite; also PostgreSQL when
HUB_TEST_POSTGRES_URL is set): exactly-once settlement, crash recovery, stale holds, lost BYOK keys."""

from __future__ import annotations

import asyncio
import hashlib
import io
import tempfile
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from server.catalog.catalog import load_catalog
from server.config import Settings
from server.db.migrate import upgrade
from server.db.models import CreditHold, Transaction, UsageRecord, User, VideoJob
from server.domain import billing, clock, media, videos
from server.domain.auth import Principal
from server.domain.caller import Caller
from server.domain.multipart import UploadedFile, parse_form
from server.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, UpstreamError, ValidationFailed
from server.hub import Hub
from server.providers import google_media, openai_images, openai_speech, openai_transcription, openai_video
from server.providers.base import ProviderConfig
from server.providers.http import create_client
from tests.fakes.providers import FakeProviders, fake_audio, fake_image_b64, fake_video_size
from tests.postgres import database_kinds, fresh_database_url

# ---------------------------------------------------------------------------------------------- helpers


def multipart(data: dict | None = None, files: dict | None = None) -> tuple[str, bytes]:
    request = httpx.Request("POST", "http://x", data=data, files=files)
    return request.headers["content-type"], request.read()


def wav(seconds: float, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(rate * seconds))
    return buf.getvalue()


def loc(exc: pytest.ExceptionInfo) -> list:
    return exc.value.errors[0]["loc"]


# ---------------------------------------------------------------------------------------------- multipart


def test_multipart_fields_files_and_repeats():
    content_type, body = multipart(
        {"model": "openai/whisper-1", "timestamp_granularities[]": ["word", "segment"], "note": "héllo"},
        {"file": ("a b.wav", b"\x00\x01RIFF\r\n--x", "audio/wav")},
    )
    form = parse_form(content_type, body, max_file_bytes=100)
    assert form.get("model") == "openai/whisper-1" and form.get("note") == "héllo"
    assert form.fields["timestamp_granularities[]"] == ["word", "segment"]
    assert form.files["file"] == UploadedFile("a b.wav", "audio/wav", b"\x00\x01RIFF\r\n--x")
    assert form.get("absent") is None


def test_multipart_limits_and_malformed_bodies():
    content_type, body = multipart({"model": "m"}, {"file": ("a.mp3", b"x" * 101, "audio/mpeg")})
    with pytest.raises(PayloadTooLarge) as too_big:
        parse_form(content_type, body, max_file_bytes=100)
    assert too_big.value.http_status == 413 and "limit" in too_big.value.detail
    content_type, body = multipart({"prompt": "p" * 200}, {"file": ("a.mp3", b"x", "audio/mpeg")})
    with pytest.raises(ValidationFailed) as field:
        parse_form(content_type, body, max_file_bytes=100, max_field_bytes=100)
    assert loc(field) == ["body", "prompt"]
    for content_type, body in (
        ("application/json", b"{}"),
        ("multipart/form-data", b"--x\r\n"),
        ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nabc'),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Type: text/plain\r\n\r\nabc\r\n--x--\r\n"),
        ("multipart/form-data; boundary=x", b"garbage"),
    ):
        with pytest.raises(ValidationFailed) as bad:
            parse_form(content_type, body, max_file_bytes=100)
        assert loc(bad) == ["body"], (content_type, body)


# ---------------------------------------------------------------------------------------------- pure requests


def test_openai_image_requests_per_model():
    call = openai_images.prepare_images(
        "openai",
        "gpt-image-2",
        "p",
        2,
        {"size": "1536x1024", "quality": "low", "style": "vivid", "aspect_ratio": "1:1", "moderation": "low"},
        {"user": "u1", "model": "ignored"},
    )
    assert call.body == {
        "model": "gpt-image-2",
        "prompt": "p",
        "n": 2,
        "size": "1536x1024",
        "quality": "low",
        "moderation": "low",
        "user": "u1",
    }
    assert (call.price_size, call.price_quality, call.calls) == ("1536x1024", "low", 1)
    dalle = openai_images.prepare_images(
        "openai", "dall-e-3", "p", 1, {"size": "1792x1024", "quality": "hd", "style": "natural"}, {}
    )
    assert dalle.body["style"] == "natural" and dalle.body["size"] == "1792x1024"
    for model, n, fields, field in (
        ("dall-e-3", 2, {}, "n"),
        ("dall-e-3", 1, {"size": "256x256"}, "size"),
        ("dall-e-2", 1, {"quality": "hd"}, "quality"),
        ("gpt-image-2", 1, {"background": "green"}, "background"),
        ("gpt-image-2", 1, {"size": "10x10"}, "size"),
    ):
        with pytest.raises(ValidationFailed) as bad:
            openai_images.prepare_images("openai", model, "p", n, fields, {})
        assert loc(bad) == ["body", field]


def test_xai_image_requests():
    call = openai_images.prepare_images(
        "xai",
        "grok-imagine-image-2.0",
        "p",
        1,
        {"size": "1024x1024", "quality": "medium", "aspect_ratio": "2:1", "response_format": "b64_json"},
        {"resolution": "1k"},
    )
    assert call.body == {
        "model": "grok-imagine-image-2.0",
        "prompt": "p",
        "n": 1,
        "quality": "medium",
        "aspect_ratio": "2:1",
        "response_format": "b64_json",
        "resolution": "1k",
    }
    assert (call.price_size, call.price_quality) == ("1k", "medium")
    with pytest.raises(ValidationFailed) as bad:
        openai_images.prepare_images("xai", "grok-imagine-image", "p", 1, {}, {"resolution": "4k"})
    assert loc(bad) == ["body", "additional_params"]


def test_google_image_requests():
    call = google_media.prepare_images(
        "google", "gemini-3.1-flash-image", "p", 3, {"size": "4K", "aspect_ratio": "21:9", "negative_prompt": "x"}, {}
    )
    assert call.calls == 3 and call.price_size == "4K"
    assert call.body == {
        "contents": [{"role": "user", "parts": [{"text": "p"}]}],
        "generationConfig": {
            "responseModalities": ["IMAGE"],
            "imageConfig": {"aspectRatio": "21:9", "imageSize": "4K"},
        },
    }
    imagen = google_media.prepare_images(
        "google",
        "imagen-4.0-generate-001",
        "p",
        2,
        {
            "aspect_ratio": "16:9",
            "person_generation": "allow_adult",
            "safety_filter_level": "block_only_high",
            "negative_prompt": "rain",
            "guidance_scale": 7.5,
            "add_watermark": False,
            "output_mime_type": "image/jpeg",
            "output_compression": 80,
            "size": "2K",
            "style": "vivid",
        },
        {},
    )
    assert imagen.body == {
        "instances": [{"prompt": "p"}],
        "parameters": {
            "sampleCount": 2,
            "aspectRatio": "16:9",
            "sampleImageSize": "2K",
            "safetySetting": "block_only_high",
            "negativePrompt": "rain",
            "guidanceScale": 7.5,
            "personGeneration": "allow_adult",
            "addWatermark": False,
            "outputOptions": {"mimeType": "image/jpeg", "compressionQuality": 80},
        },
    }
    for model, fields, field in (
        ("gemini-3.1-flash-image", {"size": "1024x1024"}, "size"),
        ("gemini-3.1-flash-image", {"response_format": "url"}, "response_format"),
        ("imagen-4.0-generate-001", {"aspect_ratio": "21:9"}, "aspect_ratio"),
        ("imagen-4.0-generate-001", {"person_generation": "everyone"}, "person_generation"),
    ):
        with pytest.raises(ValidationFailed) as bad:
            google_media.prepare_images("google", model, "p", 1, fields, {})
        assert loc(bad) == ["body", field]


def test_speech_and_transcription_requests():
    call = openai_speech.prepare_speech("gpt-4o-mini-tts", "hi", {"voice": "coral", "instructions": "Calm."}, {})
    assert call.body == {
        "model": "gpt-4o-mini-tts",
        "input": "hi",
        "voice": "coral",
        "response_format": "mp3",
        "instructions": "Calm.",
    }
    with pytest.raises(ValidationFailed) as bad:
        openai_speech.prepare_speech("tts-1-hd", "hi", {"voice": "no spaces allowed"}, {})
    assert loc(bad) == ["body", "voice"]
    call = openai_transcription.prepare_transcription(
        "whisper-1",
        "transcriptions",
        {
            "response_format": "verbose_json",
            "language": "de",
            "temperature": 0.0,
            "timestamp_granularities": ["word"],
            "prompt": None,
        },
    )
    assert call.fields == [
        ("model", "whisper-1"),
        ("response_format", "verbose_json"),
        ("language", "de"),
        ("temperature", "0.0"),
        ("timestamp_granularities[]", "word"),
    ]
    translation = openai_transcription.prepare_transcription("whisper-large-v3", "translations", {"language": "de"})
    assert translation.fields == [("model", "whisper-large-v3"), ("response_format", "json")]
    for model, kind, fields, field in (
        ("whisper-large-v3-turbo", "translations", {}, "model"),
        ("gpt-4o-transcribe", "transcriptions", {"response_format": "vtt"}, "response_format"),
        ("whisper-1", "transcriptions", {"timestamp_granularities": ["word"]}, "timestamp_granularities"),
    ):
        with pytest.raises(ValidationFailed) as bad:
            openai_transcription.prepare_transcription(model, kind, fields)
        assert loc(bad) == ["body", field]


def test_transcript_parsing_and_durations():
    verbose = openai_transcription.parse_transcript(
        b'{"text": "hi", "duration": 12.5, "segments": []}', "verbose_json", "p"
    )
    assert (verbose.text, verbose.seconds, verbose.data["segments"]) == ("hi", 12.5, [])
    usage = openai_transcription.parse_transcript(
        b'{"text": "hi", "usage": {"type": "duration", "seconds": 3}}', "json", "p"
    )
    assert usage.seconds == 3.0
    tokens = openai_transcription.parse_transcript(
        b'{"text": "hi", "usage": {"type": "tokens", "input_tokens": 9}}', "json", "p"
    )
    assert tokens.seconds is None
    srt = "1\n00:00:00,000 --> 00:00:02,500\nhi\n\n2\n00:01:02,500 --> 00:01:05,250\nthere\n"
    assert openai_transcription.parse_transcript(srt.encode(), "srt", "p").seconds == 65.25
    assert openai_transcription.subtitle_end_seconds("WEBVTT\n\n01:00:00.000 --> 01:00:01.000\nx") == 3601.0
    assert openai_transcription.parse_transcript(b"plain", "text", "p").seconds is None
    with pytest.raises(UpstreamError):
        openai_transcription.parse_transcript(b"not json", "json", "p")
    data = media.transcript_data(verbose)
    assert data == {"text": "hi", "response_format": "verbose_json", "duration": 12.5, "segments": []}


def test_image_prices_never_under_charge():
    catalog = load_catalog()
    gpt = catalog.find("openai", "gpt-image-2", "image_generation")
    assert media.image_price(gpt, "1024x1536", "low") == Fraction("0.005")
    assert media.image_price(gpt, "1024x1536", None) == Fraction("0.165")  # dearest quality of that size
    assert media.image_price(gpt, None, None) == Fraction("0.211")  # "auto": the dearest listed
    assert media.image_price(gpt, "4096x4096", "low") == Fraction("0.006")  # unlisted size: dearest at that quality
    xai = catalog.find("xai", "grok-imagine-image-2.0", "image_generation")
    assert media.image_price(xai, None, "low") == Fraction("0.06")
    assert media.image_price(xai, "1k", "low") == Fraction("0.04")
    flat = catalog.find("xai", "grok-imagine-image", "image_generation")
    assert media.image_price(flat, "1k", "high") == Fraction("0.02")
    dalle = openai_images.prepare_images("openai", "dall-e-3", "p", 1, {"quality": "hd"}, {})
    assert (dalle.price_size, dalle.price_quality) == ("1024x1024", "hd")  # the API's default size
    auto = openai_images.prepare_images("openai", "gpt-image-2", "p", 1, {"size": "auto", "quality": "auto"}, {})
    assert (auto.price_size, auto.price_quality) == (None, None)
    [made] = openai_images.parse_images({"data": [{"b64_json": "x"}], "size": "1536x1024", "quality": "high"}, "p")
    assert (made.size, made.quality) == ("1536x1024", "high")


def test_audio_durations_and_granularities():
    assert media.wav_seconds(wav(2.5)) == 2.5 and media.wav_seconds(b"ID3...") is None
    assert media.audio_seconds(UploadedFile("a.wav", "audio/wav", wav(3))) == (3.0, 3.0)
    most, likely = media.audio_seconds(UploadedFile("a.mp3", "audio/mpeg", b"\x00" * 160_000))
    assert (most, likely) == (80.0, 10.0)  # 16 kbit/s at most, 128 kbit/s likely
    assert media._granularities('["word", "segment", "word"]') == ["word", "segment"]
    assert media._granularities("segment") == ["segment"] and media._granularities("word, segment") == [
        "word",
        "segment",
    ]
    assert media._granularities(None) is None
    with pytest.raises(ValidationFailed):
        media._granularities('["letters"]')


def test_video_requests():
    sora = openai_video.prepare_video(
        "openai",
        "sora-2-pro",
        "p",
        {"duration": 12, "aspect_ratio": "16:9", "resolution": "1080p", "input_image": "aGk=", "negative_prompt": "x"},
        {},
    )
    assert sora.body == {
        "model": "sora-2-pro",
        "prompt": "p",
        "seconds": "12",
        "size": "1792x1024",
        "input_reference": {"image_url": "data:image/png;base64,aGk="},
    }
    assert (sora.seconds, sora.n, sora.price_size) == (12, 1, "1792x1024")
    assert openai_video.prepare_video("openai", "sora-2", "p", {}, {}).body["size"] == "720x1280"
    with pytest.raises(ValidationFailed) as bad:
        openai_video.prepare_video("openai", "sora-2", "p", {"resolution": "1080p"}, {})
    assert loc(bad) == ["body", "resolution"]
    veo = google_media.prepare_video(
        "google",
        "veo-3.1-generate-preview",
        "p",
        {
            "reference_image": "data:image/png;base64,aGk=",
            "reference_images": ["aGk=", "aGk="],
            "video": "https://generativelanguage.googleapis.com/v1beta/files/x:download",
            "last_frame": "aGk=",
            "resolution": "4k",
        },
        {"parameters": {"seed": 3}},
    )
    instance = veo.body["instances"][0]
    assert len(instance["referenceImages"]) == 3 and instance["referenceImages"][0]["referenceType"] == "asset"
    assert instance["video"] == {"uri": "https://generativelanguage.googleapis.com/v1beta/files/x:download"}
    assert instance["lastFrame"] == {"bytesBase64Encoded": "aGk=", "mimeType": "image/png"}
    assert veo.body["parameters"] == {"seed": 3, "durationSeconds": 8, "resolution": "4k"}
    assert (veo.seconds, veo.n, veo.price_size) == (8, 1, "4k")
    for model, fields, field in (
        ("veo-3.0-generate-001", {"resolution": "4k"}, "resolution"),
        ("veo-2.0-generate-001", {"resolution": "720p"}, "resolution"),
        ("veo-3.1-generate-preview", {"n": 2}, "n"),
        ("veo-3.1-generate-preview", {"reference_images": ["aGk="] * 4}, "reference_images"),
        ("veo-3.1-generate-preview", {"input_image": "not base64!"}, "input_image"),
    ):
        with pytest.raises(ValidationFailed) as bad:
            google_media.prepare_video("google", model, "p", fields, {})
        assert loc(bad) == ["body", field], model
    assert google_media.prepare_video("google", "veo-2.0-generate-001", "p", {"n": 2, "duration": 5}, {}).n == 2


def test_veo_operations_in_our_words():
    assert google_media.parse_operation({"name": "op"}).status == "processing"
    assert google_media.parse_operation({"name": "op", "metadata": {"progressPercent": 40}}).progress == 40
    cancelled = google_media.parse_operation({"done": True, "error": {"code": 1, "message": "stop"}})
    assert (cancelled.status, cancelled.error) == ("cancelled", "stop")
    failed = google_media.parse_operation({"done": True, "error": {"code": 13, "message": "boom"}})
    assert (failed.status, failed.error) == ("failed", "boom")
    filtered = google_media.parse_operation(
        {"done": True, "response": {"generateVideoResponse": {"raiMediaFilteredReasons": ["unsafe"]}}}
    )
    assert (filtered.status, filtered.error) == ("failed", "unsafe")
    done = google_media.parse_operation(
        {
            "done": True,
            "response": {"generateVideoResponse": {"generatedSamples": [{"video": {"uri": "u1"}}, {"video": {}}]}},
        }
    )
    assert done.status == "completed" and [a.url for a in done.assets] == ["u1"]


# ---------------------------------------------------------------------------------------------- against the fake


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    c = create_client(connect_timeout=1, read_timeout=2, retry_base_wait=0.001, retry_max_wait=0.005, trust_env=False)
    yield c
    await c.aclose()


def cfg(fake: FakeProviders, wire: str, pid: str | None = None) -> ProviderConfig:
    return ProviderConfig(pid or wire, wire, fake.base_url(wire), "operator-key")


async def test_images_against_the_fake(fake, client):
    openai = cfg(fake, "openai")
    call = openai_images.prepare_images("openai", "gpt-image-2", "sunset", 2, {}, {})
    images = await openai_images.generate_images(client, openai, call, "operator-key", byok=False)
    assert [i.b64_json for i in images] == [fake_image_b64("sunset", i) for i in range(2)]
    call = openai_images.prepare_images("xai", "grok-imagine-image", "fox", 1, {"response_format": "url"}, {})
    [image] = await openai_images.generate_images(client, cfg(fake, "openai", "xai"), call, "k", byok=False)
    assert image.url.endswith("image-0.png") and image.revised_prompt
    google = cfg(fake, "google")
    call = google_media.prepare_images("google", "gemini-3.1-flash-image", "bird", 2, {}, {})
    images = await google_media.generate_images(client, google, call, "operator-key", byok=False)
    assert len(images) == 2 and images[0].mime_type == "image/png"
    call = google_media.prepare_images("google", "imagen-4.0-generate-001", "tree", 3, {}, {})
    images = await google_media.generate_images(client, google, call, "operator-key", byok=False)
    assert [i.b64_json for i in images] == [fake_image_b64("tree", i) for i in range(3)]
    call = google_media.prepare_images("google", "gemini-3.1-flash-image", "x [[blocked]]", 1, {}, {})
    with pytest.raises(BadRequest, match="IMAGE_SAFETY"):
        await google_media.generate_images(client, google, call, "operator-key", byok=False)
    call = openai_images.prepare_images("openai", "gpt-image-2", "x [[status:429]]", 1, {}, {})
    with pytest.raises(UpstreamError) as limited:
        await openai_images.generate_images(client, openai, call, "operator-key", byok=False)
    assert limited.value.http_status == 429


async def test_speech_and_transcription_against_the_fake(fake, client):
    openai = cfg(fake, "openai")
    speech = await openai_speech.speech(
        client,
        openai,
        openai_speech.prepare_speech("tts-1", "Hi there", {"response_format": "flac"}, {}),
        "k",
        byok=False,
    )
    assert speech.audio == fake_audio("Hi there", "flac") and speech.content_type == "audio/flac"
    audio = wav(4)
    for fmt, seconds in (("json", 4.0), ("verbose_json", 4.0), ("srt", 4.0), ("vtt", 4.0), ("text", None)):
        call = openai_transcription.prepare_transcription("whisper-1", "transcriptions", {"response_format": fmt})
        transcript = await openai_transcription.transcribe(
            client, openai, call, ("a.wav", audio, "audio/wav"), "k", byok=False
        )
        assert "Transcript of a.wav" in transcript.text and transcript.seconds == seconds, fmt
    [sent] = [q for q in fake.requests if q["path"].endswith("/audio/transcriptions")][-1:]
    assert sent["body"]["files"]["file"]["sha256"] == hashlib.sha256(audio).hexdigest()
    call = openai_transcription.prepare_transcription("whisper-1", "translations", {"prompt": "news"})
    translated = await openai_transcription.transcribe(
        client, openai, call, ("b.wav", audio, "audio/wav"), "k", byok=False
    )
    assert translated.text.startswith("Translation of b.wav") and translated.text.endswith("[news]")


async def test_video_jobs_against_the_fake(fake, client):
    openai, google = cfg(fake, "openai"), cfg(fake, "google")
    call = openai_video.prepare_video("openai", "sora-2", "cat [[slow:2]]", {"duration": 8}, {})
    job_id, state = await openai_video.submit_video(client, openai, call, "k", byok=False)
    assert state.status == "queued"
    first = await openai_video.poll_video(client, openai, job_id, "k", byok=False)
    assert (first.status, first.progress) == ("processing", 50)
    done = await openai_video.poll_video(client, openai, job_id, "k", byok=False)
    assert done.status == "completed" and done.seconds == 8.0
    assert done.assets[0].file_size == fake_video_size(8) and done.assets[0].url.endswith(f"/videos/{job_id}/content")
    assert await openai_video.cancel_video(client, openai, job_id, "k", byok=False) is True
    with pytest.raises(NotFound):
        await openai_video.poll_video(client, openai, job_id, "k", byok=False)

    call = google_media.prepare_video("google", "veo-3.1-fast-generate-preview", "fish [[slow:1]]", {}, {})
    name, _ = await google_media.submit_video(client, google, call, "k", byok=False)
    done = await google_media.poll_video(client, google, name, "k", byok=False)
    assert done.status == "completed" and done.assets[0].file_size == fake_video_size(8)
    # The download redirects to a signed URL: followed, but without the key (the fake refuses keys there).
    [signed] = [q for q in fake.requests if q["path"].startswith("/signed/")][-1:]
    assert "x-goog-api-key" not in signed["headers"] and "authorization" not in signed["headers"]

    call = google_media.prepare_video("google", "veo-3.1-fast-generate-preview", "dog [[slow:3]]", {}, {})
    name, state = await google_media.submit_video(client, google, call, "k", byok=False)
    assert name.startswith("models/veo-3.1-fast-generate-preview/operations/") and state.status == "processing"
    assert (await google_media.poll_video(client, google, name, "k", byok=False)).status == "processing"
    assert await google_media.cancel_video(client, google, name, "k", byok=False) is True
    assert (await google_media.poll_video(client, google, name, "k", byok=False)).status == "cancelled"
    call = google_media.prepare_video("google", "veo-3.1-fast-generate-preview", "dog [[fail]] [[slow:1]]", {}, {})
    name, _ = await google_media.submit_video(client, google, call, "k", byok=False)
    failed = await google_media.poll_video(client, google, name, "k", byok=False)
    assert (failed.status, failed.error) == ("failed", "fake provider failure")


# ---------------------------------------------------------------------------------------------- jobs + database


@pytest.fixture(scope="module", params=database_kinds())
async def hub(request, fake) -> AsyncIterator[Hub]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='hub-media-')) / 'hub.db'}"
    else:
        url = await fresh_database_url()
    await asyncio.to_thread(upgrade, url)
    hub = Hub.create(Settings(database_url=url, jwt_secret="x" * 32, video_worker=False))
    hub.ledger.start()
    hub.catalog = load_catalog()
    hub.http = create_client(retries=1, retry_base_wait=0.001, read_timeout=2, trust_env=False)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GOOGLE_BASE_URL", fake.base_url("google"))
        env.setenv("GOOGLE_API_KEY", "operator-google")
        yield hub
    await hub.http.aclose()
    await hub.ledger.stop()
    await hub.engine.dispose()


async def new_user(hub: Hub, credits_nanos: int = 10_000_000_000) -> Principal:
    async with hub.sessions() as session, session.begin():
        user = User(email=f"{uuid.uuid4().hex}@x.test", username="u", balance_nanos=credits_nanos)
        session.add(user)
    return Principal(user_id=user.id, api_key_id=1)


async def scalar(hub: Hub, query):
    async with hub.sessions() as session:
        return await session.scalar(query)


async def state(hub: Hub, principal: Principal, job_id: str) -> tuple:
    """(job status, balance, usage records, ledger charges, holds) of one job."""
    balance = await scalar(hub, select(User.balance_nanos).where(User.id == principal.user_id))
    rows = await scalar(hub, select(func.count()).select_from(UsageRecord).where(UsageRecord.request_id == job_id))
    charges = await scalar(hub, select(func.count()).select_from(Transaction).where(Transaction.request_id == job_id))
    held = await scalar(hub, select(func.count()).select_from(CreditHold).where(CreditHold.request_id == job_id))
    status = await scalar(hub, select(VideoJob.status).where(VideoJob.id == job_id))
    return status, balance, rows, charges, held


async def start_job(hub: Hub, principal: Principal, prompt: str, byok: str | None = None) -> VideoJob:
    caller = Caller(principal, model="google/veo-3.1-fast-generate-preview", byok_key=byok)
    return await videos.create_job(hub, caller, fields={"prompt": prompt, "duration": 4})


async def test_worker_completes_a_job_and_settles_once(hub):
    principal = await new_user(hub)
    job = await start_job(hub, principal, "sky [[slow:2]]")
    assert await state(hub, principal, job.id) == ("processing", 10_000_000_000 - 600_000_000, 0, 0, 1)
    worker = videos.VideoWorker(hub, 0.1)
    await worker.run_once()
    assert (await state(hub, principal, job.id))[0] == "processing"
    await worker.run_once()
    assert await state(hub, principal, job.id) == ("completed", 10_000_000_000 - 600_000_000, 1, 1, 0)
    loaded = await videos.get_job(hub, principal, job.id)
    assert loaded.cost_nanos == 600_000_000 and loaded.result["data"][0]["file_size"] == fake_video_size(4)
    # Settling again (a second worker, a retry) changes nothing.
    assert await videos.finalize(hub, loaded, "failed", error="late") is False
    assert await videos.settle_job(hub, loaded) == 0
    assert await state(hub, principal, job.id) == ("completed", 10_000_000_000 - 600_000_000, 1, 1, 0)
    with pytest.raises(NotFound):
        await videos.get_job(hub, await new_user(hub), job.id)


async def test_racing_finishers_settle_exactly_once(hub):
    principal = await new_user(hub)
    job = await start_job(hub, principal, "race [[slow:100000]]")
    copies = [await videos.get_job(hub, principal, job.id) for _ in range(4)]
    won = await asyncio.gather(
        videos.finalize(hub, copies[0], "completed", cost_nanos=600_000_000, result={"data": []}),
        videos.finalize(hub, copies[1], "cancelled", error="user"),
        videos.finalize(hub, copies[2], "failed", error="provider"),
        videos.finalize(hub, copies[3], "completed", cost_nanos=600_000_000, result={"data": []}),
    )
    assert won.count(True) == 1
    status, balance, rows, charges, held = await state(hub, principal, job.id)
    assert rows == 1 and held == 0
    expected = 600_000_000 if status == "completed" else 0
    assert balance == 10_000_000_000 - expected and charges == (1 if expected else 0)


async def test_recovery_settles_a_job_finished_by_a_crashed_process(hub):
    principal = await new_user(hub)
    job = await start_job(hub, principal, "crash [[slow:100000]]")
    # The process died between the final UPDATE and the settlement.
    async with hub.sessions() as session, session.begin():
        await session.execute(
            update(VideoJob)
            .where(VideoJob.id == job.id)
            .values(status="completed", cost_nanos=500_000_000, updated_at=clock.now() - timedelta(minutes=1))
        )
    assert (await state(hub, principal, job.id))[2:] == (0, 0, 1)
    assert await videos.settle_unsettled(hub) >= 1
    assert await state(hub, principal, job.id) == ("completed", 10_000_000_000 - 500_000_000, 1, 1, 0)
    assert await videos.settle_unsettled(hub) == 0


async def test_stale_hold_release_spares_video_jobs(hub):
    principal = await new_user(hub)
    job = await start_job(hub, principal, "old [[slow:100000]]")
    other = await billing.reserve(
        hub, user_id=principal.user_id, api_key_id=None, amount_nanos=1_000, byok=False, request_id="resp_old"
    )
    async with hub.sessions() as session, session.begin():
        await session.execute(
            update(CreditHold)
            .where(CreditHold.request_id.in_([job.id, other.request_id]))
            .values(created_at=clock.now() - timedelta(days=3))
        )
    await billing.release_stale_holds(hub)
    assert await scalar(hub, select(CreditHold.request_id).where(CreditHold.user_id == principal.user_id)) == job.id
    assert await scalar(hub, select(User.balance_nanos).where(User.id == principal.user_id)) == 9_400_000_000


async def test_jobs_that_cannot_be_followed_fail_cleanly(hub):
    principal = await new_user(hub)
    worker = videos.VideoWorker(hub, 0.1)
    # A BYOK job whose key this process no longer has (a restart), unpolled for a while.
    byok = await start_job(hub, principal, "byok [[slow:100000]]", byok="sk-callers-own")
    assert videos.byok_keys(hub)[byok.id] == "sk-callers-own"
    videos.byok_keys(hub).pop(byok.id)
    # A job whose submission never completed.
    orphan = await start_job(hub, principal, "orphan [[slow:100000]]")
    # A job the provider no longer knows.
    gone = await start_job(hub, principal, "gone [[slow:100000]]")
    async with hub.sessions() as session, session.begin():
        old = clock.now() - timedelta(minutes=5)
        await session.execute(update(VideoJob).where(VideoJob.id == byok.id).values(updated_at=old))
        await session.execute(
            update(VideoJob)
            .where(VideoJob.id == orphan.id)
            .values(provider_job_id=None, created_at=old, updated_at=old)
        )
        await session.execute(
            update(VideoJob).where(VideoJob.id == gone.id).values(provider_job_id="models/veo-x/operations/nope")
        )
    await worker.run_once()
    for job, why in (
        (byok, "kept in memory only"),
        (orphan, "never accepted by the provider"),
        (gone, "no longer knows this job"),
    ):
        loaded = await videos.get_job(hub, principal, job.id)
        assert loaded.status == "failed" and why in loaded.error, (loaded.error, why)
        assert (await state(hub, principal, job.id))[2:] == (1, 0, 0)
    assert await scalar(hub, select(User.balance_nanos).where(User.id == principal.user_id)) == 10_000_000_000


async def test_cancel_and_listing(hub):
    principal = await new_user(hub)
    jobs = [await start_job(hub, principal, f"list {i} [[slow:100000]]") for i in range(3)]
    page = await videos.list_jobs(hub, principal, 2, 1)
    assert [j.id for j in page.jobs] == [jobs[1].id, jobs[0].id] and page.total == 3 and not page.has_more
    with pytest.raises(ValidationFailed):
        await videos.list_jobs(hub, principal, 0, -1)
    cancelled = await videos.cancel_job(hub, principal, jobs[0].id)
    assert cancelled.status == "cancelled" and cancelled.error == "Cancelled by the user"
    with pytest.raises(Conflict, match="already cancelled"):
        await videos.cancel_job(hub, principal, jobs[0].id)
    fields = videos.job_fields(cancelled)
    assert fields["is_async"] is True and fields["cost_nanos"] == 0 and fields["completed_at"]
    for job in jobs[1:]:
        await videos.cancel_job(hub, principal, job.id)
    assert await scalar(hub, select(User.balance_nanos).where(User.id == principal.user_id)) == 10_000_000_000
