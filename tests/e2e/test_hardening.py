"""Issue 13: one bad request never hurts another user, bad input is never a 5xx, limits and timeouts hold."""

from __future__ import annotations

import httpx

from tests.e2e.bystanders import bystanders
from tests.e2e.conftest import bearer
from tests.harness import Gateway


def test_huge_model_name_is_not_echoed_and_cuts_no_stream(gateway: Gateway, rest: httpx.Client, make_user) -> None:
    _, key = make_user()
    huge = "x" * 100_000
    with bystanders(gateway, make_user, chunks=40, delay=0.05):
        for field in ("model", "provider"):
            for _ in range(3):
                body = {"messages": [{"role": "user", "content": "hi"}], "model": f"openai/{huge}"}
                if field == "provider":
                    body["model"] = f"{huge}/gpt-4o-mini"
                r = rest.post("/chat/completions", headers=bearer(key), json=body)
                assert r.status_code == 404, r.text[:300]
                assert len(r.content) < 1_000 and r.json()["detail"].endswith("...")
