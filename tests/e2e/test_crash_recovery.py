"""Crash recovery (issue 13, defect 2): a server killed with requests in flight leaves holds that are refunded
exactly once within seconds, by the next start or by a live replica, never touching a live process's holds."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import grpc
import httpx
import pytest
import sqlalchemy
from google.protobuf import struct_pb2
from indoxhub.v1 import chat_pb2, chat_pb2_grpc
from sqlalchemy.pool import NullPool

from server.db.ledger import sync_url
from tests.e2e.conftest import bearer
from tests.harness import Gateway, start_gateway
from tests.postgres import database_kinds, fresh_database_url

_engines: dict[str, sqlalchemy.Engine] = {}


def _query(gw: Gateway, sql: str, *args) -> list[tuple]:
    """Reads the gateway's database (SQLite or PostgreSQL) as another process would; `?` marks parameters."""
    url = sync_url(gw.env["HUB_DATABASE_URL"])
    engine = _engines.get(url) or _engines.setdefault(url, sqlalchemy.create_engine(url, poolclass=NullPool))
    params = {f"p{i}": arg for i, arg in enumerate(args)}
    for i in range(len(args)):
        sql = sql.replace("?", f":p{i}", 1)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sqlalchemy.text(sql), params)]


def _holds(gw: Gateway) -> int:
    return _query(gw, "SELECT count(*) FROM credit_holds")[0][0]


def _balance(gw: Gateway, user_id: int) -> int:
    return _query(gw, "SELECT balance_nanos FROM users WHERE id = ?", user_id)[0][0]


def _until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Waits for a database state another process produces (checked every 50 ms)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _in_flight(gw: Gateway, key: str, count: int) -> list[threading.Thread]:
    """`count` requests that never finish on their own: half hanging unary calls, half slow streams."""

    def one(i: int) -> None:
        stream = i % 2 == 1
        prompt = "go on [[long:400]] [[slow:0.1]]" if stream else "wait [[hang]]"
        body = {"messages": [{"role": "user", "content": prompt}], "model": "openai/gpt-4o-mini", "stream": stream}
        try:
            with httpx.Client(base_url=gw.api, timeout=60) as client:
                client.post("/chat/completions", headers=bearer(key), json=body)
        except httpx.HTTPError:
            pass  # the server is killed under it

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads


@pytest.fixture(scope="module", params=database_kinds())
def crash_gateway(request) -> Gateway:
    extra = {"HUB_UPSTREAM_READ_TIMEOUT": "60"}
    if request.param == "postgresql":
        extra["HUB_DATABASE_URL"] = asyncio.run(fresh_database_url())
    gw = start_gateway(extra, workers=2)
    yield gw
    gw.close()


def test_kill_9_with_50_requests_in_flight_then_restart_refunds_every_hold(crash_gateway: Gateway) -> None:
    gw = crash_gateway
    user_id, key = gw.create_user("crash@example.com", 10)
    before = _balance(gw, user_id)
    threads = _in_flight(gw, key, 50)
    _until(lambda: _holds(gw) == 50, "50 holds")
    _until(lambda: _query(gw, "SELECT count(*) FROM active_streams")[0][0] == 25, "25 active streams")
    assert _balance(gw, user_id) < before
    for index in list(gw.replicas):  # the whole deployment dies at once
        gw.kill_replica(index)
    for thread in threads:
        thread.join(30)
    assert _holds(gw) == 50  # the crash left them
    gw.start_server()
    _until(lambda: _holds(gw) == 0, "the restart to release every hold", timeout=10)  # within its first sweep
    assert _balance(gw, user_id) == before
    assert _query(gw, "SELECT count(*) FROM active_streams") == [(0,)]
    assert _query(
        gw, "SELECT count(*) FROM transactions WHERE user_id = ? AND transaction_type = 'usage'", user_id
    ) == [(0,)]
    assert len(_query(gw, "SELECT id FROM instances")) == 2  # only the live processes


def _grpc_chat(target: str, key: str, prompt: str) -> grpc.Future:
    channel = grpc.insecure_channel(target)
    request = chat_pb2.ChatRequest(
        model="openai/gpt-4o-mini",
        messages=[chat_pb2.ChatMessage(role="user", content=struct_pb2.Value(string_value=prompt))],
    )
    future = chat_pb2_grpc.ChatServiceStub(channel).Chat.future(request, metadata=(("authorization", f"Bearer {key}"),))
    future.channel = channel
    return future


def test_a_live_replica_releases_a_dead_ones_holds_and_keeps_its_own(crash_gateway: Gateway) -> None:
    gw = crash_gateway
    user_id, key = gw.create_user("replicas@example.com", 10)
    before = _balance(gw, user_id)
    calls = [_grpc_chat(gw.grpc_targets[0], key, "wait [[hang]]") for _ in range(10)]
    try:
        _until(lambda: _holds(gw) == 10, "10 holds on the first process")
        calls += [_grpc_chat(gw.grpc_targets[1], key, "wait [[hang]]") for _ in range(7)]
        _until(lambda: _holds(gw) == 17, "7 more holds on the second")
        doomed = _query(gw, "SELECT id FROM instances WHERE pid = ?", gw.replicas[1].pid)[0][0]
        gw.kill_replica(1)
        # the live process notices at its next sweep (same machine, pid gone): only the dead one's holds go
        _until(lambda: _holds(gw) == 10, "the live process to release the dead one's 7 holds", timeout=5)
        assert _query(gw, "SELECT count(*) FROM credit_holds WHERE instance_id = ?", doomed) == [(0,)]
        assert _query(gw, "SELECT count(*) FROM instances") == [(1,)]
    finally:
        for call in calls:
            call.cancel()
            call.channel.close()
    _until(lambda: _holds(gw) == 0, "cancelled calls to settle")
    assert _balance(gw, user_id) == before
    gw.start_replica(1)
