"""Chat, completions and embeddings end to end: Envoy -> server -> fake providers, with exact billing."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import httpx
import pytest

from tests.e2e.conftest import bearer
from tests.harness import Gateway, fake_requests


def balance(rest: httpx.Client, key: str) -> float:
    return rest.get("/user/me", headers=bearer(key)).json()["credits"]


def usage_rows(gateway: Gateway, user_id: int) -> list[dict]:
    db = sqlite3.connect(gateway.workdir / "hub.db")
    db.row_factory = sqlite3.Row
    try:
        rows = db.execute("SELECT * FROM usage_records WHERE user_id = ? ORDER BY id", (user_id,)).fetchall()
        return [dict(r) for r in rows]
    finally:
        db.close()


def ledger_sum(gateway: Gateway, user_id: int) -> int:
    db = sqlite3.connect(gateway.workdir / "hub.db")
    try:
        return db.execute(
            "SELECT coalesce(sum(amount_nanos), 0) FROM transactions WHERE user_id = ?", (user_id,)
        ).fetchone()[0]
    finally:
        db.close()


def balance_nanos(gateway: Gateway, user_id: int) -> int:
    db = sqlite3.connect(gateway.workdir / "hub.db")
    try:
        return db.execute("SELECT balance_nanos FROM users WHERE id = ?", (user_id,)).fetchone()[0]
    finally:
        db.close()


def sse_events(response: httpx.Response) -> list:
    events = []
    for line in response.iter_lines():
        if line.startswith("data: "):
            data = line[6:]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def chat(rest: httpx.Client, key: str, content: str, **fields) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": content}], "model": "openai/gpt-4o-mini", **fields}
    return rest.post("/chat/completions", headers=bearer(key), json=body)


@pytest.mark.parametrize(
    "model",
    [
        "openai/gpt-4o-mini",
        "anthropic/claude-haiku-4-5-20251001",
        "google/gemini-3.5-flash",
        "mistral/mistral-small-latest",
        "deepseek/deepseek-flash",
        "xai/grok-4.3",
        "groq/openai/gpt-oss-20b",
    ],
)
def test_chat_unary_every_provider(gateway: Gateway, rest: httpx.Client, make_user, model: str) -> None:
    user_id, key = make_user(credits=5)
    r = chat(rest, key, "Hello there", model=model, max_tokens=50)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "response" and body["status"] == "completed" and body["success"] is True
    assert body["provider"] == model.split("/")[0] and body["model"] == model.split("/", 1)[1]
    text = body["output"][0]["content"][0]["text"]
    assert "Hello there" in text
    assert body["output"][0]["type"] == "message" and body["output"][0]["role"] == "assistant"
    assert body["output"][0]["content"][0]["annotations"] == []
    usage = body["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["cost"] > 0
    assert isinstance(body["created_at"], int) and body["duration_ms"] > 0
    rows = usage_rows(gateway, user_id)
    assert len(rows) == 1 and rows[0]["status"] == "success" and rows[0]["request_id"] == body["id"]
    assert rows[0]["cost_nanos"] == -ledger_sum(gateway, user_id) + 5_000_000_000
    assert balance_nanos(gateway, user_id) == 5_000_000_000 - rows[0]["cost_nanos"]
    assert abs(balance(rest, key) - (5 - usage["cost"])) < 1e-9


def test_chat_stream_events_in_order(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    body = {
        "messages": [{"role": "user", "content": "one two three four"}],
        "model": "openai/gpt-4o-mini",
        "stream": True,
    }
    with rest.stream("POST", "/chat/completions", headers=bearer(key), json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
    assert events[-1] == "[DONE]"
    types = [e["type"] for e in events[:-1]]
    assert types[:3] == ["response.created", "response.output_item.added", "response.content_part.added"]
    assert types[-2:] == ["response.output_item.done", "response.done"]
    deltas = [e["delta"] for e in events if isinstance(e, dict) and e["type"] == "response.content_part.delta"]
    assert len(deltas) > 1
    full = events[-3]["item"]["content"][0]["text"]
    assert "".join(deltas) == full and "one two three four" in full
    done = events[-2]["response"]
    assert done["status"] == "completed" and done["id"] == events[0]["response"]["id"]
    assert done["usage"]["total_tokens"] > 0 and done["usage"]["cost"] > 0
    [row] = usage_rows(gateway, user_id)
    assert row["request_id"] == done["id"] and row["ttft_ms"] is not None
    assert row["output_tokens"] == done["usage"]["output_tokens"]


def test_stream_reasoning_events(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    for model in ("deepseek/deepseek-v4-pro", "anthropic/claude-sonnet-4-6", "google/gemini-3.5-flash"):
        body = {"messages": [{"role": "user", "content": "think [[reason]]"}], "model": model, "stream": True}
        with rest.stream("POST", "/chat/completions", headers=bearer(key), json=body) as r:
            events = [e for e in sse_events(r) if e != "[DONE]"]
        types = [e["type"] for e in events]
        assert "response.reasoning.started" in types and "response.reasoning.delta" in types, (model, types)
        assert types.index("response.reasoning.started") < types.index("response.content_part.delta")


def test_stream_without_provider_usage_is_counted(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    body = {
        "messages": [{"role": "user", "content": "count me [[nousage]]"}],
        "model": "openai/gpt-4o-mini",
        "stream": True,
    }
    with rest.stream("POST", "/chat/completions", headers=bearer(key), json=body) as r:
        events = sse_events(r)
    usage = events[-2]["response"]["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0 and usage["cost"] > 0
    sent = [
        q
        for q in fake_requests(gateway)
        if q["path"].endswith("/chat/completions") and "count me" in json.dumps(q["body"])
    ]
    assert sent and sent[-1]["body"]["stream_options"] == {"include_usage": True}
    assert usage_rows(gateway, user_id)[0]["cost_nanos"] > 0


def test_upstream_failure_mid_stream_is_an_error_event(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    body = {
        "messages": [{"role": "user", "content": "cut [[cut]] [[long:20]]"}],
        "model": "openai/gpt-4o-mini",
        "stream": True,
    }
    with rest.stream("POST", "/chat/completions", headers=bearer(key), json=body) as r:
        assert r.status_code == 200
        events = sse_events(r)
    assert events[-1] == "[DONE]"
    errors = [e for e in events if isinstance(e, dict) and "error" in e]
    assert errors and errors[0]["error"]["provider"] == "openai"
    # the provider broke off: the tokens it delivered are recorded, but a failure costs nothing
    [row] = usage_rows(gateway, user_id)
    assert row["status"] == "error" and row["output_tokens"] > 0 and row["cost_nanos"] == 0
    assert balance(rest, key) == 10


def test_upstream_errors_map_to_clear_statuses(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user(credits=2)
    for marker, status in (
        ("[[status:429]]", 429),
        ("[[status:500]]", 502),
        ("[[status:401]]", 502),
        ("[[status:503]]", 503),
    ):
        r = chat(rest, key, f"fail {marker}")
        assert r.status_code == status, (marker, r.text)
        assert "openai" in r.json()["detail"]
    r = chat(rest, key, "slow [[hang]]")
    assert r.status_code in (504,), r.text
    assert balance(rest, key) == 2
    rows = usage_rows(gateway, user_id)
    assert rows and all(row["status"] == "error" and row["cost_nanos"] == 0 for row in rows)
    assert ledger_sum(gateway, user_id) == 2_000_000_000


def test_retry_before_output_then_success(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    r = chat(rest, key, "retry me please [[flaky:1]]")
    assert r.status_code == 200, r.text


def test_validation_422s(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    r = rest.post("/chat/completions", headers=bearer(key), json={"messages": []})
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {"loc": ["body", "messages"], "msg": "List of messages cannot be empty", "type": "value_error"}
    ]
    r = rest.post("/chat/completions", headers=bearer(key), json={"messages": [{"role": "wizard", "content": "x"}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "messages", 0, "role"]
    r = chat(rest, key, "x", temperature=2.5, top_p=1.5, max_tokens=0)
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["detail"]} == {
        ("body", "temperature"),
        ("body", "top_p"),
        ("body", "max_tokens"),
    }
    r = rest.post("/completions", headers=bearer(key), json={"model": "openai/gpt-4o-mini"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "prompt"]
    r = rest.post("/chat/completions", headers=bearer(key), json={"messages": "hi"})
    assert r.status_code == 422


def test_unknown_provider_and_model_are_404(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    r = chat(rest, key, "x", model="nosuch/model-1")
    assert r.status_code == 404 and "nosuch" in r.json()["detail"] and "rovider" in r.json()["detail"]
    r = chat(rest, key, "x", model="openai/gpt-99-imaginary")
    assert r.status_code == 404 and "gpt-99-imaginary" in r.json()["detail"] and "odel" in r.json()["detail"]


def test_insufficient_credits_is_402_and_provider_not_called(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user(credits=0.000001)
    r = chat(rest, key, "unique-402-marker please", max_tokens=1000)
    assert r.status_code == 402
    assert "Insufficient credits" in r.json()["detail"]
    assert not [q for q in fake_requests(gateway) if "unique-402-marker" in json.dumps(q["body"])]
    assert usage_rows(gateway, user_id) == []
    assert balance_nanos(gateway, user_id) == 1000


def test_byok_uses_callers_key_and_costs_nothing(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user(credits=1)
    r = chat(rest, key, "byok-marker hi", byok_api_key="sk-user-own-key")
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["cost"] == 0
    sent = [q for q in fake_requests(gateway) if "byok-marker" in json.dumps(q["body"])]
    assert sent[-1]["headers"]["authorization"] == "Bearer sk-user-own-key"
    [row] = usage_rows(gateway, user_id)
    assert row["byok"] == 1 and row["cost_nanos"] == 0 and row["output_tokens"] > 0
    assert balance(rest, key) == 1
    db = sqlite3.connect(gateway.workdir / "hub.db")
    try:
        assert "sk-user-own-key" not in "\n".join(db.iterdump())
    finally:
        db.close()
    for log in ("server.log", "envoy.log"):
        assert "sk-user-own-key" not in (gateway.workdir / log).read_text(errors="replace")


def test_completions_unary_and_stream(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    r = rest.post("/completions", headers=bearer(key), json={"prompt": "Complete this", "model": "openai/gpt-4o-mini"})
    assert r.status_code == 200, r.text
    assert "Complete this" in r.json()["output"][0]["content"][0]["text"]
    body = {"prompt": "Stream this", "model": "anthropic/claude-haiku-4-5-20251001", "stream": True}
    with rest.stream("POST", "/completions", headers=bearer(key), json=body) as r:
        events = sse_events(r)
    assert events[-1] == "[DONE]" and events[-2]["type"] == "response.done"


def _stream_in_thread(gateway: Gateway, key: str, content: str, path: str, out: dict) -> threading.Thread:
    def run() -> None:
        body = {
            "messages": [{"role": "user", "content": content}],
            "prompt": content,
            "model": "openai/gpt-4o-mini",
            "stream": True,
        }
        if path == "/completions":
            body.pop("messages")
        else:
            body.pop("prompt")
        with (
            httpx.Client(base_url=gateway.api, timeout=30) as client,
            client.stream("POST", path, headers=bearer(key), json=body) as r,
        ):
            out["events"] = []
            for line in r.iter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    event = data if data == "[DONE]" else json.loads(data)
                    out["events"].append(event)
                    if isinstance(event, dict) and event.get("type") == "response.created":
                        out["id"] = event["response"]["id"]

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize("path", ["/chat/completions", "/completions"])
def test_stop_stream_bills_partial_usage(gateway: Gateway, rest: httpx.Client, make_user, path: str) -> None:
    user_id, key = make_user()
    _, other = make_user()
    out: dict = {}
    thread = _stream_in_thread(gateway, key, "stop me [[slow:0.2]] [[long:100]]", path, out)
    deadline = time.time() + 10
    while "id" not in out and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.7)
    stop_path = path.replace("completions", "", 1) if path == "/completions" else "/chat/"
    stop_url = f"/completions/stop-stream/{out['id']}" if path == "/completions" else f"/chat/stop-stream/{out['id']}"
    del stop_path
    assert rest.post(stop_url, headers=bearer(other)).status_code == 404
    r = rest.post(stop_url, headers=bearer(key))
    assert r.status_code == 200 and r.json()["success"] is True
    thread.join(10)
    events = out["events"]
    assert events[-1] == "[DONE]"
    done = events[-2]
    assert done["type"] == "response.done" and done["response"]["status"] == "stopped"
    deltas = [e for e in events if isinstance(e, dict) and e["type"] == "response.content_part.delta"]
    assert 0 < len(deltas) < 100
    [row] = usage_rows(gateway, user_id)
    assert row["status"] == "stopped" and row["output_tokens"] > 0 and row["cost_nanos"] > 0
    assert done["response"]["usage"]["output_tokens"] == row["output_tokens"]
    time.sleep(0.3)
    stats = httpx.get(f"{gateway.fake_base}/__stats").json()
    assert stats["streams_aborted"] >= 1
    assert rest.post(stop_url, headers=bearer(key)).status_code == 404


def test_client_disconnect_cancels_upstream_and_bills_once(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    before = httpx.get(f"{gateway.fake_base}/__stats").json()["streams_aborted"]
    body = {
        "messages": [{"role": "user", "content": "leave [[slow:0.2]] [[long:100]]"}],
        "model": "openai/gpt-4o-mini",
        "stream": True,
    }
    with (
        httpx.Client(base_url=gateway.api, timeout=30) as client,
        client.stream("POST", "/chat/completions", headers=bearer(key), json=body) as r,
    ):
        seen = 0
        for line in r.iter_lines():
            if "response.content_part.delta" in line:
                seen += 1
                if seen == 3:
                    break
    deadline = time.time() + 10
    rows = []
    while time.time() < deadline:
        rows = usage_rows(gateway, user_id)
        if rows:
            break
        time.sleep(0.05)
    assert len(rows) == 1 and rows[0]["status"] == "stopped" and rows[0]["cost_nanos"] > 0
    time.sleep(0.5)
    assert len(usage_rows(gateway, user_id)) == 1
    assert httpx.get(f"{gateway.fake_base}/__stats").json()["streams_aborted"] > before
    assert balance_nanos(gateway, user_id) == 10_000_000_000 - rows[0]["cost_nanos"]


def test_concurrent_requests_never_overspend(gateway: Gateway, make_user) -> None:
    """A balance that covers only some of 40 simultaneous requests: none overdraws, the ledger adds up."""
    user_id, key = make_user(credits=0.0004)
    results: list[int] = []

    def one(i: int) -> None:
        with httpx.Client(base_url=gateway.api, timeout=30) as client:
            r = client.post(
                "/chat/completions",
                headers=bearer(key),
                json={
                    "messages": [{"role": "user", "content": f"concurrent {i}"}],
                    "model": "openai/gpt-4o-mini",
                    "max_tokens": 500,
                },
            )
            results.append(r.status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) <= {200, 402} and results.count(200) >= 1 and results.count(402) >= 1
    final = balance_nanos(gateway, user_id)
    assert final >= 0
    rows = usage_rows(gateway, user_id)
    assert len(rows) == results.count(200)
    assert final == 400_000 - sum(r["cost_nanos"] for r in rows)
    assert ledger_sum(gateway, user_id) == final


def test_stream_failing_before_output_is_a_plain_http_error(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user(credits=1)
    body = {
        "messages": [{"role": "user", "content": "busy [[status:429]]"}],
        "model": "openai/gpt-4o-mini",
        "stream": True,
    }
    with rest.stream("POST", "/chat/completions", headers=bearer(key), json=body) as r:
        r.read()
    assert r.status_code == 429
    assert "openai" in r.json()["detail"]
    [row] = usage_rows(gateway, user_id)
    assert row["status"] == "error" and row["cost_nanos"] == 0
    assert balance(rest, key) == 1
