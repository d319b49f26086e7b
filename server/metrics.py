"""Prometheus metrics (prometheus-client), exported on HUB_METRICS_PORT when it is set.

Counted where outcomes are final (billing.settle), so every request is counted exactly once."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

REQUESTS = Counter("hub_requests_total", "Gateway requests by outcome", ["endpoint", "provider", "status"])
LATENCY = Histogram(
    "hub_request_duration_seconds",
    "Wall time of gateway requests",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
TOKENS = Counter("hub_tokens_total", "Tokens processed", ["provider", "direction"])
CHARGED = Counter("hub_charged_usd_total", "USD charged to users' credits", ["provider"])


def observe(
    endpoint: str, provider: str, status: str, duration_ms: float, tokens_in: int, tokens_out: int, charge_usd: float
) -> None:
    REQUESTS.labels(endpoint, provider, status).inc()
    LATENCY.labels(endpoint).observe(duration_ms / 1000)
    if tokens_in:
        TOKENS.labels(provider, "input").inc(tokens_in)
    if tokens_out:
        TOKENS.labels(provider, "output").inc(tokens_out)
    if charge_usd:
        CHARGED.labels(provider).inc(charge_usd)


def serve(port: int, host: str) -> None:
    start_http_server(port, addr=host)
