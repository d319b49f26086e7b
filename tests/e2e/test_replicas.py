"""Several server processes behind one Envoy (HUB_WORKERS / replicas): each on its own port, balanced by least
requests; stop-stream and revocation reach every replica; exactly one replica polls video jobs."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import bearer
from tests.harness import Gateway, start_gateway

CHAT = {"model": "openai/gpt-4o-mini", "max_tokens": 50}


@pytest.fixture(scope="module")
def sqlite_replicas() -> Iterator[Gateway]:
    gw = start_gateway(workers=3, metrics=True)
    yield gw
    gw.close()


def parallel(n: int, fn) -> list:
    out: list = [None] * n

    def one(i: int) -> None:
        out[i] = fn(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_envoy_spreads_requests_over_every_replica(sqlite_replicas: Gateway) -> None:
    gw = sqlite_replicas
    _, key = gw.create_user("spread@example.com", credits=10)
    before = [gw.served_requests(i) for i in range(3)]

    def chat(i: int) -> int:
        body = {**CHAT, "messages": [{"role": "user", "content": f"spread {i} [[slow:0.3]]"}]}
        return httpx.post(f"{gw.api}/chat/completions", headers=bearer(key), json=body, timeout=30).status_code

    assert parallel(12, chat) == [200] * 12
    served = [gw.served_requests(i) - before[i] for i in range(3)]
    assert sum(served) == 12
    assert all(n >= 1 for n in served), served
