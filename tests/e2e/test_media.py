"""Images, text-to-speech and speech-to-text end to end: Envoy -> server -> fake providers, with exact billing
from the catalog prices, and the official client's media calls."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
import wave

import httpx
import pytest

from server.catalog import pricing
from server.catalog.catalog import load_catalog
from tests.e2e.conftest import bearer
from tests.e2e.test_auth_and_cli import run_official_client
from tests.e2e.test_chat import balance_nanos, ledger_sum, usage_rows
from tests.fakes.providers import fake_audio, fake_image_b64
from tests.harness import Gateway, fake_requests

CATALOG = load_catalog()


def entry(provider: str, model: str, category: str) -> dict:
    return dict(CATALOG.find(provider, model, category))


def nanos(usd: float) -> int:
    return round(usd * 1_000_000_000)


def sent(gateway: Gateway, marker: str, path_end: str) -> list[dict]:
    """What the fake providers received for requests whose body mentions `marker`."""
    return [q for q in fake_requests(gateway) if q["path"].endswith(path_end) and marker in json.dumps(q["body"])]


def wav(seconds: float, rate: int = 16_000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * int(rate * seconds))
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- images


def test_images_openai_gpt_image(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user(credits=5)
    marker = f"lighthouse-{uuid.uuid4().hex[:8]}"
    body = {
        "prompt": f"A {marker} at dusk",
        "model": "openai/gpt-image-2",
        "n": 2,
        "size": "1024x1024",
        "quality": "high",
        "background": "opaque",
        "output_format": "png",
        "aspect_ratio": "16:9",  # Google's field: not sent to OpenAI
        "negative_prompt": "fog",  # Imagen's field: not sent to OpenAI
        "byok_api_key": None,
        "additional_params": {},
    }
    r = rest.post("/images/generations", headers=bearer(key), json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["success"] is True and out["provider"] == "openai" and out["model"] == "gpt-image-2"
    assert out["request_id"] and out["created_at"].endswith("+00:00")
    assert [d["b64_json"] for d in out["data"]] == [fake_image_b64(body["prompt"], i) for i in range(2)]
    assert out["data"][0]["content_type"] == "image/png"
    price = nanos(2 * 0.211)  # imagePrices["1024x1024"]["high"]
    assert out["usage"]["cost"] == price / 1e9 and out["usage"]["cost_breakdown"]["images"] == 2
    [upstream] = sent(gateway, marker, "/images/generations")
    assert upstream["path"] == "/v1/images/generations"
    assert upstream["headers"]["authorization"] == "Bearer sk-test-openai"
    assert upstream["body"] == {
        "model": "gpt-image-2",
        "prompt": body["prompt"],
        "n": 2,
        "size": "1024x1024",
        "quality": "high",
        "background": "opaque",
        "output_format": "png",
    }
    [row] = usage_rows(gateway, user_id)
    assert row["endpoint"] == "image" and row["status"] == "success" and row["cost_nanos"] == price
    assert row["request_id"] == out["request_id"]
    assert balance_nanos(gateway, user_id) == 5_000_000_000 - price == ledger_sum(gateway, user_id)
    # Size and quality left to the model ("auto"): the dearest is reserved, what it made is charged.
    r = rest.post("/images/generations", headers=bearer(key), json={"prompt": f"auto {marker}", "quality": "auto"})
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["cost"] == 0.053  # the fake reports 1024x1024, medium
    assert balance_nanos(gateway, user_id) == 5_000_000_000 - price - nanos(0.053)


def test_images_xai_uses_openai_format(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    marker = f"fox-{uuid.uuid4().hex[:8]}"
    r = rest.post(
        "/images/generations",
        headers=bearer(key),
        json={"prompt": f"A {marker}", "model": "xai/grok-imagine-image", "n": 3, "aspect_ratio": "16:9"},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["data"]) == 3 and all(d["url"].endswith(".png") and d["revised_prompt"] for d in out["data"])
    assert out["usage"]["cost"] == 3 * 0.02
    [upstream] = sent(gateway, marker, "/images/generations")
    assert upstream["path"] == "/v1/images/generations" and upstream["headers"]["authorization"] == "Bearer sk-test-xai"
    assert upstream["body"] == {"model": "grok-imagine-image", "prompt": f"A {marker}", "n": 3, "aspect_ratio": "16:9"}
    # Priced by quality and resolution where the catalog says so (Grok Imagine 2.0: 2k, low = $0.06).
    r = rest.post(
        "/images/generations",
        headers=bearer(key),
        json={
            "prompt": f"B {marker}",
            "model": "xai/grok-imagine-image-2.0",
            "quality": "low",
            "response_format": "b64_json",
            "additional_params": {"resolution": "2k"},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["cost"] == 0.06 and "b64_json" in r.json()["data"][0]
    assert [row["cost_nanos"] for row in usage_rows(gateway, user_id)] == [nanos(0.06), nanos(0.06)]


def test_images_google_gemini_gets_only_its_fields(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    marker = f"garden-{uuid.uuid4().hex[:8]}"
    body = {
        "prompt": f"A {marker}",
        "model": "google/gemini-3.1-flash-image",
        "n": 2,
        "size": "2K",
        "aspect_ratio": "16:9",
        "quality": "hd",
        "style": "vivid",
        "background": "transparent",
        "seed": 7,
    }
    r = rest.post("/images/generations", headers=bearer(key), json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert [d["b64_json"] for d in out["data"]] == [fake_image_b64(body["prompt"], 0)] * 2
    assert out["usage"]["cost"] == 2 * 0.101  # imagePrices["2K"]
    calls = sent(gateway, marker, ":generateContent")
    assert len(calls) == 2  # one image per request
    for call in calls:
        assert call["path"] == "/v1beta/models/gemini-3.1-flash-image:generateContent"
        assert call["headers"]["x-goog-api-key"] == "sk-test-google"
        assert call["body"]["generationConfig"] == {
            "responseModalities": ["IMAGE"],
            "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"},
            "seed": 7,
        }
        assert set(call["body"]) == {"contents", "generationConfig"}
    assert usage_rows(gateway, user_id)[0]["cost_nanos"] == nanos(0.202)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "openai/gpt-image-2", "size": "huge"}, "size"),
        ({"model": "openai/gpt-image-2", "response_format": "url"}, "response_format"),
        ({"model": "openai/gpt-image-2", "quality": "hd"}, "quality"),
        ({"model": "openai/gpt-image-2", "n": 11}, "n"),
        ({"model": "openai/gpt-image-2", "output_compression": 101}, "output_compression"),
        ({"model": "xai/grok-imagine-image", "aspect_ratio": "7:5"}, "aspect_ratio"),
        ({"model": "google/gemini-3.1-flash-image", "size": "1024x1024"}, "size"),
        ({"model": "google/gemini-3.1-flash-image", "aspect_ratio": "5:7"}, "aspect_ratio"),
        ({"model": "openai/gpt-image-2", "n": 0}, "n"),
    ],
)
def test_images_values_a_provider_cannot_take_are_422(
    gateway: Gateway, rest: httpx.Client, make_user, body: dict, field: str
) -> None:
    user_id, key = make_user()
    r = rest.post("/images/generations", headers=bearer(key), json={"prompt": "a cat", **body})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", field]
    assert usage_rows(gateway, user_id) == [] and balance_nanos(gateway, user_id) == 10_000_000_000


def test_images_errors(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user(credits=1)
    r = rest.post("/images/generations", headers=bearer(key), json={"model": "openai/gpt-image-2"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "prompt"]
    r = rest.post("/images/generations", headers=bearer(key), json={"prompt": "x", "model": "openai/dall-e-3"})
    assert r.status_code == 404 and r.json()["detail"].startswith("Model 'openai/dall-e-3' is not available (disabled)")
    r = rest.post("/images/generations", headers=bearer(key), json={"prompt": "x", "model": "anthropic/claude-x"})
    assert r.status_code == 404
    r = rest.post("/images/generations", headers=bearer(key), json={"prompt": "x", "model": "openai/gpt-4o-mini"})
    assert r.status_code == 404 and "image_generation" in r.json()["detail"]
    for marker, status in (("[[status:500]]", 502), ("[[status:429]]", 429), ("[[status:400]]", 400)):
        r = rest.post("/images/generations", headers=bearer(key), json={"prompt": f"boom {marker}"})
        assert r.status_code == status, (marker, r.text)
        assert "openai" in r.json()["detail"]
    r = rest.post(
        "/images/generations",
        headers=bearer(key),
        json={"prompt": "nothing [[blocked]]", "model": "google/gemini-3.1-flash-image"},
    )
    assert r.status_code == 400 and "IMAGE_SAFETY" in r.json()["detail"]
    rows = usage_rows(gateway, user_id)
    assert len(rows) == 4 and all(row["status"] == "error" and row["cost_nanos"] == 0 for row in rows)
    assert {row["endpoint"] for row in rows} == {"image"}
    assert balance_nanos(gateway, user_id) == 1_000_000_000 == ledger_sum(gateway, user_id)
    poor, poor_key = make_user(credits=0.01)
    r = rest.post("/images/generations", headers=bearer(poor_key), json={"prompt": "x", "n": 1})
    assert r.status_code == 402 and usage_rows(gateway, poor) == []


def test_images_default_model_and_byok(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user(credits=1)
    marker = f"byok-{uuid.uuid4().hex[:8]}"
    r = rest.post(
        "/images/generations", headers=bearer(key), json={"prompt": marker, "byok_api_key": "sk-own-image-key"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "gpt-image-2" and r.json()["usage"]["cost"] == 0
    [upstream] = sent(gateway, marker, "/images/generations")
    assert upstream["headers"]["authorization"] == "Bearer sk-own-image-key"
    [row] = usage_rows(gateway, user_id)
    assert row["byok"] == 1 and row["cost_nanos"] == 0 and balance_nanos(gateway, user_id) == 1_000_000_000


# ---------------------------------------------------------------------------------------------- speech


def test_text_to_speech(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    text = f"Hello world {uuid.uuid4().hex[:6]}"
    r = rest.post(
        "/audio/tts/generations",
        headers=bearer(key),
        json={"input": text, "model": "openai/tts-1", "response_format": "wav", "speed": 1.25},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    audio = base64.b64decode(out["data"]["audio"])
    assert audio == fake_audio(text, "wav")
    assert out["data"]["format"] == "wav" and out["data"]["content_type"] == "audio/wav"
    assert out["data"]["size"] == len(audio)
    cost = pricing.characters_cost_nanos(entry("openai", "tts-1", "text_to_speech"), len(text))
    assert out["usage"]["cost"] == cost / 1e9 and out["usage"]["cost_breakdown"] == {"characters": len(text)}
    [upstream] = sent(gateway, text, "/audio/speech")
    assert upstream["body"] == {
        "model": "tts-1",
        "input": text,
        "voice": "alloy",
        "response_format": "wav",
        "speed": 1.25,
    }
    [row] = usage_rows(gateway, user_id)
    assert row["endpoint"] == "tts" and row["cost_nanos"] == cost

    steer = f"Steered {uuid.uuid4().hex[:6]}"
    r = rest.post(
        "/audio/tts/generations",
        headers=bearer(key),
        json={"input": steer, "model": "openai/gpt-4o-mini-tts", "voice": "coral", "instructions": "Whisper."},
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["format"] == "mp3" and r.json()["data"]["content_type"] == "audio/mpeg"
    assert sent(gateway, steer, "/audio/speech")[0]["body"]["instructions"] == "Whisper."

    for body, field in (
        ({"input": "x", "model": "openai/tts-1", "instructions": "Sing."}, "instructions"),
        ({"input": "x", "model": "openai/tts-1", "response_format": "ogg"}, "response_format"),
        ({"input": "x", "model": "openai/tts-1", "speed": 9}, "speed"),
        ({"input": "x" * 4097, "model": "openai/tts-1"}, "input"),
        ({"model": "openai/tts-1"}, "input"),
    ):
        r = rest.post("/audio/tts/generations", headers=bearer(key), json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], r.text
    r = rest.post("/audio/tts/generations", headers=bearer(key), json={"input": "down [[status:503]]"})
    assert r.status_code == 503
    assert [row["status"] for row in usage_rows(gateway, user_id)] == ["success", "success", "error"]


# ---------------------------------------------------------------------------------------------- transcription


def test_transcription_of_a_large_upload_passes_intact(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    audio = wav(200)  # 6.4 MB of 16 kHz 16-bit mono
    assert len(audio) > 6_000_000
    r = rest.post(
        "/audio/stt/transcriptions",
        headers=bearer(key),
        files={"file": ("meeting.wav", audio, "audio/wav")},
        data={
            "model": "openai/whisper-1",
            "language": "en",
            "prompt": "Board meeting",
            "response_format": "verbose_json",
            "temperature": "0.2",
            "timestamp_granularities": '["word", "segment"]',
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    data = out["data"]
    assert data["text"] == f"Transcript of meeting.wav ({len(audio)} bytes) [Board meeting]"
    assert data["response_format"] == "verbose_json" and data["duration"] == 200
    assert data["segments"][0]["end"] == 200 and len(data["words"]) == len(data["text"].split())
    [upstream] = [q for q in fake_requests(gateway) if q["path"] == "/v1/audio/transcriptions"][-1:]
    file = upstream["body"]["files"]["file"]
    assert file == {
        "filename": "meeting.wav",
        "content_type": "audio/wav",
        "size": len(audio),
        "sha256": hashlib.sha256(audio).hexdigest(),
    }
    assert upstream["body"]["fields"] == {
        "model": ["whisper-1"],
        "response_format": ["verbose_json"],
        "prompt": ["Board meeting"],
        "language": ["en"],
        "temperature": ["0.2"],
        "timestamp_granularities[]": ["word", "segment"],
    }
    cost = pricing.minutes_cost_nanos(entry("openai", "whisper-1", "speech_to_text"), 200)
    assert cost == nanos(200 / 60 * 0.006)
    assert out["usage"]["cost"] == cost / 1e9
    assert out["usage"]["cost_breakdown"] == {"audio_seconds": 200, "price_per_minute": 0.006}
    [row] = usage_rows(gateway, user_id)
    assert row["endpoint"] == "stt" and row["cost_nanos"] == cost and row["model"] == "whisper-1"


@pytest.mark.parametrize("fmt", ["json", "text", "srt", "vtt"])
def test_transcription_response_formats(gateway: Gateway, rest: httpx.Client, make_user, fmt: str) -> None:
    user_id, key = make_user()
    r = rest.post(
        "/audio/stt/transcriptions",
        headers=bearer(key),
        files={"file": ("clip.wav", wav(3), "audio/wav")},
        data={"model": "openai/whisper-1", "response_format": fmt},
    )
    assert r.status_code == 200, r.text
    text = r.json()["data"]["text"]
    assert "Transcript of clip.wav" in text
    if fmt == "srt":
        assert text.startswith("1\n00:00:00,000 --> 00:00:03,000\n")
    elif fmt == "vtt":
        assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:03.000\n")
    assert r.json()["data"]["response_format"] == fmt
    assert usage_rows(gateway, user_id)[0]["cost_nanos"] == nanos(3 / 60 * 0.006)


def test_translation_and_other_models(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    clip = {"file": ("speech.wav", wav(2), "audio/wav")}
    r = rest.post("/audio/stt/translations", headers=bearer(key), files=clip, data={"model": "openai/whisper-1"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["text"].startswith("Translation of speech.wav")
    assert r.json()["message"] == "Audio translated to English"
    r = rest.post(
        "/audio/stt/translations", headers=bearer(key), files=clip, data={"model": "openai/gpt-4o-transcribe"}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "model"]
    r = rest.post(
        "/audio/stt/transcriptions",
        headers=bearer(key),
        files=clip,
        data={"model": "openai/gpt-4o-mini-transcribe", "response_format": "text"},
    )
    assert r.status_code == 200 and r.json()["model"] == "gpt-4o-mini-transcribe"
    r = rest.post(
        "/audio/stt/transcriptions",
        headers=bearer(key),
        files=clip,
        data={"model": "openai/gpt-4o-transcribe", "response_format": "srt"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "response_format"]
    r = rest.post(
        "/audio/stt/transcriptions",
        headers=bearer(key),
        files=clip,
        data={"model": "openai/gpt-4o-transcribe", "timestamp_granularities": '["word"]'},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "timestamp_granularities"]
    # Groq's Whisper: the same wire format, billed per hour with a 10 s minimum.
    r = rest.post(
        "/audio/stt/transcriptions",
        headers=bearer(key),
        files={"file": ("short.wav", wav(1), "audio/wav")},
        data={"model": "groq/whisper-large-v3-turbo"},
    )
    assert r.status_code == 200, r.text
    groq_cost = pricing.minutes_cost_nanos(entry("groq", "whisper-large-v3-turbo", "speech_to_text"), 1)
    assert groq_cost == -(-10 * 40_000_000 // 3600)  # 10 s minimum at $0.04 an hour, rounded up
    assert r.json()["usage"]["cost"] == groq_cost / 1e9
    rows = usage_rows(gateway, user_id)
    assert [(row["endpoint"], row["status"]) for row in rows] == [
        ("translation", "success"),
        ("stt", "success"),
        ("stt", "success"),
    ]


def test_transcription_upload_errors(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    r = rest.post("/audio/stt/transcriptions", headers=bearer(key), data={"model": "openai/whisper-1"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]  # urlencoded, not multipart
    r = rest.post(
        "/audio/stt/transcriptions",
        headers=bearer(key),
        files={"other": ("a.txt", b"x", "text/plain")},
        data={"model": "openai/whisper-1"},
    )
    assert r.status_code == 422 and r.json()["detail"] == [
        {"loc": ["body", "file"], "msg": "Field required", "type": "missing"}
    ]
    clip = {"file": ("a.wav", wav(1), "audio/wav")}
    r = rest.post("/audio/stt/transcriptions", headers=bearer(key), files=clip, data={"temperature": "hot"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "float_parsing"
    r = rest.post("/audio/stt/transcriptions", headers=bearer(key), files=clip, data={"temperature": "1.5"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "temperature"]
    r = rest.post(
        "/audio/stt/transcriptions",
        headers={**bearer(key), "Content-Type": "multipart/form-data; boundary=xyz"},
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
    )
    assert r.status_code == 422 and "Malformed multipart" in r.json()["detail"][0]["msg"]
    # Over 25 MB: the server's own check (413 with a detail) ...
    big = b"\x00" * (25 * 1024 * 1024 + 10)
    r = rest.post("/audio/stt/transcriptions", headers=bearer(key), files={"file": ("big.mp3", big, "audio/mpeg")})
    assert r.status_code == 413 and r.json()["detail"] == "File 'file' is too large: the limit is 25 MB"
    # ... and above what Envoy accepts at all.
    bigger = b"\x00" * (27 * 1024 * 1024)
    r = rest.post("/audio/stt/transcriptions", headers=bearer(key), files={"file": ("big.mp3", bigger, "audio/mpeg")})
    assert r.status_code == 413 and "25 MB" in r.json()["detail"]
    r = rest.post("/audio/stt/transcriptions", headers=bearer(key), files=clip, data={"prompt": "x [[status:500]]"})
    assert r.status_code == 502
    rows = usage_rows(gateway, user_id)
    assert len(rows) == 1 and rows[0]["status"] == "error" and rows[0]["cost_nanos"] == 0
    assert balance_nanos(gateway, user_id) == 10_000_000_000
    r = rest.post("/audio/stt/transcriptions", files=clip)
    assert r.status_code == 401


# ---------------------------------------------------------------------------------------------- catalog + client


def test_models_endpoints_list_media_models_with_prices(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    images = rest.get("/models/openai/image_generation", headers=bearer(key)).json()
    assert any(m["modelName"] == "gpt-image-2" and m["pricePerImage"] > 0 for m in images)
    speech = rest.get("/models/openai/text_to_speech", headers=bearer(key)).json()
    assert {m["modelName"] for m in speech} >= {"tts-1", "tts-1-hd", "gpt-4o-mini-tts"}
    stt = rest.get("/models/openai/speech_to_text", headers=bearer(key)).json()
    assert {m["modelName"]: m["pricePerMinute"] for m in stt}["whisper-1"] == 0.006
    video = rest.get("/models/google/video_generation", headers=bearer(key)).json()
    assert any(m["modelName"] == "veo-3.1-generate-preview" and m["pricePerSecond"] > 0 for m in video)
    xai = rest.get("/models/xai/image_generation", headers=bearer(key)).json()
    assert any(m["modelName"] == "grok-imagine-image" for m in xai)


OFFICIAL_MEDIA = r"""
import io, json, os, sys, tempfile, wave
from indoxhub import Client
client = Client(api_key=sys.argv[1], base_url=sys.argv[2])
out = {}
img = client.images("an official lighthouse", model="xai/grok-imagine-image", n=2)
out["images"] = [sorted(d) for d in img["data"]]
out["image_cost"] = img["usage"]["cost"]
img = client.images("an official garden", model="google/gemini-3.1-flash-image", size="1024x1024")
out["google_image"] = sorted(img["data"][0])
tts = client.text_to_speech("Hello from the client", model="openai/tts-1", voice="nova", response_format="wav")
out["tts"] = {k: tts["data"][k] for k in ("format", "content_type", "size")}
buf = io.BytesIO()
with wave.open(buf, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(b"\0\0" * 8000 * 4)
path = os.path.join(tempfile.mkdtemp(), "clip.wav")
with open(path, "wb") as fh:
    fh.write(buf.getvalue())
stt = client.speech_to_text(path, model="openai/whisper-1", timestamp_granularities=["segment"],
                            response_format="verbose_json")
out["stt"] = stt["data"]["text"]
out["stt_duration"] = stt["data"]["duration"]
tr = client.translate_audio(buf.getvalue(), model="openai/whisper-1", response_format="text")
out["translation"] = tr["data"]["text"]
try:
    client.images("x", model="openai/dall-e-3")
except Exception as exc:
    out["disabled"] = type(exc).__name__
print(json.dumps(out))
"""


def test_official_client_media(gateway: Gateway, make_user) -> None:
    user_id, key = make_user()
    done = run_official_client(gateway, OFFICIAL_MEDIA, key)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["images"] == [["revised_prompt", "url"]] * 2 and out["image_cost"] == 0.04
    assert out["google_image"] == ["b64_json", "content_type"]
    assert out["tts"]["format"] == "wav" and out["tts"]["content_type"] == "audio/wav" and out["tts"]["size"] > 0
    assert out["stt"].startswith("Transcript of clip.wav") and out["stt_duration"] == 4
    assert out["translation"].startswith("Translation of audio_file")
    assert out["disabled"] == "ModelNotAvailableError"
    endpoints = [row["endpoint"] for row in usage_rows(gateway, user_id)]
    assert endpoints == ["image", "image", "tts", "stt", "translation"]
