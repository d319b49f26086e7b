"""One gateway (fake providers + server + Envoy) per test worker; each test makes its own users."""

from __future__ import annotations

import itertools
import os
import uuid

import httpx
import pytest

from tests.harness import Gateway, start_gateway

_counter = itertools.count()


@pytest.fixture(scope="session")
def gateway() -> Gateway:
    gw = start_gateway()
    yield gw
    gw.close()


@pytest.fixture
def make_user(gateway: Gateway):
    """Creates a fresh user; returns (user_id, api_key)."""

    def make(credits: float = 10.0) -> tuple[int, str]:
        email = f"u{os.getpid()}-{next(_counter)}-{uuid.uuid4().hex[:6]}@example.com"
        return gateway.create_user(email, credits)

    return make


@pytest.fixture
def rest(gateway: Gateway):
    with httpx.Client(base_url=gateway.api, timeout=30) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
