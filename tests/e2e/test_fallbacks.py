"""Fallbacks end to end (issue 11): the next model is tried when one fails before any output, with its own
provider translation; the answer, the charge and the usage records name the model that served."""

from __future__ import annotations

import json
import uuid

import httpx

from tests.e2e.conftest import bearer
from tests.harness import Gateway, fake_requests, start_gateway

PRIMARY = "openai/gpt-4o-mini"
FALLBACKS = ["anthropic/claude-sonnet-4-5", "google/gemini-3.5-flash"]


def _body(content: str, fallbacks=None, model: str = PRIMARY, **extra) -> dict:
    body = {"messages": [{"role": "user", "content": content}], "model": model, **extra}
    if fallbacks is not None:
        body["additional_params"] = {"fallbacks": fallbacks}
    return body


def _records(rest: httpx.Client, key: str) -> list[dict]:
    out = rest.get("/analytics/usage", headers=bearer(key), params={"limit": 100}).json()["records"]
    return sorted(out, key=lambda r: r.get("created_at") or "")


def _sent(gw: Gateway, marker: str) -> list[dict]:
    return [r for r in fake_requests(gw) if marker in json.dumps(r.get("body"))]


def test_a_failing_model_falls_back_and_the_one_that_served_is_charged(
    gateway: Gateway, rest: httpx.Client, make_user
) -> None:
    _, key = make_user()
    marker = f"fb-{uuid.uuid4().hex[:8]}"
    r = rest.post(
        "/chat/completions",
        headers=bearer(key),
        json=_body(f"{marker} [[status:503@gpt-4o-mini]]", FALLBACKS, max_tokens=50),
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["provider"] == "anthropic" and answer["model"].startswith("claude-sonnet-4-5")
    assert marker in answer["output"][0]["content"][0]["text"]
    sent = _sent(gateway, marker)
    assert {s["format"] for s in sent} == {"openai", "anthropic"}  # each in its own wire format
    assert all(s["format"] != "google" for s in sent)  # the second fallback was not needed
    anthropic = [s for s in sent if s["format"] == "anthropic"]
    assert len(anthropic) == 1 and "additional_params" not in anthropic[0]["body"]
    assert "fallbacks" not in json.dumps([s["body"] for s in sent])  # never passed to a provider

    records = rest.get("/analytics/usage", headers=bearer(key), params={"limit": 10}).json()["records"]
    by_status = {rec["status"]: rec for rec in records}
    assert len(records) == 2 and set(by_status) == {"error", "success"}
    assert by_status["error"]["provider"] == "openai" and by_status["error"]["cost"] == 0
    assert by_status["success"]["provider"] == "anthropic"
    assert abs(by_status["success"]["cost"] - answer["usage"]["cost"]) < 1e-12
    me = rest.get("/user/me", headers=bearer(key)).json()
    assert abs((10.0 - me["credits"]) - answer["usage"]["cost"]) < 1e-9  # charged once, at Anthropic's price
    ledger = rest.get("/user/transactions", headers=bearer(key)).json()
    assert ledger["total_count"] == 2  # the credit and the one usage charge


def test_a_request_the_provider_rejects_is_not_retried_elsewhere(
    gateway: Gateway, rest: httpx.Client, make_user
) -> None:
    _, key = make_user()
    marker = f"fb400-{uuid.uuid4().hex[:8]}"
    r = rest.post(
        "/chat/completions", headers=bearer(key), json=_body(f"{marker} [[status:400@gpt-4o-mini]]", FALLBACKS)
    )
    assert r.status_code == 400 and "openai" in r.json()["detail"]
    assert {s["format"] for s in _sent(gateway, marker)} == {"openai"}
    assert rest.get("/user/me", headers=bearer(key)).json()["credits"] == 10.0


def test_a_stream_falls_back_before_any_output(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    marker = f"fbs-{uuid.uuid4().hex[:8]}"
    body = _body(f"{marker} [[status:429@gpt-4o-mini]] [[status:502@claude-sonnet-4-5-20250929]]", FALLBACKS)
    body["stream"] = True
    events = []
    with rest.stream("POST", "/chat/completions", headers=bearer(key), json=body) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                events.append(json.loads(line[6:]))
    done = events[-1]
    assert done["type"] == "response.done"
    assert done["response"]["provider"] == "google" and done["response"]["model"] == "gemini-3.5-flash"
    assert events[0]["response"]["provider"] == "google"
    assert [s["format"] for s in _sent(gateway, marker)][-1] == "google"
    records = rest.get("/analytics/usage", headers=bearer(key), params={"limit": 10}).json()["records"]
    assert sorted((rec["provider"], rec["status"]) for rec in records) == [
        ("anthropic", "error"),
        ("google", "success"),
        ("openai", "error"),
    ]
    assert sum(rec["cost"] for rec in records) == done["response"]["usage"]["cost"] > 0


def test_the_openai_surface_takes_fallbacks_too(gateway: Gateway, make_user) -> None:
    _, key = make_user()
    marker = f"fbo-{uuid.uuid4().hex[:8]}"
    body = {
        "model": PRIMARY,
        "messages": [{"role": "user", "content": f"{marker} [[status:503@gpt-4o-mini]]"}],
        "fallbacks": FALLBACKS,
    }
    r = httpx.post(f"{gateway.base}/v1/chat/completions", headers=bearer(key), json=body, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["model"].startswith("anthropic/claude-sonnet-4-5")
    assert [s["format"] for s in _sent(gateway, marker)][-1] == "anthropic"
    bad = httpx.post(f"{gateway.base}/v1/chat/completions", headers=bearer(key), json={**body, "fallbacks": [1]})
    assert bad.status_code == 400 and "fallbacks" in bad.json()["error"]["param"]


def test_the_reservation_covers_the_dearest_candidate(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    # 1000 output tokens: at most $0.0006 on gpt-4o-mini, $0.015 on Claude Sonnet 4.5
    _, key = make_user(credits=0.005)
    marker = f"fb402-{uuid.uuid4().hex[:8]}"
    refused = rest.post("/chat/completions", headers=bearer(key), json=_body(marker, FALLBACKS, max_tokens=1000))
    assert refused.status_code == 402
    assert _sent(gateway, marker) == []
    alone = rest.post("/chat/completions", headers=bearer(key), json=_body(marker, max_tokens=1000))
    assert alone.status_code == 200


def test_bad_fallbacks_are_a_422(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    for bad in ("anthropic/claude-sonnet-4-5", [1], ["no-provider"], ["a/b"] * 6):
        r = rest.post("/chat/completions", headers=bearer(key), json=_body("x", bad))
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", "additional_params", "fallbacks"]
    byok = _body("x", ["anthropic/claude-sonnet-4-5"], byok_api_key="sk-own")
    assert rest.post("/chat/completions", headers=bearer(key), json=byok).status_code == 422


def _local_model(name: str, **fields) -> dict:
    return {
        "modelName": name,
        "name": name,
        "type": "text_completions",
        "contextWindow": 8192,
        "maxOutputTokens": 1024,
        "is_disabled": False,
        "inputPricePer1MTokens": 0.0,
        "outputPricePer1MTokens": 0.0,
        "supportsTools": False,
        "supportsVision": False,
        "supportsPdf": False,
        "supportsJsonSchema": False,
        "reasoningEfforts": [],
        "upstreamApi": "chat_completions",
        **fields,
    }


def test_catalog_default_fallbacks_and_disabled_models(tmp_path) -> None:
    local = {
        "id": "local",
        "name": "Local models",
        "text_completions": [
            _local_model("primary", fallbacks=["anthropic/claude-sonnet-4-5"]),
            _local_model("off", is_disabled=True),
        ],
    }
    (tmp_path / "local.json").write_text(json.dumps(local))
    gw = start_gateway(extra_env={"HUB_CATALOG_DIR": str(tmp_path)})
    try:
        _, key = gw.create_user("fallback-catalog@example.com", 1)
        with httpx.Client(base_url=gw.api, timeout=30) as rest:
            r = rest.post(
                "/chat/completions", headers=bearer(key), json=_body("[[status:500@primary]]", model="local/primary")
            )
            assert r.status_code == 200, r.text
            assert r.json()["provider"] == "anthropic"
            # a request's own list replaces the catalog's ([] turns fallbacks off)
            r = rest.post(
                "/chat/completions",
                headers=bearer(key),
                json=_body("[[status:500@primary]]", [], model="local/primary"),
            )
            assert r.status_code == 502
            # a disabled model is passed over (and recorded as a failed attempt)
            r = rest.post(
                "/chat/completions",
                headers=bearer(key),
                json=_body("hi", ["google/gemini-3.5-flash"], model="local/off"),
            )
            assert r.status_code == 200 and r.json()["provider"] == "google"
            assert (
                rest.post("/chat/completions", headers=bearer(key), json=_body("hi", model="local/off")).status_code
                == 404
            )
            records = rest.get("/analytics/usage", headers=bearer(key), params={"limit": 20}).json()["records"]
            assert sorted((rec["provider"], rec["model"], rec["status"]) for rec in records) == [
                ("anthropic", "claude-sonnet-4-5-20250929", "success"),
                ("google", "gemini-3.5-flash", "success"),
                ("local", "off", "error"),
                ("local", "primary", "error"),
                ("local", "primary", "error"),
            ]
    finally:
        gw.close()
