"""The OpenAI-compatible surface at /v1, driven by the official `openai` Python SDK (unmodified) through the real
Envoy and server against the fake providers: bodies, streams, errors, billing and usage records."""

from __future__ import annotations

import io
import json
import wave

import httpx
import openai
import pytest

from tests.e2e.conftest import bearer
from tests.e2e.test_chat import balance_nanos, ledger_sum, usage_rows
from tests.fakes.providers import answer_text, fake_audio, fake_vector
from tests.harness import Gateway, fake_requests


@pytest.fixture
def sdk(gateway: Gateway, make_user):
    """(user_id, api_key, client) for a fresh user; the client never retries, so each call is one request."""
    user_id, key = make_user(credits=5)
    with openai.OpenAI(base_url=f"{gateway.base}/v1", api_key=key, max_retries=0, timeout=30) as client:
        yield user_id, key, client


def raw_post(gateway: Gateway, key: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{gateway.base}/v1{path}", headers=bearer(key), json=body, timeout=30)


def sse_lines(gateway: Gateway, key: str, path: str, body: dict) -> list[str]:
    with httpx.stream("POST", f"{gateway.base}/v1{path}", headers=bearer(key), json=body, timeout=30) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        return [line for line in r.iter_lines() if line]


def requests_since(gateway: Gateway, marker: str) -> list[dict]:
    """Recorded upstream requests whose body mentions `marker` (each test uses its own words)."""
    return [r for r in fake_requests(gateway) if marker in json.dumps(r.get("body"))]


# ---------------------------------------------------------------------------------------------- chat


@pytest.mark.parametrize(
    "model", ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5-20251001", "google/gemini-3.5-flash"]
)
def test_chat_unary_bills_once_and_records_the_surface(gateway: Gateway, sdk, model: str) -> None:
    user_id, _, client = sdk
    before = balance_nanos(gateway, user_id)
    r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello unary"}])
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert r.model == model
    [choice] = r.choices
    assert choice.message.role == "assistant" and choice.message.content == answer_text("Hello unary")
    assert choice.message.refusal is None and choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens == 3
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.usage.prompt_tokens_details.cached_tokens == 0
    assert r.usage.completion_tokens_details.reasoning_tokens == 0
    [row] = usage_rows(gateway, user_id)
    assert row["endpoint"] == "openai.chat" and row["status"] == "success"
    assert row["provider"] == model.split("/")[0] and row["input_tokens"] == r.usage.prompt_tokens
    assert row["cost_nanos"] > 0
    assert before - balance_nanos(gateway, user_id) == row["cost_nanos"]
    assert ledger_sum(gateway, user_id) == balance_nanos(gateway, user_id)


def test_chat_usage_details_cached_and_reasoning_tokens(gateway: Gateway, sdk) -> None:
    _, _, client = sdk
    r = client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Think [[reason]] [[cached:2]]"}]
    )
    assert r.usage.prompt_tokens_details.cached_tokens == 2
    assert r.usage.completion_tokens_details.reasoning_tokens > 0
    assert r.choices[0].message.content == answer_text("Think [[reason]] [[cached:2]]")


def test_chat_request_fields_reach_the_provider(gateway: Gateway, sdk) -> None:
    _, _, client = sdk
    client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief"}, {"role": "user", "content": "fields-marker-17"}],
        max_completion_tokens=40,
        temperature=0.5,
        stop=["END"],
        seed=7,
        response_format={"type": "json_object"},
        user="someone",
    )
    [sent] = requests_since(gateway, "fields-marker-17")
    body = sent["body"]
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0.5
    assert body["messages"][0] == {"role": "system", "content": "Be brief"}
    assert (body.get("max_completion_tokens") or body.get("max_tokens")) == 40


