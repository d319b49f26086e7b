"""A bounded, seeded property-based fuzz of every REST route through Envoy (schemathesis on gen/openapi.json):
no answer is a 5xx, every 4xx has a `detail`, and five other users' streams complete meanwhile, every time."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, seed, settings
from schemathesis import GenerationMode

from tests.e2e.bystanders import Bystanders
from tests.harness import ROOT, Gateway

EXAMPLES = 60  # per operation and generation mode budget: 37 operations, about 2,200 requests in all
SCHEMA = schemathesis.openapi.from_path(ROOT / "gen" / "openapi.json")
SCHEMA.config.generation.update(modes=list(GenerationMode), max_examples=EXAMPLES, no_shrink=True)
# Deleting the account would end the fuzzing user's session; its effect is covered by test_user_api.
SCHEMA = SCHEMA.exclude(path="/api/v1/user/account", method="DELETE")


@pytest.fixture(scope="module")
def fuzz_target(gateway: Gateway):
    """The fuzzing user's key while five other users stream, from the first case of this worker to its last."""
    _, key = gateway.create_user(f"fuzz-{id(gateway)}@example.com", credits=1000)
    crowd = Bystanders(
        gateway,
        [gateway.create_user(f"by-{i}-{id(gateway)}@example.com", 5)[1] for i in range(5)],
        chunks=20,
        delay=0.05,
        continuous=True,
    )
    crowd.start()
    yield key
    results = crowd.finish()
    assert results == ["ok"] * 5, results


@SCHEMA.parametrize()
@seed(20261201)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_fuzz_every_route(case, gateway: Gateway, fuzz_target: str) -> None:
    headers = {"Authorization": f"Bearer {fuzz_target}"}
    response = case.call(base_url=gateway.base, headers=headers, timeout=30)
    where = f"{case.as_curl_command(headers=headers)}\n -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500, where
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and "detail" in body, where
