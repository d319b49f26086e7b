"""Per-key limits end to end (issue 11): the key API, 429 / 402 answers, worst-case reservation of tokens and
budgets, stream slots, and exactness over several server processes on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import grpc
import httpx
import pytest
from google.protobuf import struct_pb2
from indoxhub.v1 import admin_pb2, admin_pb2_grpc, chat_pb2, chat_pb2_grpc

from tests.e2e.conftest import bearer
from tests.harness import Gateway, fake_requests, start_gateway
from tests.postgres import database_kinds, fresh_database_url

MODEL = "openai/gpt-4o-mini"


def _chat(content: str, **extra) -> dict:
    return {"messages": [{"role": "user", "content": content}], "model": MODEL, **extra}


def _new_key(rest: httpx.Client, key: str, **limits) -> dict:
    r = rest.post("/user/api-keys", headers=bearer(key), json={"name": "limited", **limits})
    assert r.status_code == 200, r.text
    return r.json()


def _listed(rest: httpx.Client, key: str, key_id: int) -> dict:
    [row] = [k for k in rest.get("/user/api-keys", headers=bearer(key)).json()["keys"] if k["id"] == key_id]
    return row


def _upstream_hits(gw: Gateway, marker: str) -> int:
    return sum(marker in json.dumps(r.get("body")) for r in fake_requests(gw))


def _wait_for(check, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class LiveStream:
    """A REST stream in a thread: `first` is set once the first text delta (or an error status) arrived; with
    `leave_after_first` the client disconnects right then."""

    def __init__(self, gw: Gateway, key: str, content: str, leave_after_first: bool = False, **extra) -> None:
        self.first = threading.Event()
        self.events: list = []
        self.status: int | None = None
        self.body: bytes = b""
        self.id: str | None = None
        self._args = (gw, key, _chat(content, stream=True, **extra), leave_after_first)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.first.wait(20), "the stream did not start"

    def _run(self) -> None:
        gw, key, body, leave = self._args
        try:
            with (
                httpx.Client(base_url=gw.api, timeout=30) as client,
                client.stream("POST", "/chat/completions", headers=bearer(key), json=body) as r,
            ):
                self.status = r.status_code
                if r.status_code != 200:
                    self.body = r.read()
                    return
                for line in r.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    event = line[6:] if line[6:] == "[DONE]" else json.loads(line[6:])
                    self.events.append(event)
                    if isinstance(event, dict) and event.get("type") == "response.created":
                        self.id = event["response"]["id"]
                    if isinstance(event, dict) and event.get("type") == "response.content_part.delta":
                        self.first.set()
                        if leave:
                            return
        finally:
            self.first.set()

    def join(self) -> None:
        self.thread.join(20)
        assert not self.thread.is_alive()


# ---------------------------------------------------------------------------------------------- key API


def test_key_limits_are_created_listed_changed_and_removed(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    made = _new_key(
        rest,
        key,
        requests_per_minute=5,
        tokens_per_minute=10000,
        max_concurrent_requests=2,
        budget_usd=1.5,
        budget_period="month",
    )
    assert (made["requests_per_minute"], made["tokens_per_minute"], made["max_concurrent_requests"]) == (5, 10000, 2)
    assert (made["budget_usd"], made["budget_period"]) == (1.5, "month")
    counted = rest.post("/chat/completions", headers=bearer(made["api_key"]), json=_chat("count me", max_tokens=100))
    assert counted.status_code == 200

    row = _listed(rest, key, made["id"])
    assert row["requests_per_minute"] == 5 and row["budget_period"] == "month"
    use = row["usage"]
    assert use["requests_in_window"] == 1 and use["requests_in_flight"] == 0
    assert use["tokens_in_window"] > 0 and use["spend_in_period"] > 0
    usage = rest.get("/user/usage", headers=bearer(made["api_key"])).json()
    assert abs(use["spend_in_period"] - usage["total_cost"]) < 1e-12
    assert use["tokens_in_window"] == usage["total_tokens"]["total"]

    # PATCH: null removes a limit, a value changes it, a field left out stays
    r = rest.patch(
        f"/user/api-keys/{made['id']}",
        headers=bearer(key),
        json={"requests_per_minute": None, "max_concurrent_requests": 7, "name": "renamed"},
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert "requests_per_minute" not in changed and changed["max_concurrent_requests"] == 7
    assert changed["name"] == "renamed" and changed["tokens_per_minute"] == 10000 and changed["budget_usd"] == 1.5
    removed = rest.patch(
        f"/user/api-keys/{made['id']}",
        headers=bearer(key),
        json={"tokens_per_minute": None, "max_concurrent_requests": None, "budget_usd": None},
    ).json()
    assert not {"requests_per_minute", "tokens_per_minute", "max_concurrent_requests", "budget_usd"} & set(removed)

    # bad values: the documented 422 naming each field; unknown or foreign keys: 404
    bad = rest.patch(
        f"/user/api-keys/{made['id']}",
        headers=bearer(key),
        json={"requests_per_minute": 0, "budget_usd": "lots", "budget_period": "year"},
    )
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["detail"]} == {
        ("body", "requests_per_minute"),
        ("body", "budget_usd"),
        ("body", "budget_period"),
    }
    bad = rest.post("/user/api-keys", headers=bearer(key), json={"max_concurrent_requests": -1})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "max_concurrent_requests"]
    _, other = make_user()
    assert rest.patch(f"/user/api-keys/{made['id']}", headers=bearer(other), json={}).status_code == 404
    assert rest.patch("/user/api-keys/999999", headers=bearer(key), json={}).status_code == 404


def test_default_limits_from_admin_service_and_cli_apply_to_new_keys(gateway: Gateway, rest: httpx.Client) -> None:
    email = f"defaults-{uuid.uuid4().hex[:8]}@example.com"
    _, key = gateway.create_user(email, 5)
    with grpc.insecure_channel(gateway.grpc_target) as channel:
        reply = admin_pb2_grpc.AdminServiceStub(channel).SetDefaultLimits(
            admin_pb2.SetDefaultLimitsRequest(email=email, requests_per_minute=3, budget_usd=2.0, budget_period="day"),
            metadata=gateway.admin_auth,
        )
    assert reply.requests_per_minute == 3 and reply.budget_usd == 2.0 and reply.budget_period == "day"
    made = _new_key(rest, key)
    assert made["requests_per_minute"] == 3 and made["budget_usd"] == 2.0 and made["budget_period"] == "day"
    assert "max_concurrent_requests" not in made
    own = _new_key(rest, key, requests_per_minute=9)  # given limits win over the defaults
    assert own["requests_per_minute"] == 9 and own["budget_usd"] == 2.0

    done = gateway.cli("set-default-limits", "--email", email, "--max-concurrent-requests", "4")
    assert done.returncode == 0, done.stderr
    made = _new_key(rest, key)
    assert made["max_concurrent_requests"] == 4 and "requests_per_minute" not in made and "budget_usd" not in made
    assert gateway.cli("set-default-limits", "--email", "nobody@example.com").returncode != 0


# ---------------------------------------------------------------------------------------------- refusals


def test_requests_per_minute_answers_429_with_retry_after_and_never_reaches_the_provider(
    gateway: Gateway, rest: httpx.Client, make_user
) -> None:
    _, key = make_user()
    limited = _new_key(rest, key, requests_per_minute=2)["api_key"]
    marker = f"rpm-{uuid.uuid4().hex[:8]}"
    answers = [rest.post("/chat/completions", headers=bearer(limited), json=_chat(marker)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[2]
    assert "requests_per_minute (2)" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert _upstream_hits(gateway, marker) == 2
    usage = rest.get("/user/usage", headers=bearer(key)).json()
    assert usage["total_requests"] == 2  # the refused request left no record and cost nothing
    ledger = rest.get("/user/transactions", headers=bearer(key)).json()
    assert ledger["total_count"] == 1 + 2


def test_a_stream_holds_its_slot_until_stopped_or_disconnected(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    made = _new_key(rest, key, max_concurrent_requests=1)
    limited = made["api_key"]
    stream = LiveStream(gateway, limited, "hold the slot [[slow:0.2]] [[long:200]]")
    assert stream.status == 200
    assert _listed(rest, key, made["id"])["usage"]["requests_in_flight"] == 1
    busy = rest.post("/chat/completions", headers=bearer(limited), json=_chat("second"))
    assert busy.status_code == 429 and "max_concurrent_requests (1)" in busy.json()["detail"]
    assert busy.headers["retry-after"] == "1"
    assert rest.post(f"/chat/stop-stream/{stream.id}", headers=bearer(limited)).status_code == 200
    stream.join()
    assert stream.events[-1] == "[DONE]"
    assert rest.post("/chat/completions", headers=bearer(limited), json=_chat("now free")).status_code == 200

    leaving = LiveStream(gateway, limited, "leave [[slow:0.2]] [[long:200]]", leave_after_first=True)
    leaving.join()
    _wait_for(lambda: _listed(rest, key, made["id"])["usage"]["requests_in_flight"] == 0, "the slot to come back")
    assert rest.post("/chat/completions", headers=bearer(limited), json=_chat("free again")).status_code == 200


def test_tokens_per_minute_reserve_the_worst_case_and_settle_to_real_usage(
    gateway: Gateway, rest: httpx.Client, make_user
) -> None:
    _, key = make_user()
    made = _new_key(rest, key, tokens_per_minute=1000)
    limited = made["api_key"]
    stream = LiveStream(gateway, limited, "tokens [[slow:0.2]] [[long:200]]", max_tokens=400)
    held = _listed(rest, key, made["id"])["usage"]["tokens_in_window"]
    assert held > 400  # the stream's worst case: its prompt with a margin plus max_tokens
    assert rest.post("/chat/completions", headers=bearer(limited), json=_chat("b", max_tokens=300)).status_code == 200
    after_b = _listed(rest, key, made["id"])["usage"]["tokens_in_window"]
    assert after_b - held < 50  # B settled to its real usage, far below its worst case
    marker = f"tpm-{uuid.uuid4().hex[:8]}"
    refused = rest.post("/chat/completions", headers=bearer(limited), json=_chat(marker, max_tokens=700))
    assert refused.status_code == 429 and "tokens_per_minute (1000)" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    assert _upstream_hits(gateway, marker) == 0
    too_big = rest.post("/chat/completions", headers=bearer(limited), json=_chat(marker, max_tokens=5000))
    assert too_big.status_code == 422 and too_big.json()["detail"][0]["loc"] == ["body", "max_tokens"]
    assert rest.post(f"/chat/stop-stream/{stream.id}", headers=bearer(limited)).status_code == 200
    stream.join()
    assert (
        rest.post("/chat/completions", headers=bearer(limited), json=_chat(marker, max_tokens=700)).status_code == 200
    )
    usage = rest.get("/user/usage", headers=bearer(key)).json()
    assert _listed(rest, key, made["id"])["usage"]["tokens_in_window"] == usage["total_tokens"]["total"]


def test_budget_reserves_the_worst_case_and_answers_402_naming_the_key_budget(
    gateway: Gateway, rest: httpx.Client, make_user
) -> None:
    _, key = make_user()
    # gpt-4o-mini: $0.60 per 1M output tokens, so 1000 output tokens may cost $0.0006
    made = _new_key(rest, key, budget_usd=0.001, budget_period="day")
    limited = made["api_key"]
    stream = LiveStream(gateway, limited, "budget [[slow:0.2]] [[long:200]]", max_tokens=1000)
    marker = f"budget-{uuid.uuid4().hex[:8]}"
    refused = rest.post("/chat/completions", headers=bearer(limited), json=_chat(marker, max_tokens=1000))
    assert refused.status_code == 402
    assert "budget_usd (0.001 per day)" in refused.json()["detail"]
    assert _upstream_hits(gateway, marker) == 0
    assert rest.post(f"/chat/stop-stream/{stream.id}", headers=bearer(limited)).status_code == 200
    stream.join()
    assert (
        rest.post("/chat/completions", headers=bearer(limited), json=_chat(marker, max_tokens=1000)).status_code == 200
    )
    usage = rest.get("/user/usage", headers=bearer(key)).json()
    spent = _listed(rest, key, made["id"])["usage"]["spend_in_period"]
    assert usage["total_requests"] == 2 and abs(spent - usage["total_cost"]) < 1e-12


# ---------------------------------------------------------------------------------------------- several processes


@pytest.fixture(scope="module", params=database_kinds())
def three_processes(request):
    extra = {"HUB_WORKERS": "3"}
    if request.param == "postgresql":
        extra["HUB_DATABASE_URL"] = asyncio.run(fresh_database_url())
    gw = start_gateway(extra_env=extra)
    yield request.param, gw
    gw.close()


def test_requests_per_minute_is_exact_over_three_server_processes(three_processes) -> None:
    """12 simultaneous requests, 4 sent straight to each of the 3 server processes (each on its own port),
    against requests_per_minute=5: exactly 5 answers and 7 refusals; a 13th through Envoy is refused too."""
    kind, gw = three_processes
    _, key = gw.create_user(f"exact-{kind}-{uuid.uuid4().hex[:6]}@example.com", 5)
    with httpx.Client(base_url=gw.api, timeout=30) as rest:
        made = _new_key(rest, key, requests_per_minute=5)
    marker = f"exact-{uuid.uuid4().hex[:8]}"
    assert len(gw.grpc_targets) == 3
    channels = [grpc.insecure_channel(gw.grpc_targets[i % 3]) for i in range(12)]
    for channel in channels:
        grpc.channel_ready_future(channel).result(timeout=10)
    barrier = threading.Barrier(12)
    outcomes: list[tuple[str, dict]] = []

    def one(channel: grpc.Channel, i: int) -> None:
        request = chat_pb2.ChatRequest(
            model=MODEL,
            messages=[chat_pb2.ChatMessage(role="user", content=struct_pb2.Value(string_value=f"{marker} {i}"))],
        )
        barrier.wait()
        try:
            chat_pb2_grpc.ChatServiceStub(channel).Chat(
                request, metadata=(("authorization", f"Bearer {made['api_key']}"),), timeout=30
            )
            outcomes.append(("ok", {}))
        except grpc.RpcError as exc:
            outcomes.append((exc.code().name, dict(exc.trailing_metadata() or ())))

    threads = [threading.Thread(target=one, args=(c, i)) for i, c in enumerate(channels)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for channel in channels:
        channel.close()
    assert sorted(o[0] for o in outcomes) == ["RESOURCE_EXHAUSTED"] * 7 + ["ok"] * 5
    for code, trailers in outcomes:
        if code != "ok":
            assert trailers["x-hub-http-status"] == "429"
            assert 1 <= int(trailers["x-hub-retry-after"]) <= 60
            assert "requests_per_minute (5)" in trailers["x-hub-detail"]
    assert _upstream_hits(gw, marker) == 5
    with httpx.Client(base_url=gw.api, timeout=30) as rest:
        assert rest.get("/user/usage", headers=bearer(key)).json()["total_requests"] == 5
        refused = rest.post("/chat/completions", headers=bearer(made["api_key"]), json=_chat("13th"))
        assert refused.status_code == 429 and "retry-after" in refused.headers
        assert _listed(rest, key, made["id"])["usage"]["requests_in_window"] == 5