def test_chat_stream_with_usage_chunk_and_done(gateway: Gateway, sdk) -> None:
    user_id, key, client = sdk
    stream = client.chat.completions.create(
        model="anthropic/claude-haiku-4-5-20251001",
        messages=[{"role": "user", "content": "Stream to me"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == answer_text("Stream to me")
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    [row] = usage_rows(gateway, user_id)
    assert row["endpoint"] == "openai.chat" and row["status"] == "success"
    assert row["output_tokens"] == chunks[-1].usage.completion_tokens

    lines = sse_lines(
        gateway,
        key,
        "/chat/completions",
        {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "raw"}], "stream": True},
    )
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert all("usage" not in c for c in chunks)  # no include_usage: no usage field, no usage chunk
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_chat_stream_failing_after_output_ends_with_an_error_chunk(gateway: Gateway, sdk) -> None:
    user_id, key, client = sdk
    body = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "one two three four five six [[cut]]"}],
        "stream": True,
    }
    lines = sse_lines(gateway, key, "/chat/completions", body)
    assert lines[-1] == "data: [DONE]"
    last = json.loads(lines[-2][6:])
    assert set(last) == {"error"} and "openai" in last["error"]["message"]
    assert last["error"]["type"] == "server_error"
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(**body))
    rows = usage_rows(gateway, user_id)
    assert len(rows) == 2 and all(r["endpoint"] == "openai.chat" for r in rows)


def test_session_and_byok_extensions(gateway: Gateway, sdk) -> None:
    user_id, _, client = sdk
    before = balance_nanos(gateway, user_id)
    client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "byok-marker-33"}],
        extra_body={"byok_api_key": "sk-callers-own", "session_id": "sess-oai-1"},
    )
    [sent] = requests_since(gateway, "byok-marker-33")
    assert sent["headers"]["authorization"] == "Bearer sk-callers-own"
    [row] = usage_rows(gateway, user_id)
    assert row["session_id"] == "sess-oai-1" and row["byok"] and row["cost_nanos"] == 0
    assert balance_nanos(gateway, user_id) == before


# ---------------------------------------------------------------------------------------------- responses


def test_responses_unary_with_instructions(gateway: Gateway, sdk) -> None:
    user_id, _, client = sdk
    r = client.responses.create(
        model="google/gemini-3.5-flash", input="Hello responses", instructions="Answer kindly", max_output_tokens=50
    )
    assert r.object == "response" and r.status == "completed" and r.store is False
    assert r.output_text == answer_text("Hello responses")
    assert r.instructions == "Answer kindly" and r.max_output_tokens == 50
    [item] = r.output
    assert item.type == "message" and item.role == "assistant" and item.id.startswith("msg_")
    assert r.usage.input_tokens > 0 and r.usage.output_tokens == 3
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    [row] = usage_rows(gateway, user_id)
    assert row["endpoint"] == "openai.responses" and row["provider"] == "google"


def test_responses_input_items_become_chat_turns(gateway: Gateway, sdk) -> None:
    _, _, client = sdk
    r = client.responses.create(
        model="openai/gpt-4o-mini",
        input=[
            {"role": "user", "content": "What is the weather?"},
            {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": '{"city":"Oslo"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
            {"role": "user", "content": [{"type": "input_text", "text": "items-marker-41"}]},
        ],
        text={"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": True}},
    )
    # a JSON-schema answer: the fake answers an instance of the schema carrying the prompt
    assert json.loads(r.output_text) == {"answer": "items-marker-41"}
    [sent] = requests_since(gateway, "items-marker-41")
    assert sent["body"]["response_format"]["type"] == "json_schema"
    messages = sent["body"]["messages"]
    assert messages[1]["role"] == "assistant"
    assert messages[1]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Oslo"}'}}
    ]
    assert messages[2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    assert messages[3] == {"role": "user", "content": "items-marker-41"}
    assert r.text.format.type == "json_schema"


def test_responses_stream_event_sequence(gateway: Gateway, sdk) -> None:
    user_id, _, client = sdk
    with client.responses.stream(model="anthropic/claude-haiku-4-5-20251001", input="Stream responses") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert kinds.count("response.output_text.delta") == len(kinds) - 8 > 0
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.output_text == answer_text("Stream responses") and final.status == "completed"
    assert final.usage.output_tokens > 0
    [row] = usage_rows(gateway, user_id)
    assert row["endpoint"] == "openai.responses" and row["status"] == "success"


def test_responses_is_stateless(gateway: Gateway, sdk) -> None:
    user_id, _, client = sdk
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="openai/gpt-4o-mini", input="again", previous_response_id="resp_123")
    assert err.value.status_code == 400 and err.value.param == "previous_response_id"
    assert "not supported" in err.value.message and "stateless" in err.value.message
    assert usage_rows(gateway, user_id) == []


