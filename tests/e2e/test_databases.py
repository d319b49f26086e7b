"""The same money and key flows on every database the gateway supports: SQLite, and PostgreSQL when the test
run provides a server (`make test` always does, through scripts/with-postgres.sh)."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest

from tests.e2e.conftest import bearer
from tests.harness import start_gateway
from tests.postgres import database_kinds, fresh_database_url


@pytest.fixture(scope="module", params=database_kinds())
def gateway_on(request):
    extra = {}
    if request.param == "postgresql":
        extra["HUB_DATABASE_URL"] = asyncio.run(fresh_database_url())
    gw = start_gateway(extra_env=extra)
    yield request.param, gw
    gw.close()


def test_keys_billing_streams_and_usage(gateway_on) -> None:
    kind, gw = gateway_on
    done = gw.cli("create-user", "--email", f"db-{kind}@example.com", "--credits", "0.0004", "--json")
    assert done.returncode == 0, done.stderr
    key = json.loads(done.stdout.strip().splitlines()[-1])["api_key"]
    api = httpx.Client(base_url=gw.api, timeout=30)

    made = api.post("/user/api-keys", headers=bearer(key), json={"name": kind, "expiration_time": 3}).json()
    assert api.get("/user/me", headers=bearer(made["api_key"])).status_code == 200
    api.post(f"/user/api-keys/{made['id']}/revoke", headers=bearer(key))
    assert api.get("/user/me", headers=bearer(made["api_key"])).status_code == 401

    statuses: list[int] = []

    def one(i: int) -> None:
        body = {"messages": [{"role": "user", "content": f"db {i}"}], "model": "openai/gpt-4o-mini", "max_tokens": 500}
        statuses.append(
            httpx.post(f"{gw.api}/chat/completions", headers=bearer(key), json=body, timeout=30).status_code
        )

    threads = [threading.Thread(target=one, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) <= {200, 402} and 200 in statuses and 402 in statuses

    usage = api.get("/user/usage", headers=bearer(key)).json()
    me = api.get("/user/me", headers=bearer(key)).json()
    assert usage["total_requests"] == statuses.count(200)
    assert me["credits"] >= 0
    assert abs(usage["total_cost"] - (0.0004 - me["credits"])) < 1e-9
    ledger = api.get("/user/transactions", headers=bearer(key), params={"limit": 100}).json()
    assert ledger["total_count"] == 1 + statuses.count(200)
    assert abs(sum(t["amount"] for t in ledger["transactions"]) - me["credits"]) < 1e-9

    api.post("/user/api-keys", headers=bearer(key), json={"name": "x"})
    assert api.delete("/user/account", headers=bearer(key)).status_code == 200
    assert api.get("/user/me", headers=bearer(key)).status_code == 401
