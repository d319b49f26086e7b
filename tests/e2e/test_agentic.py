"""Agent-grade chat end to end (Envoy -> server -> fake providers that validate like the real APIs), on each
of the 8 registry providers plus an OpenAI model behind the Responses API: the agent loop unary and
streamed over REST and typed gRPC, parallel calls, images by data URL and by URL, JSON-schema output, the
422s for what a provider or model cannot do, malformed upstream answers, and exact charges."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator

import grpc
import httpx
import pytest
from google.protobuf import struct_pb2
from indoxhub.v1 import chat_pb2, chat_pb2_grpc

from server.catalog import pricing
from server.catalog.catalog import load_catalog
from server.domain import tokens
from tests.e2e.conftest import bearer
from tests.fakes.providers import PIXEL_PNG
from tests.harness import Gateway, fake_requests, start_gateway

MODELS = [
    "openai/gpt-4o-mini",
    "anthropic/claude-haiku-4-5-20251001",
    "google/gemini-3.5-flash",
    "mistral/mistral-small-latest",
    "deepseek/deepseek-flash",
    "xai/grok-4.3",
    "groq/openai/gpt-oss-20b",
    "local/qwen-local",
    "openai/gpt-resp-test",  # upstreamApi "responses"
]
# where a provider's default model above lacks a feature (catalog flags), the test uses one that has it
VISION = [m if not m.startswith("groq/") else "groq/meta-llama/llama-4-scout-17b-16e-instruct" for m in MODELS]
JSON_SCHEMA = [m for m in MODELS if not m.startswith("deepseek/")]  # DeepSeek documents json_object only
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


def _entry(name: str, **flags) -> dict:
    return {
        "modelName": name,
        "name": name,
        "type": "text_completions",
        "description": "test model",
        "contextWindow": 131072,
        "maxOutputTokens": 4096,
        "is_disabled": False,
        "inputPricePer1MTokens": 1.0,
        "outputPricePer1MTokens": 4.0,
        # an operator's model states what it can do (unstated capabilities are refused)
        "supportsTools": True,
        "supportsVision": True,
        "supportsPdf": True,
        "supportsJsonSchema": True,
        "reasoningEfforts": ["low", "medium", "high"],
        "upstreamApi": "chat_completions",
        **flags,
    }


@pytest.fixture(scope="module")
def agw(tmp_path_factory) -> Iterator[Gateway]:
    catalog = tmp_path_factory.mktemp("catalog")
    files = {
        "local": {"id": "local", "name": "Local", "text_completions": [_entry("qwen-local")]},
        "openai": {"id": "openai", "text_completions": [_entry("gpt-resp-test", upstreamApi="responses")]},
        "groq": {
            "id": "groq",
            "text_completions": [
                _entry(
                    "tiny-text",
                    supportsTools=False,
                    supportsVision=False,
                    supportsPdf=False,
                    supportsJsonSchema=False,
                    reasoningEfforts=[],
                )
            ],
        },
    }
    for name, data in files.items():
        (catalog / f"{name}.json").write_text(json.dumps(data))
    gw = start_gateway(
        extra_env={"HUB_CATALOG_DIR": str(catalog), "HUB_FETCH_ALLOW_LOOPBACK": "1"}, provider_paths=True
    )
    gw.catalog_dir = str(catalog)
    yield gw
    gw.close()


@pytest.fixture
def user(agw: Gateway):
    import uuid

    return agw.create_user(f"agent-{uuid.uuid4().hex[:10]}@example.com", 5)


@pytest.fixture
def api(agw: Gateway):
    with httpx.Client(base_url=agw.api, timeout=30) as client:
        yield client


def post(api: httpx.Client, key: str, model: str, messages: list, **fields) -> httpx.Response:
    return api.post("/chat/completions", headers=bearer(key), json={"model": model, "messages": messages, **fields})


def sse(api: httpx.Client, key: str, model: str, messages: list, **fields) -> list[dict]:
    body = {"model": model, "messages": messages, "stream": True, **fields}
    with api.stream("POST", "/chat/completions", headers=bearer(key), json=body) as r:
        assert r.status_code == 200, r.read()
        events = [
            json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ") and line != "data: [DONE]"
        ]
    return events


def rows(gw: Gateway, user_id: int) -> list[dict]:
    db = sqlite3.connect(gw.workdir / "hub.db")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM usage_records WHERE user_id = ? ORDER BY id", (user_id,))]
    finally:
        db.close()


def catalog_entry(gw: Gateway, model: str) -> dict:
    provider, name = model.split("/", 1)
    return dict(load_catalog(gw.catalog_dir).resolve(provider, name, "text_completions"))


def calls_in(body: dict) -> list[dict]:
    return [item for item in body["output"] if item["type"] == "function_call"]


def history_with(call_items: list[dict], results: list[str], question: str = "Paris") -> list[dict]:
    return [
        {"role": "user", "content": question},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": c["call_id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in call_items
            ],
        },
        *(
            {"role": "tool", "tool_call_id": c["call_id"], "content": r}
            for c, r in zip(call_items, results, strict=True)
        ),
    ]


# ---------------------------------------------------------------------------------------------- agent loop


@pytest.mark.parametrize("model", MODELS)
def test_agent_loop_unary_rest_and_exact_charge(agw: Gateway, api: httpx.Client, user, model: str) -> None:
    user_id, key = user
    r = post(api, key, model, [{"role": "user", "content": "Paris"}], additional_params={"tools": [WEATHER]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["finish_reason"] == "tool_calls" and body["data"] == "" and body["output"][0]["type"] == "message"
    (call,) = calls_in(body)
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}
    assert call["status"] == "completed" and call["call_id"] and call["id"].startswith("fc_")
    # the provider's usage x the price: 3 output tokens are the fake's argument pieces (not a tokenizer count)
    usage = body["usage"]
    assert usage["output_tokens"] == 3
    (row,) = rows(agw, user_id)
    expected = pricing.token_cost_nanos(
        catalog_entry(agw, model),
        usage["input_tokens"],
        usage["output_tokens"],
        usage["input_tokens_details"]["cached_tokens"],
    )
    assert row["cost_nanos"] == expected > 0 and row["status"] == "success"
    r = post(api, key, model, history_with([call], ["sunny 21C"]), additional_params={"tools": [WEATHER]})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["data"], answer["finish_reason"], calls_in(answer)) == ("Echo: sunny 21C", "stop", [])


@pytest.mark.parametrize("model", MODELS)
def test_agent_loop_streamed_rest(agw: Gateway, api: httpx.Client, user, model: str) -> None:
    user_id, key = user
    events = sse(
        api,
        key,
        model,
        [{"role": "user", "content": "Oslo [[calls:2]]"}],
        additional_params={"tools": [WEATHER, CLOCK]},
    )
    kinds = [e["type"] for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.done"
    added = [e for e in events if e["type"] == "response.output_item.added" and e["item"]["type"] == "function_call"]
    assert [e["item"]["name"] for e in added] == ["get_weather", "get_time"]
    assert all(e["item"]["arguments"] == "" for e in added)
    for e in added:
        index = e["output_index"]
        deltas = [
            d["delta"]
            for d in events
            if d["type"] == "response.function_call_arguments.delta" and d["output_index"] == index
        ]
        (done,) = [
            d for d in events if d["type"] == "response.function_call_arguments.done" and d["output_index"] == index
        ]
        assert "".join(deltas) == done["arguments"] and json.loads(done["arguments"])
        assert all(d["item_id"] == e["item"]["id"] for d in events if d.get("output_index") == index and "item_id" in d)
        if not model.startswith("google/"):
            assert len(deltas) > 1  # streamed in pieces; Gemini sends a call whole
        assert kinds.index("response.output_item.added", kinds.index("response.created")) < kinds.index("response.done")
    final = events[-1]["response"]
    assert final["finish_reason"] == "tool_calls" and [c["name"] for c in calls_in(final)] == [
        "get_weather",
        "get_time",
    ]
    out = final["usage"]["output_tokens"]
    if model.startswith("mistral/"):  # this fake reports stream usage only when asked (real Mistral always does):
        # then the gateway counts the calls' names and arguments itself
        text = "".join(c["name"] + c["arguments"] for c in calls_in(final))
        assert out == tokens.count_text(text)
    else:
        assert out == 6  # the provider's usage: the fake's 3 argument pieces per call
    (row,) = rows(agw, user_id)
    assert row["cost_nanos"] == pricing.token_cost_nanos(
        catalog_entry(agw, model),
        final["usage"]["input_tokens"],
        out,
        final["usage"]["input_tokens_details"]["cached_tokens"],
    )
    events = sse(
        api,
        key,
        model,
        history_with(calls_in(final), ["rain", "9am"], "Oslo"),
        additional_params={"tools": [WEATHER, CLOCK]},
    )
    assert events[-1]["response"]["data"] == "Echo: rain 9am" and events[-1]["response"]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    "model",
    [
        "openai/gpt-4o-mini",
        "anthropic/claude-haiku-4-5-20251001",
        "google/gemini-3.5-flash",
        "mistral/mistral-small-latest",
    ],
)
def test_agent_loop_typed_grpc(agw: Gateway, user, model: str) -> None:
    _, key = user
    auth = (("authorization", f"Bearer {key}"),)
    params = struct_pb2.Struct()
    params.update({"city": {"type": "string"}})
    schema = struct_pb2.Struct()
    schema.update(WEATHER["function"]["parameters"])
    tool = chat_pb2.Tool(type="function", function=chat_pb2.FunctionDefinition(name="get_weather", parameters=schema))
    ask = chat_pb2.ChatRequest(
        model=model,
        messages=[chat_pb2.ChatMessage(role="user", content=struct_pb2.Value(string_value="Lima"))],
        tools=[tool],
    )
    with grpc.insecure_channel(agw.grpc_target) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        reply = stub.Chat(ask, metadata=auth)
        assert reply.finish_reason == "tool_calls"
        (item,) = [o for o in reply.output if o.type == "function_call"]
        assert item.name == "get_weather" and json.loads(item.arguments) == {"city": "Lima"} and item.call_id
        events = list(stub.StreamChat(ask, metadata=auth))
        added = [e for e in events if e.type == "response.output_item.added" and e.item.type == "function_call"]
        deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
        (done,) = [e for e in events if e.type == "response.function_call_arguments.done"]
        assert (
            added[0].item.name == "get_weather" and deltas == done.arguments == events[-1].response.output[1].arguments
        )
        answer = stub.Chat(
            chat_pb2.ChatRequest(
                model=model,
                tools=[tool],
                messages=[
                    chat_pb2.ChatMessage(role="user", content=struct_pb2.Value(string_value="Lima")),
                    chat_pb2.ChatMessage(
                        role="assistant",
                        tool_calls=[
                            chat_pb2.MessageToolCall(
                                id=item.call_id,
                                type="function",
                                function=chat_pb2.FunctionCall(name=item.name, arguments=item.arguments),
                            )
                        ],
                    ),
                    chat_pb2.ChatMessage(
                        role="tool", tool_call_id=item.call_id, content=struct_pb2.Value(string_value="warm")
                    ),
                ],
            ),
            metadata=auth,
        )
        assert answer.data == "Echo: warm" and answer.finish_reason == "stop"
        # typed content parts: an image part
        image = chat_pb2.ChatRequest(
            model=model,
            messages=[
                chat_pb2.ChatMessage(
                    role="user",
                    parts=[
                        chat_pb2.InputContentPart(type="text", text="see"),
                        chat_pb2.InputContentPart(type="image_url", image_url=chat_pb2.ImageUrl(url=PNG_URL)),
                    ],
                )
            ],
        )
        assert stub.Chat(image, metadata=auth).data == "Echo: see [images:1]"


# ---------------------------------------------------------------------------------------------- media, JSON


@pytest.mark.parametrize("model", VISION)
def test_images_by_data_url_and_by_url(agw: Gateway, api: httpx.Client, user, model: str) -> None:
    _, key = user
    content = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": f"{agw.fake_base}/files/pixel.png"}},
    ]
    r = post(api, key, model, [{"role": "user", "content": content}])
    assert r.status_code == 200, r.text
    assert r.json()["data"] == "Echo: what is this [images:2]"


def test_pdf_by_url_is_fetched_for_gemini_and_refused_when_not_public(agw: Gateway, api: httpx.Client, user) -> None:
    _, key = user
    content = [
        {"type": "text", "text": "read"},
        {"type": "file", "file": {"file_data": f"{agw.fake_base}/files/doc.pdf"}},
    ]
    r = post(api, key, "google/gemini-3.5-flash", [{"role": "user", "content": content}])
    assert r.status_code == 200 and r.json()["data"] == "Echo: read [pdfs:1]"
    sent = fake_requests(agw)[-1]["body"]["contents"][0]["parts"][1]["inlineData"]
    assert sent["mimeType"] == "application/pdf" and base64.b64decode(sent["data"]).startswith(b"%PDF")
    bad = [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "https://169.254.169.254/latest"}}]
    before = len(fake_requests(agw))
    r = post(api, key, "google/gemini-3.5-flash", [{"role": "user", "content": bad}])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == [
        "body",
        "messages",
        0,
        "content",
        1,
        "image_url",
        "url",
    ]
    assert len(fake_requests(agw)) == before


@pytest.mark.parametrize("model", JSON_SCHEMA)
def test_json_schema_output_parses(agw: Gateway, api: httpx.Client, user, model: str) -> None:
    _, key = user
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "trip", "schema": schema, "strict": True}}
    r = post(api, key, model, [{"role": "user", "content": "Kyoto"}], additional_params={"response_format": fmt})
    assert r.status_code == 200, r.text
    assert json.loads(r.json()["data"]) == {"city": "Kyoto", "days": 1}
    events = sse(api, key, model, [{"role": "user", "content": "Kyoto"}], additional_params={"response_format": fmt})
    assert json.loads(events[-1]["response"]["data"]) == {"city": "Kyoto", "days": 1}


def test_json_object_output_on_deepseek(api: httpx.Client, user) -> None:
    _, key = user
    messages = [{"role": "user", "content": "answer in json"}]
    r = post(
        api, key, "deepseek/deepseek-flash", messages, additional_params={"response_format": {"type": "json_object"}}
    )
    assert r.status_code == 200 and isinstance(json.loads(r.json()["data"]), dict)


# ---------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("model", "fields", "loc"),
    [
        ("groq/tiny-text", {"additional_params": {"tools": [WEATHER]}}, ["body", "additional_params", "tools"]),
        (
            "groq/tiny-text",
            {
                "additional_params": {
                    "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {}}}
                }
            },
            ["body", "additional_params", "response_format"],
        ),
        (
            "groq/tiny-text",
            {"additional_params": {"reasoning_effort": "high"}},
            ["body", "additional_params", "reasoning_effort"],
        ),
        ("groq/tiny-text", {"image": True}, ["body", "messages"]),
        ("groq/openai/gpt-oss-20b", {"image": True}, ["body", "messages"]),
        (
            "deepseek/deepseek-flash",
            {
                "additional_params": {
                    "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {}}}
                }
            },
            ["body", "additional_params", "response_format"],
        ),
        (
            "openai/gpt-4o-mini",
            {"additional_params": {"reasoning_effort": "low"}},
            ["body", "additional_params", "reasoning_effort"],
        ),
        ("groq/tiny-text", {"pdf": True}, ["body", "messages"]),
        (
            "anthropic/claude-haiku-4-5-20251001",
            {"additional_params": {"seed": 3}},
            ["body", "additional_params", "seed"],
        ),
        (
            "anthropic/claude-haiku-4-5-20251001",
            {"additional_params": {"reasoning_effort": "low"}, "max_tokens": 500},
            ["body", "max_tokens"],
        ),
        (
            "google/gemini-3.5-flash",
            {"additional_params": {"tools": [WEATHER], "parallel_tool_calls": False}},
            ["body", "additional_params", "parallel_tool_calls"],
        ),
        ("openai/gpt-resp-test", {"additional_params": {"stop": ["x"]}}, ["body", "additional_params", "stop"]),
    ],
)
def test_unsupported_combination_is_a_422_before_any_call(
    agw: Gateway, api: httpx.Client, user, model, fields, loc
) -> None:
    user_id, key = user
    content: object = "hi"
    if fields.pop("image", False):
        content = [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": PNG_URL}}]
    if fields.pop("pdf", False):
        content = [{"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}}]
    before = len(fake_requests(agw))
    r = post(api, key, model, [{"role": "user", "content": content}], **fields)
    assert r.status_code == 422, r.text
    (problem,) = r.json()["detail"]
    provider, name = model.split("/", 1)
    assert problem["loc"] == loc and f"Provider '{provider}' model '{name}'" in problem["msg"]
    assert len(fake_requests(agw)) == before and rows(agw, user_id) == []


def test_malformed_tool_fields_are_422(api: httpx.Client, user) -> None:
    _, key = user
    bad = [
        ({"additional_params": {"tools": [{"type": "function", "function": {"name": "bad name!"}}]}}, "name"),
        (
            {
                "additional_params": {
                    "tools": [WEATHER],
                    "tool_choice": {"type": "function", "function": {"name": "other"}},
                }
            },
            "tool_choice",
        ),
        ({"additional_params": {"response_format": {"type": "xml"}}}, "type"),
        ({"additional_params": {"reasoning_effort": "extreme"}}, "reasoning_effort"),
    ]
    for fields, last in bad:
        r = post(api, key, "openai/gpt-4o-mini", [{"role": "user", "content": "x"}], **fields)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == last, r.text
    orphan = [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "y"}]
    r = post(api, key, "openai/gpt-4o-mini", orphan)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "messages", 1, "tool_call_id"]


@pytest.mark.parametrize(
    "model", ["openai/gpt-4o-mini", "google/gemini-3.5-flash", "anthropic/claude-haiku-4-5-20251001"]
)
def test_malformed_upstream_answer_is_a_502_and_free(agw: Gateway, api: httpx.Client, user, model: str) -> None:
    user_id, key = user
    r = post(api, key, model, [{"role": "user", "content": "x [[badshape]]"}])
    assert r.status_code == 502 and model.split("/")[0] in r.text
    (row,) = rows(agw, user_id)
    assert row["status"] == "error" and row["cost_nanos"] == 0


def test_requests_reach_each_provider_in_its_native_shape(agw: Gateway, api: httpx.Client, user) -> None:
    _, key = user
    for model in (
        "anthropic/claude-haiku-4-5-20251001",
        "google/gemini-3.5-flash",
        "openai/gpt-resp-test",
        "mistral/mistral-small-latest",
    ):
        params = {"tools": [WEATHER], "tool_choice": "required", "stop": ["END"], "seed": 1}
        if model.startswith(("anthropic", "openai")):
            params.pop("seed")
        if model.startswith("openai"):
            params.pop("stop")
        assert post(api, key, model, [{"role": "user", "content": "x"}], additional_params=params).status_code == 200
    sent = {q["provider"]: q for q in fake_requests(agw)[-4:]}
    assert sent["anthropic"]["body"]["tools"][0]["input_schema"] == WEATHER["function"]["parameters"]
    assert sent["anthropic"]["body"]["tool_choice"] == {"type": "any"}
    assert sent["anthropic"]["body"]["stop_sequences"] == ["END"]
    gemini = sent["google"]["body"]
    assert (
        gemini["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}} and gemini["generationConfig"]["seed"] == 1
    )
    assert (
        sent["openai"]["path"].endswith("/v1/responses") and sent["openai"]["body"]["tools"][0]["name"] == "get_weather"
    )
    assert sent["mistral"]["body"]["random_seed"] == 1 and sent["mistral"]["body"]["tool_choice"] == "required"


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5-20251001"])
def test_stop_stream_mid_call_bills_what_was_produced(agw: Gateway, api: httpx.Client, user, model: str) -> None:
    user_id, key = user
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "slowly [[slow:0.3]]"}],
        "stream": True,
        "additional_params": {"tools": [WEATHER]},
    }
    events = []
    with api.stream("POST", "/chat/completions", headers=bearer(key), json=body) as r:
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            events.append(event)
            if event["type"] == "response.function_call_arguments.delta":
                stopped = api.post(f"/chat/stop-stream/{events[0]['response']['id']}", headers=bearer(key))
                assert stopped.status_code == 200
    final = events[-1]["response"]
    assert final["status"] == "stopped"
    (call,) = calls_in(final)
    assert call["status"] == "incomplete" and call["name"] == "get_weather"
    done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert done and done[0]["arguments"] == call["arguments"]
    (row,) = rows(agw, user_id)
    assert row["status"] == "stopped" and row["cost_nanos"] > 0 and row["output_tokens"] > 0


def test_reasoning_effort_reaches_each_wire_format_natively(agw: Gateway, api: httpx.Client, user) -> None:
    _, key = user
    for model in (
        "anthropic/claude-haiku-4-5-20251001",
        "google/gemini-3.5-flash",
        "openai/gpt-resp-test",
        "deepseek/deepseek-flash",
    ):
        r = post(
            api, key, model, [{"role": "user", "content": "think"}], additional_params={"reasoning_effort": "medium"}
        )
        assert r.status_code == 200 and r.json()["data"] == "Echo: think", r.text
    sent = {q["provider"]: q["body"] for q in fake_requests(agw)[-4:]}
    assert sent["anthropic"]["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert sent["google"]["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "MEDIUM"}
    assert sent["openai"]["reasoning"] == {"effort": "medium"}
    assert sent["deepseek"]["reasoning_effort"] == "medium"


def test_reservation_covers_images_so_402_comes_before_the_provider(agw: Gateway, api: httpx.Client) -> None:
    _, key = agw.create_user("poor-agent@example.com", 0.001)
    text_only = post(api, key, "openai/gpt-4o-mini", [{"role": "user", "content": "hi"}], max_tokens=10)
    assert text_only.status_code == 200, text_only.text
    images = [{"type": "image_url", "image_url": {"url": PNG_URL}} for _ in range(10)]
    before = len(fake_requests(agw))
    r = post(
        api,
        key,
        "openai/gpt-4o-mini",
        [{"role": "user", "content": [{"type": "text", "text": "x"}, *images]}],
        max_tokens=10,
    )
    assert r.status_code == 402, r.text
    assert len(fake_requests(agw)) == before
