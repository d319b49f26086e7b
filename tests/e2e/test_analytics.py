"""Analytics and /user/usage end to end: REST through Envoy to the gRPC server, over usage records with known values
written straight into the gateway's SQLite file (the gateway derives the rollups and the latency index from them, as
it does from the records it writes itself). Every grouping and filter has a hand-computed answer; other users'
records never show; date edges are UTC days with inclusive ends."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import bearer
from tests.harness import Gateway

RANGE = {"start_date": "2026-01-30", "end_date": "2026-02-02"}
CONTENT = {"messages": [{"role": "user", "content": "hi"}]}

# fmt: off
# (created_at, "endpoint/provider/model", input, output, cost USD, duration ms, ttft ms, status, session, ip, byok)
A = [
    ("2026-01-30 10:00:00", "chat/openai/gpt-4o-mini", 100, 50, 0.001, 100, 20, "success", "s1", "1.1.1.1", 0),
    ("2026-01-30 10:01:00", "chat/openai/gpt-4o-mini", 200, 100, 0.002, 300, None, "success", "s1", "1.1.1.1", 0),
    ("2026-01-31 23:59:59.999999", "chat/anthropic/claude-3-5-haiku", 300, 150, 0.003, 500, 50, "success", "s2",
     "2.2.2.2", 0),
    ("2026-02-01 00:00:00", "embedding/openai/text-embedding-3-small", 1000, 0, 0.0001, 50, None, "success", None,
     "1.1.1.1", 0),
    ("2026-02-01 12:00:00", "chat/openai/gpt-4o-mini", 10, 0, 0, 900, None, "error", "s2", "2.2.2.2", 0),
    ("2026-02-01 13:00:00", "image/openai/dall-e-3", 0, 0, 0.04, 2000, None, "success", None, None, 0),
    ("2026-02-02 08:00:00", "chat/openai/gpt-4o-mini", 400, 200, 0, 700, 30, "success", "s3", "1.1.1.1", 1),
    ("2026-02-02 09:00:00", "tts/openai/tts-1", 50, 0, 0.0015, 400, None, "stopped", None, "1.1.1.1", 0),
]
# Another user, same days, same session id "s1" and model: must never show in A's answers.
B = [
    ("2026-01-30 11:00:00", "chat/openai/gpt-4o-mini", 9999, 9999, 1.5, 5000, None, "success", "s1", "9.9.9.9", 0),
    ("2026-02-01 11:00:00", "completion/mistral/mistral-large", 1, 1, 2.5, 7000, None, "success", "s9", "9.9.9.9", 0),
]
# fmt: on


def _seed(gateway: Gateway, user_id: int, rows: list[tuple], content: dict | None = None) -> list[str]:
    """Inserts the records as billing would store them (the gateway derives the rest from them)."""
    db = sqlite3.connect(gateway.workdir / "hub.db", timeout=30)
    ids = []
    try:
        with db:
            for when, where, inp, out, cost, dur, ttft, status, session, ip, byok in rows:
                endpoint, provider, model = where.split("/")
                stamp = datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's format
                ids.append(f"e2e-{uuid.uuid4().hex}")
                db.execute(
                    "INSERT INTO usage_records (request_id, user_id, endpoint, provider, model, input_tokens,"
                    " output_tokens, cached_tokens, reasoning_tokens, cost_nanos, duration_ms, ttft_ms, status,"
                    " session_id, client_ip, error, byok, request_content, response_content, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        ids[-1], user_id, endpoint, provider, model, inp, out, round(cost * 1e9), dur, ttft, status,
                        session, ip, "upstream failed" if status == "error" else None, byok,
                        json.dumps(content) if content else None, json.dumps({"ok": True}) if content else None,
                        stamp,
                    ),
                )  # fmt: skip
    finally:
        db.close()
    return ids


@pytest.fixture(scope="module")
def seeded(gateway: Gateway) -> dict:
    """User A with the records above (and B with theirs); returns keys and A's request ids in A's order."""
    a_id, a_key = gateway.create_user(f"analytics-a-{uuid.uuid4().hex[:8]}@example.com", 5.0)
    b_id, b_key = gateway.create_user(f"analytics-b-{uuid.uuid4().hex[:8]}@example.com", 5.0)
    ids = _seed(gateway, a_id, A)
    _seed(gateway, b_id, B)
    return {"a": a_key, "b": b_key, "ids": ids, "a_id": a_id}


def _get(rest: httpx.Client, key: str, path: str, **params) -> dict:
    r = rest.get(path, headers=bearer(key), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _groups(body: dict) -> dict[str, dict]:
    return {g["key"]: g for g in body["groups"]}


# --- /user/usage ------------------------------------------------------------------------------------------


def test_user_usage_totals_breakdowns_and_every_day(rest: httpx.Client, seeded) -> None:
    body = _get(rest, seeded["a"], "/user/usage", start_date="2026-01-28", end_date="2026-02-03")
    assert body["total_requests"] == 8
    assert body["total_cost"] == 0.0476
    assert body["remaining_credits"] == 5.0
    assert body["total_tokens"] == {"input": 2060, "output": 500, "total": 2560}
    assert [(d["date"], d["requests"], d["cost"]) for d in body["daily_usage"]] == [
        ("2026-01-28", 0, 0),
        ("2026-01-29", 0, 0),
        ("2026-01-30", 2, 0.003),
        ("2026-01-31", 1, 0.003),
        ("2026-02-01", 3, 0.0401),
        ("2026-02-02", 2, 0.0015),
        ("2026-02-03", 0, 0),
    ]
    assert body["daily_usage"][2]["tokens"] == {"input": 300, "output": 150, "total": 450}
    assert body["endpoints"] == {
        "chat": {"requests": 5, "cost": 0.006, "tokens": {"input": 1010, "output": 500, "total": 1510}},
        "embedding": {"requests": 1, "cost": 0.0001, "tokens": {"input": 1000, "output": 0, "total": 1000}},
        "image": {"requests": 1, "cost": 0.04, "tokens": {"input": 0, "output": 0, "total": 0}},
        "tts": {"requests": 1, "cost": 0.0015, "tokens": {"input": 50, "output": 0, "total": 50}},
    }
    assert {k: (v["requests"], v["cost"]) for k, v in body["providers"].items()} == {
        "openai": (7, 0.0446),
        "anthropic": (1, 0.003),
    }
    assert {k: v["requests"] for k, v in body["models"].items()} == {
        "openai/gpt-4o-mini": 4,
        "anthropic/claude-3-5-haiku": 1,
        "openai/text-embedding-3-small": 1,
        "openai/dall-e-3": 1,
        "openai/tts-1": 1,
    }
    # Every breakdown adds up to the totals.
    for part in ("endpoints", "providers", "models"):
        assert sum(v["requests"] for v in body[part].values()) == body["total_requests"]
        assert round(sum(v["cost"] for v in body[part].values()), 9) == body["total_cost"]
    assert round(sum(d["cost"] for d in body["daily_usage"]), 9) == body["total_cost"]


def test_user_usage_day_edges_are_utc_and_inclusive(rest: httpx.Client, seeded) -> None:
    one = _get(rest, seeded["a"], "/user/usage", start_date="2026-01-31", end_date="2026-01-31")
    assert one["total_requests"] == 1 and one["models"] == {
        "anthropic/claude-3-5-haiku": {
            "requests": 1,
            "cost": 0.003,
            "tokens": {"input": 300, "output": 150, "total": 450},
        }
    }  # 23:59:59.999999 is still the 31st
    feb = _get(rest, seeded["a"], "/user/usage", start_date="2026-02-01", end_date="2026-02-01")
    assert feb["total_requests"] == 3 and set(feb["endpoints"]) == {"embedding", "chat", "image"}  # 00:00:00 is the 1st


def test_user_usage_of_another_user_is_theirs_only(rest: httpx.Client, seeded) -> None:
    body = _get(rest, seeded["b"], "/user/usage", **RANGE)
    assert body["total_requests"] == 2 and body["total_cost"] == 4.0
    assert set(body["models"]) == {"openai/gpt-4o-mini", "mistral/mistral-large"}


# --- /analytics/usage -------------------------------------------------------------------------------------


def test_group_by_date(rest: httpx.Client, seeded) -> None:
    body = _get(rest, seeded["a"], "/analytics/usage", group_by="date", **RANGE)
    assert body["group_by"] == "date" and body["total_count"] == 4
    assert [g["key"] for g in body["groups"]] == ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"]
    g = _groups(body)
    assert g["2026-01-30"] == {
        "key": "2026-01-30",
        "requests": 2,
        "input_tokens": 300,
        "output_tokens": 150,
        "total_tokens": 450,
        "cost": 0.003,
        "avg_latency_ms": 200,
        "p95_latency_ms": 300,
        "errors": 0,
    }
    assert (g["2026-02-01"]["requests"], g["2026-02-01"]["errors"], g["2026-02-01"]["p95_latency_ms"]) == (3, 1, 2000)
    assert g["2026-02-01"]["avg_latency_ms"] == pytest.approx(2950 / 3)
    assert (g["2026-02-02"]["cost"], g["2026-02-02"]["p95_latency_ms"]) == (0.0015, 700)
    assert body["totals"] == {
        "requests": 8,
        "input_tokens": 2060,
        "output_tokens": 500,
        "total_tokens": 2560,
        "cost": 0.0476,
        "errors": 1,
    }
    assert (body["start_date"], body["end_date"]) == ("2026-01-30", "2026-02-02")


def test_group_by_model_provider_endpoint(rest: httpx.Client, seeded) -> None:
    models = _get(rest, seeded["a"], "/analytics/usage", group_by="model", **RANGE)
    assert [g["key"] for g in models["groups"]] == [
        "openai/gpt-4o-mini",  # most requests first, then by key
        "anthropic/claude-3-5-haiku",
        "openai/dall-e-3",
        "openai/text-embedding-3-small",
        "openai/tts-1",
    ]
    mini = models["groups"][0]
    assert (mini["requests"], mini["input_tokens"], mini["output_tokens"], mini["cost"]) == (4, 710, 350, 0.003)
    assert (mini["avg_latency_ms"], mini["p95_latency_ms"], mini["errors"]) == (500, 900, 1)

    providers = _groups(_get(rest, seeded["a"], "/analytics/usage", group_by="provider", **RANGE))
    assert {k: (v["requests"], v["cost"], v["p95_latency_ms"]) for k, v in providers.items()} == {
        "openai": (7, 0.0446, 2000),  # durations 100 300 50 900 2000 700 400: rank ceil(6.65) = 7
        "anthropic": (1, 0.003, 500),
    }
    endpoints = _get(rest, seeded["a"], "/analytics/usage", group_by="endpoint", **RANGE)
    assert [(g["key"], g["requests"]) for g in endpoints["groups"]] == [
        ("chat", 5),
        ("embedding", 1),
        ("image", 1),
        ("tts", 1),
    ]
    chat = endpoints["groups"][0]
    assert (chat["cost"], chat["errors"], chat["p95_latency_ms"], chat["avg_latency_ms"]) == (0.006, 1, 900, 500)


def test_group_by_session_and_client_ip(rest: httpx.Client, seeded) -> None:
    sessions = _get(rest, seeded["a"], "/analytics/usage", group_by="session_id", **RANGE)
    assert [(g["key"], g["requests"], g["cost"]) for g in sessions["groups"]] == [
        ("", 3, 0.0416),  # records without a session
        ("s1", 2, 0.003),  # B's "s1" record is not here
        ("s2", 2, 0.003),
        ("s3", 1, 0),
    ]
    s2 = sessions["groups"][2]
    assert (s2["errors"], s2["p95_latency_ms"], s2["total_tokens"]) == (1, 900, 460)
    assert sessions["groups"][0]["p95_latency_ms"] == 2000
    ips = _get(rest, seeded["a"], "/analytics/usage", group_by="client_ip", **RANGE)
    assert [(g["key"], g["requests"], g["p95_latency_ms"]) for g in ips["groups"]] == [
        ("1.1.1.1", 5, 700),
        ("2.2.2.2", 2, 900),
        ("", 1, 2000),
    ]
    assert sum(g["requests"] for g in ips["groups"]) == ips["totals"]["requests"] == 8


@pytest.mark.parametrize(
    ("params", "requests", "cost"),
    [
        ({"provider": "anthropic"}, 1, 0.003),
        ({"model": "gpt-4o-mini"}, 4, 0.003),
        ({"model": "openai/gpt-4o-mini"}, 4, 0.003),
        ({"endpoint": "chat"}, 5, 0.006),
        ({"endpoint": "video"}, 0, 0),
        ({"session_id": "s2"}, 2, 0.003),
        ({"provider": "openai", "endpoint": "chat", "session_id": "s1"}, 2, 0.003),
        ({"start_date": "2026-02-01", "end_date": "2026-02-01"}, 3, 0.0401),
        ({"start_date": "2026-01-31", "end_date": "2026-01-31"}, 1, 0.003),
    ],
)
def test_filters(rest: httpx.Client, seeded, params, requests, cost) -> None:
    params = {**RANGE, **params}
    records = _get(rest, seeded["a"], "/analytics/usage", **params)
    assert records["total_count"] == records["totals"]["requests"] == len(records["records"]) == requests
    assert records["totals"]["cost"] == cost
    for group_by in ("date", "model", "session_id"):
        grouped = _get(rest, seeded["a"], "/analytics/usage", group_by=group_by, **params)
        assert sum(g["requests"] for g in grouped["groups"]) == requests
        assert round(sum(g["cost"] for g in grouped["groups"]), 9) == cost


def test_records_newest_first_paginated(rest: httpx.Client, seeded) -> None:
    ids = seeded["ids"]
    body = _get(rest, seeded["a"], "/analytics/usage", **RANGE)
    assert [r["request_id"] for r in body["records"]] == ids[::-1]
    assert (body["total_count"], body["limit"], body["offset"], body["group_by"]) == (8, 100, 0, "")
    page = _get(rest, seeded["a"], "/analytics/usage", limit=3, offset=2, **RANGE)
    assert [r["request_id"] for r in page["records"]] == [ids[5], ids[4], ids[3]]
    assert page["total_count"] == 8 and page["totals"]["requests"] == 8
    past = _get(rest, seeded["a"], "/analytics/usage", limit=3, offset=8, **RANGE)
    assert past["records"] == [] and past["total_count"] == 8
    edge = next(r for r in body["records"] if r["request_id"] == ids[2])
    assert edge == {
        "request_id": ids[2],
        "created_at": "2026-01-31T23:59:59.999999+00:00",
        "endpoint": "chat",
        "provider": "anthropic",
        "model": "claude-3-5-haiku",
        "input_tokens": 300,
        "output_tokens": 150,
        "cached_tokens": 0,
        "reasoning_tokens": 0,
        "total_tokens": 450,
        "cost": 0.003,
        "latency_ms": 500,
        "status": "success",
        "session_id": "s2",
        "client_ip": "2.2.2.2",
        "byok": False,
    }
    failed = next(r for r in body["records"] if r["request_id"] == ids[4])
    assert failed["status"] == "error" and failed["error"] == "upstream failed" and failed["cost"] == 0
    assert next(r for r in body["records"] if r["request_id"] == ids[6])["byok"] is True
    assert "client_ip" not in next(r for r in body["records"] if r["request_id"] == ids[5])


def test_group_pages(rest: httpx.Client, seeded) -> None:
    first = _get(rest, seeded["a"], "/analytics/usage", group_by="model", limit=2, **RANGE)
    second = _get(rest, seeded["a"], "/analytics/usage", group_by="model", limit=2, offset=2, **RANGE)
    past = _get(rest, seeded["a"], "/analytics/usage", group_by="model", limit=2, offset=10, **RANGE)
    assert first["total_count"] == second["total_count"] == past["total_count"] == 5
    assert [g["key"] for g in first["groups"] + second["groups"]] == [
        "openai/gpt-4o-mini",
        "anthropic/claude-3-5-haiku",
        "openai/dall-e-3",
        "openai/text-embedding-3-small",
    ]
    assert past["groups"] == [] and past["totals"]["requests"] == 8


def test_content_is_returned_only_when_asked_and_the_logging_setting_is_reported(
    gateway: Gateway, rest: httpx.Client, make_user
) -> None:
    user_id, key = make_user()
    _seed(gateway, user_id, A[:1], content=CONTENT)
    plain = _get(rest, key, "/analytics/usage", **RANGE)
    assert plain["content_logging_enabled"] is False and plain["message"] == ""
    assert "request_content" not in plain["records"][0]
    asked = _get(rest, key, "/analytics/usage", include_content="true", **RANGE)
    assert asked["content_logging_enabled"] is False
    assert "Content logging is disabled" in asked["message"] and "HUB_LOG_CONTENT" in asked["message"]
    # What was stored while logging was on is still the user's to read.
    assert asked["records"][0]["request_content"] == CONTENT
    assert asked["records"][0]["response_content"] == {"ok": True}
    grouped = _get(rest, key, "/analytics/usage", include_content="true", group_by="date", **RANGE)
    assert "ignored with group_by" in grouped["message"]


def test_default_range_is_the_last_30_days(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    user_id, key = make_user()
    now = datetime.now(UTC)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    fresh = (now - timedelta(minutes=5)).strftime(fmt)
    old = (now - timedelta(days=45)).strftime(fmt)
    rows = [(fresh, "chat/openai/gpt-4o", 1, 1, 0.01, 10, None, "success", "old", None, 0)]
    rows.append((old, "chat/openai/gpt-4o", 1, 1, 0.02, 10, None, "success", "old", None, 0))
    _seed(gateway, user_id, rows)
    body = _get(rest, key, "/analytics/usage")
    assert body["total_count"] == 1 and body["totals"]["cost"] == 0.01
    assert body["end_date"] == now.date().isoformat()
    assert body["start_date"] == (now.date() - timedelta(days=29)).isoformat()
    # A session asked for by id, without dates, is shown whole.
    whole = _get(rest, key, "/analytics/sessions", session_id="old")
    assert whole["start_date"] == "" and whole["sessions"][0]["requests"] == 2
    assert _get(rest, key, "/analytics/usage", session_id="old")["totals"]["cost"] == 0.03
    assert _get(rest, key, "/user/usage")["total_cost"] == 0.01


# --- /analytics/sessions and /analytics/models ------------------------------------------------------------


def test_sessions_in_order_with_their_interactions_and_totals(rest: httpx.Client, seeded) -> None:
    ids = seeded["ids"]
    body = _get(rest, seeded["a"], "/analytics/sessions", **RANGE)
    assert body["total_sessions"] == 3 and (body["limit"], body["offset"]) == (50, 0)
    assert [s["session_id"] for s in body["sessions"]] == ["s3", "s2", "s1"]  # most recently active first
    s2 = body["sessions"][1]
    assert {k: v for k, v in s2.items() if k != "interactions"} == {
        "session_id": "s2",
        "started_at": "2026-01-31T23:59:59.999999+00:00",
        "ended_at": "2026-02-01T12:00:00+00:00",
        "requests": 2,
        "input_tokens": 310,
        "output_tokens": 150,
        "total_tokens": 460,
        "cost": 0.003,
        "errors": 1,
        "avg_latency_ms": 700,
        "more_interactions": False,
    }
    assert [(i["request_id"], i["model"], i["status"], i["latency_ms"]) for i in s2["interactions"]] == [
        (ids[2], "claude-3-5-haiku", "success", 500),
        (ids[4], "gpt-4o-mini", "error", 900),
    ]
    assert s2["interactions"][0] == {
        "request_id": ids[2],
        "created_at": "2026-01-31T23:59:59.999999+00:00",
        "endpoint": "chat",
        "provider": "anthropic",
        "model": "claude-3-5-haiku",
        "input_tokens": 300,
        "output_tokens": 150,
        "total_tokens": 450,
        "cost": 0.003,
        "latency_ms": 500,
        "status": "success",
    }
    # A range cuts sessions to their interactions in it; the totals follow.
    cut = _get(rest, seeded["a"], "/analytics/sessions", start_date="2026-02-01", end_date="2026-02-02")
    assert [(s["session_id"], s["requests"], s["cost"]) for s in cut["sessions"]] == [("s3", 1, 0), ("s2", 1, 0)]
    page = _get(rest, seeded["a"], "/analytics/sessions", limit=1, offset=1, **RANGE)
    assert [s["session_id"] for s in page["sessions"]] == ["s2"] and page["total_sessions"] == 3
    one = _get(rest, seeded["a"], "/analytics/sessions", session_id="s1")  # all time: B's s1 is not included
    assert one["total_sessions"] == 1 and one["sessions"][0]["requests"] == 2 and one["sessions"][0]["cost"] == 0.003
    assert _get(rest, seeded["a"], "/analytics/sessions", session_id="s9")["sessions"] == []  # B's session


def test_models(rest: httpx.Client, seeded) -> None:
    body = _get(rest, seeded["a"], "/analytics/models", **RANGE)
    assert [(m["provider"], m["model"], m["requests"]) for m in body["models"]] == [
        ("openai", "gpt-4o-mini", 4),
        ("anthropic", "claude-3-5-haiku", 1),
        ("openai", "dall-e-3", 1),
        ("openai", "text-embedding-3-small", 1),
        ("openai", "tts-1", 1),
    ]
    assert body["models"][0] == {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "requests": 4,
        "success_rate": 0.75,
        "errors": 1,
        "input_tokens": 710,
        "output_tokens": 350,
        "total_tokens": 1060,
        "cost": 0.003,
        "avg_latency_ms": 500,
        "p50_latency_ms": 300,  # 100 300 700 900: lower median
        "p95_latency_ms": 900,
        "avg_ttft_ms": 25,  # two streams: 20 and 30
        "streams": 2,
    }
    assert body["models"][2]["avg_ttft_ms"] == 0 and body["models"][2]["streams"] == 0
    anthropic = _get(rest, seeded["a"], "/analytics/models", provider="anthropic", **RANGE)
    assert [m["model"] for m in anthropic["models"]] == ["claude-3-5-haiku"]
    assert anthropic["models"][0]["p50_latency_ms"] == anthropic["models"][0]["p95_latency_ms"] == 500
    assert (anthropic["start_date"], anthropic["end_date"]) == ("2026-01-30", "2026-02-02")
    theirs = _get(rest, seeded["b"], "/analytics/models", **RANGE)
    assert {m["model"] for m in theirs["models"]} == {"gpt-4o-mini", "mistral-large"}
    assert next(m for m in theirs["models"] if m["model"] == "gpt-4o-mini")["requests"] == 1


# --- validation and authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("/analytics/usage", {"start_date": "2026-02-30"}, "start_date"),
        ("/analytics/usage", {"end_date": "yesterday"}, "end_date"),
        ("/analytics/usage", {"start_date": "2026-1-5"}, "start_date"),
        ("/analytics/usage", {"start_date": "2026-02-02", "end_date": "2026-02-01"}, "start_date"),
        ("/analytics/usage", {"group_by": "user_id"}, "group_by"),
        ("/analytics/usage", {"endpoint": "speech"}, "endpoint"),
        ("/analytics/usage", {"limit": 0}, "limit"),
        ("/analytics/usage", {"limit": 1001}, "limit"),
        ("/analytics/usage", {"offset": -1}, "offset"),
        ("/analytics/sessions", {"end_date": "2026-13-01"}, "end_date"),
        ("/analytics/sessions", {"limit": 5000}, "limit"),
        ("/analytics/models", {"start_date": "01/02/2026"}, "start_date"),
        ("/user/usage", {"end_date": "2026-02-31"}, "end_date"),
    ],
)
def test_invalid_parameters_are_422(rest: httpx.Client, seeded, path, params, loc) -> None:
    r = rest.get(path, headers=bearer(seeded["a"]), params=params)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [["query", loc]]


def test_several_problems_are_reported_together(rest: httpx.Client, seeded) -> None:
    r = rest.get(
        "/analytics/usage", headers=bearer(seeded["a"]), params={"start_date": "x", "group_by": "y", "limit": 0}
    )
    assert r.status_code == 422
    assert [e["loc"][1] for e in r.json()["detail"]] == ["start_date", "group_by", "limit"]


@pytest.mark.parametrize("path", ["/analytics/usage", "/analytics/sessions", "/analytics/models"])
def test_analytics_need_a_key(rest: httpx.Client, path: str) -> None:
    r = rest.get(path)
    assert r.status_code == 401 and r.json() == {"detail": "Not authenticated"}
