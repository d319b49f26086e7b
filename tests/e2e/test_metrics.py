"""Prometheus metrics count every settled request once."""

from __future__ import annotations

import time

import httpx

from tests.e2e.conftest import bearer
from tests.harness import free_port, start_gateway


def _sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            got = ",".join(sorted(line[line.index("{") + 1 : line.index("}")].split(",")))
            if got == wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_endpoint_counts_requests_and_tokens() -> None:
    port = free_port()
    gw = start_gateway(extra_env={"HUB_METRICS_PORT": str(port)})
    try:
        _, key = gw.create_user("metrics@example.com", 5)
        body = {"messages": [{"role": "user", "content": "metrics please"}], "model": "openai/gpt-4o-mini"}
        for _ in range(3):
            assert httpx.post(f"{gw.api}/chat/completions", headers=bearer(key), json=body).status_code == 200
        failing = {**body, "messages": [{"role": "user", "content": "no [[status:500]]"}]}
        assert httpx.post(f"{gw.api}/chat/completions", headers=bearer(key), json=failing).status_code == 502
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert _sample(text, "hub_requests_total", endpoint="chat", provider="openai", status="success") == 3
        assert _sample(text, "hub_requests_total", endpoint="chat", provider="openai", status="error") == 1
        assert _sample(text, "hub_tokens_total", provider="openai", direction="output") > 0
        assert _sample(text, "hub_charged_usd_total", provider="openai") > 0
        assert _sample(text, "hub_ledger_batch_operations_count", path="loop") >= 2 * 3  # reserve + settle
    finally:
        gw.close()


def test_queue_wait_is_measured_from_envoys_stamp_which_a_caller_cannot_forge() -> None:
    port = free_port()
    gw = start_gateway(extra_env={"HUB_METRICS_PORT": str(port)})
    try:
        _, key = gw.create_user("queue@example.com", 5)
        body = {"messages": [{"role": "user", "content": "queue"}], "model": "openai/gpt-4o-mini"}

        def queue_wait() -> float:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            lines = text.splitlines()
            return next(float(line.split()[1]) for line in lines if line.startswith("hub_queue_wait_seconds "))

        assert queue_wait() == 0
        for _ in range(4):  # the OpenAI surface authenticates on its own path: it is measured too
            assert httpx.post(f"{gw.base}/v1/chat/completions", headers=bearer(key), json=body).status_code == 200
        assert queue_wait() > 0
        forged = {**bearer(key), "x-hub-received-at": f"{time.time() - 50:.6f}"}  # "I waited 50 s"
        for _ in range(8):
            assert httpx.post(f"{gw.api}/chat/completions", headers=forged, json=body).status_code == 200
        # Envoy's own stamp replaced the caller's: milliseconds of real waiting, not 50 s (8 requests at a
        # weight of 1/32 would have averaged 11 s)
        assert 0 < queue_wait() < 1
    finally:
        gw.close()