# ---------------------------------------------------------------------------------------------- embeddings, models


def test_embeddings_float_and_base64(gateway: Gateway, sdk) -> None:
    user_id, key, client = sdk
    r = client.embeddings.create(model="openai/text-embedding-3-small", input=["alpha beta", "gamma"])  # SDK: base64
    assert [d.index for d in r.data] == [0, 1]
    assert r.data[0].embedding == pytest.approx(fake_vector("alpha beta"), rel=1e-6)
    assert r.model == "openai/text-embedding-3-small" and r.usage.prompt_tokens == 3
    raw = raw_post(
        gateway,
        key,
        "/embeddings",
        {"model": "openai/text-embedding-3-small", "input": "gamma", "encoding_format": "float", "dimensions": 8},
    )
    assert raw.status_code == 200, raw.text
    assert raw.json()["data"][0]["embedding"] == fake_vector("gamma")
    assert isinstance(
        raw_post(
            gateway,
            key,
            "/embeddings",
            {"model": "openai/text-embedding-3-small", "input": "g", "encoding_format": "base64"},
        ).json()["data"][0]["embedding"],
        str,
    )
    rows = usage_rows(gateway, user_id)
    assert len(rows) == 3 and {r["endpoint"] for r in rows} == {"openai.embedding"}
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="openai/text-embedding-3-small", input=[])
    assert err.value.param == "input"


def test_models_list_only_enabled_and_retrieve(gateway: Gateway, sdk) -> None:
    _, key, client = sdk
    models = list(client.models.list())
    ids = {m.id for m in models}
    catalog = httpx.get(f"{gateway.api}/models", headers=bearer(key), timeout=10).json()
    enabled, disabled = set(), set()
    for provider in catalog:
        for category in (
            "text_completions",
            "embeddings",
            "image_generation",
            "text_to_speech",
            "speech_to_text",
            "video_generation",
        ):
            for m in provider.get(category) or []:
                (disabled if m.get("is_disabled") else enabled).add(f"{provider['id']}/{m['modelName']}")
    assert ids == enabled and disabled and not ids & (disabled - enabled)
    assert all(m.object == "model" and m.owned_by == m.id.split("/")[0] for m in models)
    one = client.models.retrieve("anthropic/claude-haiku-4-5-20251001")
    assert one.id == "anthropic/claude-haiku-4-5-20251001" and one.owned_by == "anthropic"
    for missing in ("openai/no-such-model", sorted(disabled - enabled)[0]):
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve(missing)


# ---------------------------------------------------------------------------------------------- errors


