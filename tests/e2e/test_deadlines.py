"""Deadlines (issue 13, defect 6): HUB_UPSTREAM_TOTAL_TIMEOUT bounds a call including retries,
HUB_STREAM_IDLE_TIMEOUT the gap between stream chunks; each expiry is a clean 504 naming the provider, costing 0."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.conftest import bearer
from tests.e2e.test_chat import balance_nanos, sse_events, usage_rows
from tests.harness import Gateway, start_gateway


@pytest.fixture(scope="module")
def short_deadlines() -> Gateway:
    gw = start_gateway(
        {
            "HUB_UPSTREAM_READ_TIMEOUT": "30",
            "HUB_UPSTREAM_TOTAL_TIMEOUT": "1.5",
            "HUB_STREAM_IDLE_TIMEOUT": "1",
        }
    )
    yield gw
    gw.close()


def _body(content: str, **fields) -> dict:
    return {"messages": [{"role": "user", "content": content}], "model": "openai/gpt-4o-mini", **fields}


def test_total_timeout_bounds_a_hanging_provider(short_deadlines: Gateway) -> None:
    gw = short_deadlines
    user_id, key = gw.create_user("total@example.com", 5)
    before = balance_nanos(gw, user_id)
    with httpx.Client(base_url=gw.api, timeout=30) as rest:
        started = time.monotonic()
        r = rest.post("/chat/completions", headers=bearer(key), json=_body("wait [[hang]]"))
        elapsed = time.monotonic() - started
        assert r.status_code == 504 and "openai" in r.json()["detail"] and "HUB_UPSTREAM_TOTAL_TIMEOUT" in r.text
        assert 1.4 < elapsed < 5, elapsed  # the read timeout (30 s) never came into play
        # retries of a flaky provider count against the same deadline
        r = rest.post("/chat/completions", headers=bearer(key), json=_body("flaky [[flaky:9]] [[hang]]"))
        assert r.status_code in (503, 504)
    assert balance_nanos(gw, user_id) == before
    assert [row["status"] for row in usage_rows(gw, user_id)] == ["error", "error"]


def test_stream_idle_timeout_before_output_is_a_504(short_deadlines: Gateway) -> None:
    gw = short_deadlines
    user_id, key = gw.create_user("idle-before@example.com", 5)
    before = balance_nanos(gw, user_id)
    with httpx.Client(base_url=gw.api, timeout=30) as rest:
        r = rest.post("/chat/completions", headers=bearer(key), json=_body("x [[slow:3]]", stream=True))
    assert r.status_code == 504 and "openai" in r.json()["detail"] and "HUB_STREAM_IDLE_TIMEOUT" in r.text
    assert balance_nanos(gw, user_id) == before


def test_stream_idle_timeout_after_output_is_an_error_event_and_costs_nothing(short_deadlines: Gateway) -> None:
    gw = short_deadlines
    user_id, key = gw.create_user("idle-after@example.com", 5)
    before = balance_nanos(gw, user_id)
    with (
        httpx.Client(base_url=gw.api, timeout=30) as rest,
        rest.stream(
            "POST", "/chat/completions", headers=bearer(key), json=_body("one two three [[stall:4]]", stream=True)
        ) as r,
    ):
        assert r.status_code == 200
        events = sse_events(r)
    assert any(isinstance(e, dict) and e.get("type") == "response.content_part.delta" for e in events)
    [error] = [e for e in events if isinstance(e, dict) and "error" in e]
    assert error["error"]["code"] == 504 and error["error"]["provider"] == "openai"
    assert events[-1] == "[DONE]"
    assert balance_nanos(gw, user_id) == before
    [row] = usage_rows(gw, user_id)
    assert row["status"] == "error" and row["cost_nanos"] == 0
