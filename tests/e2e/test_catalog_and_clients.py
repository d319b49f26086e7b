"""Models endpoints, embeddings, the official client's inference calls and typed gRPC clients."""

from __future__ import annotations

import json

import grpc
import httpx
from google.protobuf import struct_pb2
from indoxhub.v1 import chat_pb2, chat_pb2_grpc, completions_pb2, completions_pb2_grpc, responses_pb2

from server.providers import registry
from tests.e2e.conftest import bearer
from tests.e2e.test_auth_and_cli import run_official_client
from tests.harness import Gateway

CATEGORIES = (
    "text_completions",
    "embeddings",
    "image_generation",
    "text_to_speech",
    "speech_to_text",
    "video_generation",
)


def test_providers_and_categories(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    providers = rest.get("/models", headers=bearer(key)).json()
    ids = {p["id"] for p in providers}
    assert {pid for pid, spec in registry.PROVIDERS.items() if spec.default_base_url} <= ids
    assert rest.get("/models/", headers=bearer(key)).json() == providers
    openai = rest.get("/models/openai", headers=bearer(key)).json()
    assert openai["id"] == "openai" and all(c in openai for c in CATEGORIES)
    for category in CATEGORIES:
        listed = rest.get(f"/models/openai/{category}", headers=bearer(key)).json()
        assert listed == openai[category]
    mini = rest.get("/models/openai/gpt-4o-mini", headers=bearer(key)).json()
    assert mini["modelName"] == "gpt-4o-mini" and mini["inputPricePer1MTokens"] == 0.15
    slashed = rest.get("/models/groq/openai/gpt-oss-20b", headers=bearer(key))
    assert slashed.status_code == 200 and slashed.json()["modelName"] == "openai/gpt-oss-20b"
    assert rest.get("/models", headers={}).status_code == 401


def test_catalog_404s_name_what_is_missing(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    r = rest.get("/models/nosuch", headers=bearer(key))
    assert r.status_code == 404 and r.json()["detail"] == "Provider 'nosuch' not found"
    r = rest.get("/models/nosuch/text_completions", headers=bearer(key))
    assert r.status_code == 404 and "nosuch" in r.json()["detail"]
    r = rest.get("/models/openai/not-a-model", headers=bearer(key))
    assert r.status_code == 404 and r.json()["detail"] == "Model 'openai/not-a-model' not found"


def test_disabled_model_is_not_available(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    r = rest.post(
        "/chat/completions",
        headers=bearer(key),
        json={"messages": [{"role": "user", "content": "hi"}], "model": "openai/o3-mini"},
    )
    assert r.status_code == 404 and "not available" in r.json()["detail"]


def test_trending_needs_no_auth_and_counts_real_usage(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    for _ in range(3):
        rest.post(
            "/chat/completions",
            headers=bearer(key),
            json={"messages": [{"role": "user", "content": "trend"}], "model": "mistral/codestral-latest"},
        )
    body = rest.get("/models/trending", params={"days": 1, "limit": 50}).json()
    assert body["days"] == 1
    entry = next(m for m in body["models"] if m["model"] == "codestral-latest")
    assert entry["provider"] == "mistral" and entry["requests"] >= 3 and entry["users"] >= 1
    assert [m["rank"] for m in body["models"]] == list(range(1, len(body["models"]) + 1))
    assert set(entry) == {"rank", "provider", "model", "requests", "tokens", "users", "share"}
    assert rest.get("/models/trending", params={"days": 0}).status_code == 422


def test_embeddings_string_and_list(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    _, key = make_user(credits=1)
    one = rest.post(
        "/embeddings", headers=bearer(key), json={"text": "hello", "model": "openai/text-embedding-3-small"}
    )
    assert one.status_code == 200, one.text
    body = one.json()
    assert len(body["data"]) == 1 and body["dimensions"] == len(body["data"][0]) > 0
    assert all(isinstance(x, float) for x in body["data"][0])
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["cost"] > 0
    many = rest.post(
        "/embeddings", headers=bearer(key), json={"text": ["a", "b", "c"], "model": "google/gemini-embedding-001"}
    ).json()
    assert len(many["data"]) == 3 and many["provider"] == "google"
    assert many["data"][0] != many["data"][1]
    bad = rest.post("/embeddings", headers=bearer(key), json={"text": []})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "text"]
    assert (
        rest.post("/embeddings", headers=bearer(key), json={"model": "openai/text-embedding-3-small"}).status_code
        == 422
    )
    me = rest.get("/user/me", headers=bearer(key)).json()
    assert abs(me["credits"] - (1 - body["usage"]["cost"] - many["usage"]["cost"])) < 1e-9


OFFICIAL_INFERENCE = """
import json, sys
from indoxhub import Client
client = Client(api_key=sys.argv[1], base_url=sys.argv[2])
out = {}
r = client.chat(messages=[{"role": "user", "content": "official hello"}], model="openai/gpt-4o-mini")
out["chat"] = r["output"][0]["content"][0]["text"]
out["tokens"] = r["usage"]["total_tokens"]
deltas = []
stream = client.chat(
    messages=[{"role": "user", "content": "official stream"}], model="anthropic/claude-haiku-4-5-20251001", stream=True
)
for chunk in stream:
    if isinstance(chunk, dict) and chunk.get("type") == "response.content_part.delta":
        deltas.append(chunk["delta"])
out["stream"] = "".join(deltas)
c = client.completion(prompt="official completion", model="google/gemini-3.5-flash")
out["completion"] = c["output"][0]["content"][0]["text"]
e = client.embeddings(text="official embed", model="openai/text-embedding-3-small")
out["dims"] = e["dimensions"]
out["providers"] = sorted(p["id"] for p in client.models())
out["openai_models"] = len(client.models("openai")["text_completions"])
out["info"] = client.get_model_info("openai", "gpt-4o-mini")["modelName"]
try:
    client.chat(messages=[{"role": "user", "content": "x"}], model="openai/no-such-model")
except Exception as exc:
    out["missing_model_error"] = type(exc).__name__
print(json.dumps(out))
"""


def test_official_client_inference(gateway: Gateway, make_user) -> None:
    _, key = make_user()
    done = run_official_client(gateway, OFFICIAL_INFERENCE, key)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "official hello" in out["chat"] and out["tokens"] > 0
    assert "official stream" in out["stream"]
    assert "official completion" in out["completion"]
    assert out["dims"] > 0
    assert "openai" in out["providers"] and out["openai_models"] > 0
    assert out["info"] == "gpt-4o-mini"
    assert out["missing_model_error"] == "ModelNotFoundError"


def test_typed_grpc_chat_unary_and_stream(gateway: Gateway, make_user) -> None:
    _, key = make_user()
    auth = (("authorization", f"Bearer {key}"),)
    request = chat_pb2.ChatRequest(
        messages=[chat_pb2.ChatMessage(role="user", content=struct_pb2.Value(string_value="grpc typed"))],
        model="openai/gpt-4o-mini",
        max_tokens=64,
    )
    with grpc.insecure_channel(gateway.grpc_target) as channel:
        chat = chat_pb2_grpc.ChatServiceStub(channel)
        reply = chat.Chat(request, metadata=auth)
        assert isinstance(reply, responses_pb2.ChatResponse)
        assert "grpc typed" in reply.output[0].content[0].text and reply.usage.total_tokens > 0
        events = list(chat.StreamChat(request, metadata=auth))
        types = [e.type for e in events]
        assert types[0] == "response.created" and types[-1] == "response.done"
        assert (
            "".join(e.delta for e in events if e.type == "response.content_part.delta")
            == events[-2].item.content[0].text
        )
        assert events[-1].response.usage.cost > 0
        completions = completions_pb2_grpc.CompletionsServiceStub(channel)
        streamed = list(
            completions.StreamComplete(completions_pb2.CompletionRequest(prompt="typed prompt"), metadata=auth)
        )
        assert streamed[-1].response.status == "completed"
        whole = completions.Complete(completions_pb2.CompletionRequest(prompt="typed whole"), metadata=auth)
        assert isinstance(whole, completions_pb2.CompletionResponse) and "typed whole" in whole.data
        try:
            chat.Chat(chat_pb2.ChatRequest(), metadata=auth)
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
            trailers = dict(err.trailing_metadata())
            assert trailers["x-hub-http-status"] == "422"
            assert json.loads(trailers["x-hub-detail"])[0]["msg"] == "List of messages cannot be empty"
        else:
            raise AssertionError("expected INVALID_ARGUMENT")