def test_error_classes_and_bodies(gateway: Gateway, sdk, make_user) -> None:
    user_id, key, client = sdk
    hello = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.AuthenticationError) as err:
        openai.OpenAI(base_url=f"{gateway.base}/v1", api_key="ihk_wrong", max_retries=0).models.list()
    assert err.value.status_code == 401 and err.value.code == "invalid_api_key"

    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="openai/no-such-model", messages=hello)
    assert err.value.code == "model_not_found"

    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="openai/gpt-4o-mini", messages=hello, temperature=3)
    assert err.value.param == "temperature" and err.value.type == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="openai/gpt-4o-mini", messages=[])
    assert err.value.param == "messages"
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="openai/gpt-4o-mini", messages=hello, extra_body={"bogus": 1})
    assert err.value.param == "bogus" and "Unrecognized request argument" in err.value.message
    with pytest.raises(openai.NotFoundError) as err:  # Envoy's own reply for a path nobody serves, OpenAI-shaped
        client.files.list()
    assert err.value.code == "unknown_url" and "GET /v1/files" in err.value.message
    bad_json = httpx.post(f"{gateway.base}/v1/chat/completions", headers=bearer(key), content=b"{nope", timeout=10)
    assert bad_json.status_code == 400 and bad_json.json()["error"]["type"] == "invalid_request_error"

    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "[[status:429]] [[retryafter:7]]"}]
        )
    # the provider's own Retry-After (the fake sends it, as the real APIs do) reaches the SDK
    assert err.value.response.headers["retry-after"] == "7" and "openai" in err.value.message

    with pytest.raises(openai.InternalServerError) as err:
        client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "[[status:500]]"}]
        )
    assert err.value.status_code == 502 and "'openai'" in err.value.message
    assert all(r["cost_nanos"] == 0 and r["status"] == "error" for r in usage_rows(gateway, user_id))
    assert balance_nanos(gateway, user_id) == 5_000_000_000

    _, broke = make_user(credits=0)
    poor = openai.OpenAI(base_url=f"{gateway.base}/v1", api_key=broke, max_retries=0)
    with pytest.raises(openai.APIStatusError) as err:
        poor.chat.completions.create(model="openai/gpt-4o-mini", messages=hello)
    assert err.value.status_code == 402 and err.value.type == "insufficient_quota"


# ---------------------------------------------------------------------------------------------- media


def _wav(seconds: float = 1.0) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))
    return out.getvalue()


def test_images_speech_and_transcription(gateway: Gateway, sdk) -> None:
    user_id, _, client = sdk
    images = client.images.generate(model="openai/gpt-image-2", prompt="a red square", n=2, size="1024x1024")
    assert len(images.data) == 2 and all(d.b64_json for d in images.data)

    speech = client.audio.speech.create(
        model="openai/tts-1", voice="alloy", input="Hello speech", response_format="wav"
    )
    assert speech.response.headers["content-type"] == "audio/wav" and speech.content == fake_audio(
        "Hello speech", "wav"
    )

    text = client.audio.transcriptions.create(model="openai/whisper-1", file=("a.wav", _wav(), "audio/wav"))
    assert isinstance(text.text, str) and text.text
    plain = client.audio.transcriptions.create(
        model="openai/whisper-1", file=("a.wav", _wav(), "audio/wav"), response_format="text"
    )
    assert isinstance(plain, str) and plain
    verbose = client.audio.transcriptions.create(
        model="openai/whisper-1",
        file=("a.wav", _wav(), "audio/wav"),
        response_format="verbose_json",
        timestamp_granularities=["word"],
    )
    assert verbose.text and verbose.words is not None
    translated = client.audio.translations.create(model="openai/whisper-1", file=("a.wav", _wav(), "audio/wav"))
    assert translated.text
    endpoints = [r["endpoint"] for r in usage_rows(gateway, user_id)]
    assert endpoints == ["openai.image", "openai.tts", "openai.stt", "openai.stt", "openai.stt", "openai.translation"]
    with pytest.raises(openai.BadRequestError) as err:
        client.images.generate(model="openai/gpt-image-2", prompt="")
    assert err.value.param == "prompt"


# ---------------------------------------------------------------------------------------------- analytics


def test_analytics_tells_the_surfaces_apart(gateway: Gateway, sdk) -> None:
    _, key, client = sdk
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "one"}])
    r = httpx.post(
        f"{gateway.api}/chat/completions",
        headers=bearer(key),
        json={"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "two"}]},
        timeout=30,
    )
    assert r.status_code == 200
    groups = httpx.get(f"{gateway.api}/analytics/usage", params={"group_by": "endpoint"}, headers=bearer(key)).json()
    assert {g["key"]: g["requests"] for g in groups["groups"]} == {"chat": 1, "openai.chat": 1}
    only = httpx.get(f"{gateway.api}/analytics/usage", params={"endpoint": "openai.chat"}, headers=bearer(key)).json()
    assert [rec["endpoint"] for rec in only["records"]] == ["openai.chat"]
