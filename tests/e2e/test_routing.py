"""Session ids, provider/model naming, and an operator's local model added through HUB_CATALOG_DIR."""

from __future__ import annotations

import json

import httpx

from tests.e2e.conftest import bearer
from tests.e2e.test_chat import usage_rows
from tests.harness import Gateway, fake_requests, start_gateway


def test_session_id_from_header_or_additional_params(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    body = {"messages": [{"role": "user", "content": "session-a"}], "model": "openai/gpt-4o-mini"}
    assert (
        rest.post("/chat/completions", headers={**bearer(key), "X-Session-Id": "conv-1"}, json=body).status_code == 200
    )
    body = {
        "messages": [{"role": "user", "content": "session-b marker"}],
        "provider": "openai",
        "model": "gpt-4o-mini",
        "additional_params": {"session_id": "conv-2", "seed": 7},
    }
    assert rest.post("/chat/completions", headers=bearer(key), json=body).status_code == 200
    assert [r["session_id"] for r in usage_rows(gateway, user_id)] == ["conv-1", "conv-2"]
    sent = [q for q in fake_requests(gateway) if "session-b marker" in json.dumps(q["body"])][-1]["body"]
    assert "session_id" not in sent and sent["seed"] == 7 and sent["model"] == "gpt-4o-mini"


def test_model_without_provider_prefix_defaults_to_openai(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    r = rest.post("/chat/completions", headers=bearer(key), json={"messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200 and r.json()["provider"] == "openai" and r.json()["model"] == "gpt-4o-mini"


def test_operator_adds_a_local_model_through_the_catalog_dir(tmp_path) -> None:
    local = {
        "id": "local",
        "name": "Local models",
        "text_completions": [
            {
                "modelName": "llama3.2:3b",
                "name": "Llama 3.2 3B (Ollama)",
                "type": "text_completions",
                "description": "served by the operator's Ollama",
                "contextWindow": 131072,
                "maxOutputTokens": 2048,
                "is_disabled": False,
                "inputPricePer1MTokens": 0.0,
                "outputPricePer1MTokens": 0.0,
            }
        ],
    }
    (tmp_path / "local.json").write_text(json.dumps(local))
    gw = start_gateway(extra_env={"HUB_CATALOG_DIR": str(tmp_path)})
    try:
        _, key = gw.create_user("local@example.com", 1)
        listed = httpx.get(f"{gw.api}/models/local/text_completions", headers=bearer(key)).json()
        assert [m["modelName"] for m in listed] == ["llama3.2:3b"]
        body = {"messages": [{"role": "user", "content": "local hello"}], "model": "local/llama3.2:3b"}
        r = httpx.post(f"{gw.api}/chat/completions", headers=bearer(key), json=body)
        assert r.status_code == 200, r.text
        assert "local hello" in r.json()["output"][0]["content"][0]["text"] and r.json()["usage"]["cost"] == 0
        sent = [q for q in fake_requests(gw) if "local hello" in json.dumps(q["body"])][-1]
        assert sent["body"]["model"] == "llama3.2:3b" and sent["headers"]["authorization"] == "Bearer sk-test-local"
    finally:
        gw.close()
