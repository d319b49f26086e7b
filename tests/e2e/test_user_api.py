"""The User section end to end: REST through Envoy to the gRPC server and a real SQLite file."""

from __future__ import annotations

import sqlite3

import httpx

from tests.e2e.conftest import bearer
from tests.harness import Gateway


def test_health_needs_no_auth(rest: httpx.Client) -> None:
    r = rest.get("/user/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert "grpc-status" not in r.headers


def test_me_requires_a_key(rest: httpx.Client) -> None:
    r = rest.get("/user/me")
    assert r.status_code == 401
    assert r.json() == {"detail": "Not authenticated"}
    r = rest.get("/user/me", headers=bearer("ihk_" + "x" * 43))
    assert r.status_code == 401
    assert r.json()["detail"] == "Invalid API key"
    r = rest.get("/user/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_me_returns_the_documented_user(rest: httpx.Client, make_user) -> None:
    user_id, key = make_user(credits=12.5)
    r = rest.get("/user/me", headers=bearer(key))
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == user_id
    assert body["credits"] == 12.5
    assert body["app_credit"] == 1250
    assert body["is_active"] is True
    assert body["account_tier"] == "free"
    assert body["email"].endswith("@example.com")
    assert body["username"] == body["email"].split("@")[0]
    assert body["created_at"].endswith("+00:00")


def test_key_lifecycle_create_list_revoke_enable_delete(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    created = rest.post("/user/api-keys", headers=bearer(key), json={"name": "ci", "expiration_time": 30})
    assert created.status_code == 200, created.text
    new = created.json()
    assert new["api_key"].startswith("ihk_") and len(new["api_key"]) >= 4 + 32
    assert new["name"] == "ci" and new["is_active"] is True
    assert "expires_at" in new and "last_used_at" not in new

    listing = rest.get("/user/api-keys", headers=bearer(key)).json()["keys"]
    assert {k["id"] for k in listing} >= {new["id"]}
    for listed in listing:
        assert "****" in listed["api_key"]
        assert listed["api_key"] != new["api_key"]
    masked = next(k for k in listing if k["id"] == new["id"])["api_key"]
    assert masked.endswith(new["api_key"][-4:])

    assert rest.get("/user/me", headers=bearer(new["api_key"])).status_code == 200
    assert rest.post(f"/user/api-keys/{new['id']}/revoke", headers=bearer(key)).json()["success"] is True
    revoked = rest.get("/user/me", headers=bearer(new["api_key"]))
    assert revoked.status_code == 401
    assert revoked.json() == {"detail": "API key has been revoked"}
    assert rest.post(f"/user/api-keys/{new['id']}/enable", headers=bearer(key)).status_code == 200
    assert rest.get("/user/me", headers=bearer(new["api_key"])).status_code == 200
    assert rest.delete(f"/user/api-keys/{new['id']}", headers=bearer(key)).status_code == 200
    assert rest.get("/user/me", headers=bearer(new["api_key"])).status_code == 401
    assert rest.delete(f"/user/api-keys/{new['id']}", headers=bearer(key)).status_code == 404


def test_key_is_stored_only_as_a_hash(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    new = rest.post("/user/api-keys", headers=bearer(key), json={}).json()
    assert new["name"] == "API Key" and "expires_at" not in new
    db = sqlite3.connect(gateway.workdir / "hub.db")
    try:
        dumped = "\n".join(db.iterdump())
    finally:
        db.close()
    assert new["api_key"] not in dumped
    assert key not in dumped


def test_expired_key_is_rejected(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    new = rest.post("/user/api-keys", headers=bearer(key), json={"name": "short", "expiration_time": 1}).json()
    assert rest.get("/user/me", headers=bearer(new["api_key"])).status_code == 200
    db = sqlite3.connect(gateway.workdir / "hub.db")
    with db:
        db.execute("UPDATE api_keys SET expires_at = '2000-01-01 00:00:00.000000' WHERE id = ?", (new["id"],))
    db.close()
    r = rest.get("/user/me", headers=bearer(new["api_key"]))
    assert r.status_code == 401
    assert r.json() == {"detail": "API key has expired"}


def test_another_users_key_ids_are_not_found(rest: httpx.Client, make_user) -> None:
    _, alice = make_user()
    _, bob = make_user()
    bobs_key = rest.post("/user/api-keys", headers=bearer(bob), json={"name": "bob"}).json()
    for method, path in (
        ("POST", f"/user/api-keys/{bobs_key['id']}/revoke"),
        ("POST", f"/user/api-keys/{bobs_key['id']}/enable"),
        ("DELETE", f"/user/api-keys/{bobs_key['id']}"),
    ):
        r = rest.request(method, path, headers=bearer(alice))
        assert r.status_code == 404, (method, path, r.text)
        assert "not found" in r.json()["detail"]
    assert rest.get("/user/me", headers=bearer(bobs_key["api_key"])).status_code == 200
    alice_ids = {k["id"] for k in rest.get("/user/api-keys", headers=bearer(alice)).json()["keys"]}
    assert bobs_key["id"] not in alice_ids


def test_validation_errors_are_422_with_the_documented_body(rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    r = rest.post("/user/api-keys", headers=bearer(key), json={"name": "x", "expiration_time": -3})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["body", "expiration_time"] and err["type"] == "value_error" and err["msg"]

    r = rest.post("/user/api-keys", headers=bearer(key), json={"name": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "name"]

    r = rest.post(
        "/user/api-keys", headers={**bearer(key), "Content-Type": "application/json"}, content=b'{"name": "x",'
    )
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["body"] and err["type"] == "json_invalid"

    r = rest.post("/user/api-keys", headers=bearer(key), json={"expiration_time": "soon"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"

    r = rest.get("/user/transactions", headers=bearer(key), params={"limit": 0})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]


def test_unknown_paths_are_404_not_found(rest: httpx.Client, gateway: Gateway) -> None:
    assert rest.get("/user/nothing-here").json() == {"detail": "Not Found"}
    assert rest.get("/user/nothing-here").status_code == 404
    r = httpx.get(f"{gateway.base}/elsewhere")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


def test_transactions_newest_first_with_paging(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    _, key = make_user(credits=1.0)
    email = rest.get("/user/me", headers=bearer(key)).json()["email"]
    for amount in ("2", "3", "4"):
        done = gateway.cli("add-credits", "--email", email, "--amount", amount)
        assert done.returncode == 0, done.stderr
    page = rest.get("/user/transactions", headers=bearer(key), params={"limit": 2}).json()
    assert page["total_count"] == 4
    assert [t["amount"] for t in page["transactions"]] == [4, 3]
    rest_page = rest.get("/user/transactions", headers=bearer(key), params={"limit": 2, "offset": 2}).json()
    assert [t["amount"] for t in rest_page["transactions"]] == [2, 1]
    item = rest_page["transactions"][0]
    assert item["currency"] == "USD" and item["transaction_type"] == "credit" and item["status"] == "completed"
    assert rest.get("/user/me", headers=bearer(key)).json()["credits"] == 10.0


def test_usage_is_all_zeros_without_requests(rest: httpx.Client, make_user) -> None:
    _, key = make_user(credits=3)
    body = rest.get(
        "/user/usage", headers=bearer(key), params={"start_date": "2026-01-01", "end_date": "2026-01-07"}
    ).json()
    assert body["total_requests"] == 0 and body["total_cost"] == 0 and body["remaining_credits"] == 3
    assert body["total_tokens"] == {"input": 0, "output": 0, "total": 0}
    assert body["endpoints"] == {} and body["providers"] == {} and body["models"] == {}
    assert [d["date"] for d in body["daily_usage"]] == [f"2026-01-0{i}" for i in range(1, 8)]
    r = rest.get("/user/usage", headers=bearer(key), params={"start_date": "yesterday"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "start_date"]


def test_delete_account_removes_everything(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user(credits=5)
    second = rest.post("/user/api-keys", headers=bearer(key), json={"name": "2nd"}).json()["api_key"]
    chat = {"messages": [{"role": "user", "content": "leave a usage record"}], "model": "openai/gpt-4o-mini"}
    assert rest.post("/chat/completions", headers=bearer(key), json=chat).status_code == 200
    assert rest.get("/user/usage", headers=bearer(key)).json()["total_requests"] == 1  # derived: latency row too
    db = sqlite3.connect(gateway.workdir / "hub.db")
    try:
        assert db.execute("SELECT count(*) FROM usage_latencies WHERE user_id = ?", (user_id,)).fetchone() == (1,)
    finally:
        db.close()
    r = rest.delete("/user/account", headers=bearer(key))
    assert r.status_code == 200 and r.json()["success"] is True
    assert rest.get("/user/me", headers=bearer(key)).status_code == 401
    assert rest.get("/user/me", headers=bearer(second)).status_code == 401
    db = sqlite3.connect(gateway.workdir / "hub.db")
    try:
        tables = ("users", "api_keys", "transactions", "usage_records", "usage_latencies", "usage_daily", "video_jobs")
        for table in tables:
            column = "id" if table == "users" else "user_id"
            count = db.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", (user_id,)).fetchone()[0]
            assert count == 0, table
    finally:
        db.close()
