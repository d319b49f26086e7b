"""Agentic chat in every wire format: the adapters against the fake providers (which validate requests the
way the real APIs do), the shape checks of upstream answers, the SSRF guard, the stream event builder and
the feature checks."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from server.domain import features, request_tokens, tokens
from server.domain.responses import ToolCallEvents
from server.errors import HubError, UpstreamError, ValidationFailed
from server.providers import anthropic, google, openai_format, openai_responses, registry
from server.providers.base import ChatParams, Delta, ProviderConfig, StreamEnd, ToolCallDelta
from server.providers.fetch import IMAGE_TYPES, FetchPolicy, fetch
from server.providers.http import create_client
from tests.fakes.providers import GEMINI_SIGNATURE, PIXEL_PNG, FakeProviders

FORMATS = ["openai", "anthropic", "google", "responses"]  # responses: OpenAI models behind the Responses API
PNG_URL = "data:image/png;base64," + base64.b64encode(PIXEL_PNG).decode()
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_fake(request: pytest.FixtureRequest) -> None:
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").reset()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    c = create_client(connect_timeout=1, read_timeout=2, retry_base_wait=0.001, retry_max_wait=0.005, trust_env=False)
    yield c
    await c.aclose()


def cfg_for(fake: FakeProviders, fmt: str, provider: str | None = None) -> ProviderConfig:
    base = fake.base_url(fmt, provider or "")
    return ProviderConfig(id=provider or fmt, wire_format=fmt, base_url=base, api_key="k")


def adapter_for(fake: FakeProviders, fmt: str):
    if fmt == "responses":
        return openai_responses, cfg_for(fake, "openai")
    return registry.ADAPTERS[fmt].chat, cfg_for(fake, fmt)


def ask(text: str, **kw) -> ChatParams:
    return ChatParams(model="m-1", messages=[{"role": "user", "content": text}], **kw)


async def stream_items(adapter, client, cfg, p) -> tuple[list, StreamEnd]:
    items = [item async for item in adapter.stream_chat(client, cfg, p, "k", byok=False)]
    assert isinstance(items[-1], StreamEnd) and not any(isinstance(i, StreamEnd) for i in items[:-1])
    return items[:-1], items[-1]


def calls_of(items: list) -> list[tuple[str, str, str]]:
    """(id, name, arguments) per streamed call, the argument pieces concatenated."""
    calls: dict[int, list] = {}
    for item in items:
        if isinstance(item, ToolCallDelta):
            entry = calls.setdefault(item.index, [item.id, item.name, ""])
            entry[2] += item.arguments
    return [tuple(v) for _, v in sorted(calls.items())]


# ---------------------------------------------------------------------------------------------- agent loop


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_agent_loop_unary_and_stream(fake, client, fmt):
    adapter, cfg = adapter_for(fake, fmt)
    first = await adapter.chat(client, cfg, ask("Paris", tools=[WEATHER]), "k", byok=False)
    assert first.finish_reason == "tool_calls" and first.text == ""
    (call,) = first.tool_calls
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"} and call.id
    items, end = await stream_items(adapter, client, cfg, ask("Paris", tools=[WEATHER]))
    ((sid, name, arguments),) = calls_of(items)
    assert sid
    assert end.finish_reason == "tool_calls" and name == "get_weather" and json.loads(arguments) == {"city": "Paris"}
    if fmt != "google":  # Gemini sends a call whole: one piece; the others stream the arguments
        assert sum(isinstance(i, ToolCallDelta) and i.arguments != "" for i in items) > 1
    # the client runs the tool and sends the result back: the model answers with it
    history = [
        {"role": "user", "content": "Paris"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "sunny 21C"},
    ]
    second = await adapter.chat(client, cfg, ChatParams("m-1", history, tools=[WEATHER]), "k", byok=False)
    assert (second.text, second.finish_reason, second.tool_calls) == ("Echo: sunny 21C", "stop", [])
    items, end = await stream_items(adapter, client, cfg, ChatParams("m-1", history, tools=[WEATHER]))
    assert "".join(i.text for i in items if isinstance(i, Delta)) == "Echo: sunny 21C" and end.finish_reason == "stop"


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_parallel_calls_keep_order_and_results_merge(fake, client, fmt):
    adapter, cfg = adapter_for(fake, fmt)
    result = await adapter.chat(client, cfg, ask("Rome [[calls:3]]", tools=[WEATHER, CLOCK]), "k", byok=False)
    assert [c.name for c in result.tool_calls] == ["get_weather", "get_time", "get_weather"]
    assert len({c.id for c in result.tool_calls}) == 3
    items, _ = await stream_items(adapter, client, cfg, ask("Rome [[calls:3]]", tools=[WEATHER, CLOCK]))
    assert [name for _, name, _ in calls_of(items)] == ["get_weather", "get_time", "get_weather"]
    history = [
        {"role": "user", "content": "Rome"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in result.tool_calls
            ],
        },
        *({"role": "tool", "tool_call_id": c.id, "content": f"r{i}"} for i, c in enumerate(result.tool_calls)),
    ]
    answer = await adapter.chat(client, cfg, ChatParams("m-1", history, tools=[WEATHER, CLOCK]), "k", byok=False)
    assert answer.text == "Echo: r0 r1 r2"
    body = fake.requests[-1]["body"]
    if fmt == "anthropic":  # all results in the one user turn right after the calls
        assert [b["type"] for b in body["messages"][-1]["content"]] == ["tool_result"] * 3
    if fmt == "google":  # each result named after its call
        names = [p["functionResponse"]["name"] for p in body["contents"][-1]["parts"]]
        assert names == ["get_weather", "get_time", "get_weather"]


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_tool_choice_forced_and_none(fake, client, fmt):
    adapter, cfg = adapter_for(fake, fmt)
    forced = {"type": "function", "function": {"name": "get_time"}}
    result = await adapter.chat(client, cfg, ask("x", tools=[WEATHER, CLOCK], tool_choice=forced), "k", byok=False)
    assert [c.name for c in result.tool_calls] == ["get_time"]
    result = await adapter.chat(client, cfg, ask("x", tools=[WEATHER], tool_choice="none"), "k", byok=False)
    assert result.tool_calls == [] and result.text == "Echo: x"


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_json_schema_output_parses(fake, client, fmt):
    adapter, cfg = adapter_for(fake, fmt)
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}
    fmt_param = {"type": "json_schema", "json_schema": {"name": "plan", "schema": schema, "strict": True}}
    for model in ("m-1", "claude-3-opus"):  # Anthropic: native output_config, and the forced-tool fallback
        p = ChatParams(model, [{"role": "user", "content": "Oslo"}], response_format=fmt_param)
        result = await adapter.chat(client, cfg, p, "k", byok=False)
        assert json.loads(result.text) == {"city": "Oslo", "days": 1} and result.finish_reason == "stop"
        items, end = await stream_items(adapter, client, cfg, p)
        assert json.loads("".join(i.text for i in items if isinstance(i, Delta))) == {"city": "Oslo", "days": 1}
        assert end.finish_reason == "stop"
    result = await adapter.chat(
        client, cfg, ask("json please", response_format={"type": "json_object"}), "k", byok=False
    )
    assert isinstance(json.loads(result.text), dict)


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", FORMATS)
async def test_images_and_pdfs_reach_the_provider_natively(fake, client, fmt, monkeypatch):
    monkeypatch.setenv("HUB_FETCH_ALLOW_LOOPBACK", "1")
    adapter, cfg = adapter_for(fake, fmt)
    pdf = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4 fake").decode()
    content = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": PNG_URL}},
        {"type": "image_url", "image_url": {"url": f"{fake.url}/files/pixel.png"}},
        {"type": "file", "file": {"file_data": pdf, "filename": "a.pdf"}},
    ]
    result = await adapter.chat(client, cfg, ChatParams("m-1", [{"role": "user", "content": content}]), "k", byok=False)
    assert result.text == "Echo: look [images:2] [pdfs:1]"
    sent = [r for r in fake.requests if r["method"] == "POST"][-1]["body"]
    if fmt == "anthropic":
        blocks = sent["messages"][0]["content"]
        assert blocks[1]["source"] == {"type": "base64", "media_type": "image/png", "data": PNG_URL.split(",", 1)[1]}
        assert blocks[2]["source"] == {"type": "url", "url": f"{fake.url}/files/pixel.png"}
        assert blocks[3]["type"] == "document" and blocks[3]["title"] == "a.pdf"
    elif fmt == "google":  # the https image was fetched and inlined
        parts = sent["contents"][0]["parts"]
        assert [p["inlineData"]["mimeType"] for p in parts[1:]] == ["image/png", "image/png", "application/pdf"]


@pytest.mark.asyncio
async def test_mistral_tool_ids_seed_and_pdfs(fake, client):
    cfg = cfg_for(fake, "openai", "mistral")
    history = [
        {"role": "user", "content": "x"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "toolu_from_claude_1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_from_claude_1", "content": "noon"},
    ]
    result = await openai_format.chat(client, cfg, ChatParams("m", history, tools=[CLOCK], seed=3), "k", byok=False)
    assert result.text == "Echo: noon"
    body = fake.requests[-1]["body"]
    new_id = body["messages"][1]["tool_calls"][0]["id"]
    assert len(new_id) == 9 and new_id.isalnum() and body["messages"][2]["tool_call_id"] == new_id
    assert body["random_seed"] == 3 and "seed" not in body
    assert openai_format.nine_char_id("abcDEF123") == "abcDEF123"


# ---------------------------------------------------------------------------------------------- the fakes validate


@pytest.mark.asyncio
async def test_anthropic_fake_rejects_openai_shaped_tools(fake, client):
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}], "tools": [WEATHER]}
    r = await client.post(
        f"{fake.url}/v1/messages", json=body, headers={"x-api-key": "k", "anthropic-version": "2023-06-01"}
    )
    assert r.status_code == 400 and "input_schema" in r.text


@pytest.mark.asyncio
async def test_gemini_fake_rejects_function_response_without_name(fake, client):
    contents = [
        {"role": "user", "parts": [{"text": "x"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"response": {"output": "y"}}}]},
    ]
    r = await client.post(
        f"{fake.url}/v1beta/models/m:generateContent", json={"contents": contents}, headers={"x-goog-api-key": "k"}
    )
    assert r.status_code == 400 and "Name cannot be empty" in r.text


@pytest.mark.asyncio
async def test_openai_fake_rejects_orphan_tool_result(fake, client):
    messages = [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "y"}]
    r = await client.post(
        f"{fake.url}/v1/chat/completions",
        json={"model": "m", "messages": messages},
        headers={"authorization": "Bearer k"},
    )
    assert r.status_code == 400 and "tool_calls" in r.text


def test_anthropic_body_translation():
    p = ChatParams(
        "claude-haiku-4-5",
        [
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": "let me see",
                "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}],
            },
            {"role": "tool", "tool_call_id": "a", "content": [{"type": "text", "text": "r"}]},
            {"role": "user", "content": "and?"},
        ],
        tools=[WEATHER],
        tool_choice="required",
        parallel_tool_calls=False,
        stop=["END"],
        reasoning_effort="low",
        max_tokens=5000,
    )
    body = anthropic.chat_body(p, stream=False)
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "let me see"},
        {"type": "tool_use", "id": "a", "name": "f", "input": {"x": 1}},
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "a", "content": "r"},
        {"type": "text", "text": "and?"},
    ]
    assert body["tools"][0]["input_schema"] == WEATHER["function"]["parameters"]
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert body["stop_sequences"] == ["END"] and body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    adaptive = anthropic.chat_body(
        ChatParams("claude-opus-4-7", [{"role": "user", "content": "q"}], reasoning_effort="high"), stream=False
    )
    assert adaptive["thinking"] == {"type": "adaptive"} and adaptive["output_config"] == {"effort": "high"}


def test_gemini_body_translation():
    p = ChatParams(
        "gemini-3.5-flash",
        [{"role": "user", "content": "q"}],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}}},
        stop=["x"],
        seed=4,
        reasoning_effort="medium",
    )
    body = google.chat_body(p)
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather in a city",
                    "parametersJsonSchema": WEATHER["function"]["parameters"],
                }
            ]
        }
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert body["generationConfig"] == {
        "stopSequences": ["x"],
        "seed": 4,
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
        "thinkingConfig": {"thinkingLevel": "MEDIUM"},
    }
    assert google.thinking_config("gemini-2.5-pro", "high") == {"thinkingBudget": 24576}


@pytest.mark.asyncio
async def test_gemini_thought_signature_goes_back_on_the_call(fake, client):
    cfg = cfg_for(fake, "google")
    first = await google.chat(client, cfg, ask("Paris", tools=[WEATHER]), "k", byok=False)
    (call,) = first.tool_calls
    history = [
        {"role": "user", "content": "Paris"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "ok"},
    ]
    await google.chat(client, cfg, ChatParams("gemini-3.5-flash", history, tools=[WEATHER]), "k", byok=False)
    assert fake.requests[-1]["body"]["contents"][1]["parts"][0]["thoughtSignature"] == GEMINI_SIGNATURE
    assert set(call.id) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    # without it a Gemini 3 model refuses the turn (400), as the real API does
    history[1]["tool_calls"][0]["id"] = history[2]["tool_call_id"] = "call_plain"
    with pytest.raises(HubError, match="thought_signature"):
        await google.chat(client, cfg, ChatParams("gemini-3.5-flash", history, tools=[WEATHER]), "k", byok=False)


def test_responses_api_translation_and_parse():
    p = ChatParams(
        "gpt-5.6-sol",
        [
            {"role": "system", "content": "S"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "q"}, {"type": "image_url", "image_url": {"url": PNG_URL}}],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "r"},
        ],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "s", "schema": {"type": "object"}, "strict": True},
        },
        reasoning_effort="high",
        max_tokens=100,
    )
    body = openai_responses.request_body(p, stream=False)
    assert body["input"] == [
        {"type": "message", "role": "system", "content": "S"},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "q"},
                {"type": "input_image", "image_url": PNG_URL, "detail": "auto"},
            ],
        },
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "r"},
    ]
    assert body["tools"][0] == {
        "type": "function",
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": WEATHER["function"]["parameters"],
        "strict": False,
    }
    assert body["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert body["text"] == {
        "format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}, "strict": True}
    }
    assert body["reasoning"] == {"effort": "high"} and body["max_output_tokens"] == 100 and body["store"] is False
    answer = {
        "status": "completed",
        "output": [
            {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "hm"}]},
            {"type": "function_call", "id": "fc", "call_id": "c2", "name": "f", "arguments": '{"a":1}'},
        ],
        "usage": {"input_tokens": 5, "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 2}},
    }
    result = openai_responses.parse_response(answer)
    assert result.finish_reason == "tool_calls" and result.reasoning == "hm"
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [("c2", "f", '{"a":1}')]
    assert result.usage.output_tokens == 7 and result.usage.reasoning_tokens == 2


# ---------------------------------------------------------------------------------------------- upstream shapes


def test_malformed_openai_choices_are_a_502_naming_the_provider():
    with pytest.raises(UpstreamError) as err:
        openai_format.parse_chat({"choices": ["not an object"]}, "mistral")
    assert err.value.http_status == 502 and "mistral" in err.value.detail
    with pytest.raises(UpstreamError):
        openai_format.parse_chat({"choices": []}, "openai")
    with pytest.raises(UpstreamError):
        openai_format.parse_chunk({"choices": [{"delta": {"tool_calls": "x"}}]}, "openai")


def test_gemini_body_without_candidates_or_block_reason_is_a_502():
    with pytest.raises(UpstreamError) as err:
        google.parse_response({"usageMetadata": {"promptTokenCount": 5}}, "google")
    assert err.value.http_status == 502 and "google" in err.value.detail
    assert google.parse_response({"promptFeedback": {"blockReason": "SAFETY"}}).finish_reason == "content_filter"


def test_anthropic_content_not_blocks_is_a_502():
    with pytest.raises(UpstreamError):
        anthropic.parse_message({"content": "text"}, "anthropic")


# ---------------------------------------------------------------------------------------------- fetch guard


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a.png",  # not https
        "https://127.0.0.1/a.png",
        "https://10.0.0.1/a.png",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/a.png",
        "https://metadata.google.internal/x",
        "https://0.0.0.0/a.png",
    ],
)
async def test_fetch_refuses_non_public_targets(client, url):
    with pytest.raises(ValidationFailed) as err:
        await fetch(client, url, IMAGE_TYPES, ["loc"], FetchPolicy())
    assert err.value.detail[0]["loc"] == ["loc"]


@pytest.mark.asyncio
async def test_fetch_caps_size_and_content_type(fake, client):
    loopback = FetchPolicy(allow_loopback=True)
    got = await fetch(client, f"{fake.url}/files/pixel.png", IMAGE_TYPES, ["l"], loopback)
    assert got.mime_type == "image/png" and got.data == PIXEL_PNG
    with pytest.raises(ValidationFailed, match="larger than"):
        await fetch(
            client, f"{fake.url}/files/pixel.png", IMAGE_TYPES, ["l"], FetchPolicy(max_bytes=10, allow_loopback=True)
        )
    with pytest.raises(ValidationFailed, match="content type"):
        await fetch(client, f"{fake.url}/files/page.html", IMAGE_TYPES, ["l"], loopback)
    with pytest.raises(ValidationFailed, match="HTTP 404"):
        await fetch(client, f"{fake.url}/files/missing.png", IMAGE_TYPES, ["l"], loopback)


# ---------------------------------------------------------------------------------------------- events, features


def test_tool_call_events_concatenate_exactly_and_close_in_order():
    ev = ToolCallEvents("resp_1")
    out = ev.feed(0, "c0", "f", "")
    out += ev.feed(0, None, None, '{"a"')
    out += ev.feed(0, None, None, ":1}")
    out += ev.feed(1, "c1", "g", "{}")
    out += ev.finish()
    kinds = [(e["type"], e["output_index"]) for e in out]
    assert kinds == [
        ("response.output_item.added", 1),
        ("response.function_call_arguments.delta", 1),
        ("response.function_call_arguments.delta", 1),
        ("response.function_call_arguments.done", 1),
        ("response.output_item.done", 1),
        ("response.output_item.added", 2),
        ("response.function_call_arguments.delta", 2),
        ("response.function_call_arguments.done", 2),
        ("response.output_item.done", 2),
    ]
    assert out[0]["item"]["arguments"] == "" and out[3]["arguments"] == '{"a":1}'
    assert "".join(e["delta"] for e in out if e["type"].endswith(".delta") and e["output_index"] == 1) == '{"a":1}'
    assert out[4]["item"] == {
        "type": "function_call",
        "id": "fc_1_1",
        "call_id": "c0",
        "name": "f",
        "arguments": '{"a":1}',
        "status": "completed",
    }


def test_features_refuse_what_the_model_or_format_cannot_do():
    entry = {"supportsTools": False, "supportsVision": False, "supportsJsonSchema": False, "reasoningEfforts": []}
    p = ChatParams(
        "m",
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG_URL}}]}],
        tools=[WEATHER],
        response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": {}}},
        reasoning_effort="low",
    )
    found = features.problems("groq", "openai", "m", entry, p)
    assert [e["loc"][-1] for e in found] == ["tools", "messages", "response_format", "reasoning_effort"]
    assert all("Provider 'groq' model 'm'" in e["msg"] for e in found)
    assert features.problems("groq", "openai", "m", {}, p) == []  # no flags: no restriction
    assert [e["loc"][-1] for e in features.problems("anthropic", "anthropic", "c", {}, ask("x", seed=1))] == ["seed"]
    gemini = features.problems("google", "google", "g", {}, ask("x", parallel_tool_calls=False))
    assert [e["loc"][-1] for e in gemini] == ["parallel_tool_calls"]


def test_token_counts_are_cl100k_without_the_python_copy_of_its_ranks():
    """The tokenizer counts with cl100k_base (ids as OpenAI's tokenizer gives them) after the Python-side copy
    of its merge ranks is dropped (server.domain.tokens keeps only the Rust core's)."""
    assert tokens._encoding().encode("hello world, this is a test") == [15339, 1917, 11, 420, 374, 264, 1296]
    assert tokens._encoding()._mergeable_ranks == {}
    assert tokens.count_text("hello world, this is a test") == 7
    assert tokens.count_messages([{"role": "user", "content": "hello world"}]) == 4 + 2 + 3


def test_prompt_count_includes_tools_and_images():
    plain = request_tokens.count_prompt(ask("hi"), "openai")
    with_tools = request_tokens.count_prompt(ask("hi", tools=[WEATHER]), "openai")
    image = ChatParams("m", [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG_URL}}]}])
    assert with_tools > plain + 20
    assert request_tokens.count_prompt(image, "anthropic") >= request_tokens.IMAGE_TOKENS["anthropic"]


def test_reasoning_content_goes_back_to_deepseek_only():
    messages = [
        {"role": "user", "content": "x"},
        {
            "role": "assistant",
            "content": None,
            "reasoning_content": "think",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "assistant", "content": "done", "reasoning_content": "other"},
    ]
    p = ChatParams("m", messages)
    deepseek = openai_format.chat_body(p, stream=False, provider="deepseek")["messages"]
    assert deepseek[1]["reasoning_content"] == "think" and "reasoning_content" not in deepseek[2]
    sent = openai_format.chat_body(p, stream=False, provider="openai")["messages"]
    assert all("reasoning_content" not in m for m in sent)
