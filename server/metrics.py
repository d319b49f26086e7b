"""Prometheus metrics (prometheus-client), exported on HUB_METRICS_PORT when it is set.

Counted where outcomes are final (billing.settle), so every request is counted exactly once."""

from __future__ import annotations

from functools import lru_cache

from prometheus_client import Counter, Gauge, Histogram, start_http_server

REQUESTS = Counter("hub_requests_total", "Gateway requests by outcome", ["endpoint", "provider", "status"])
LATENCY = Histogram(
    "hub_request_duration_seconds",
    "Wall time of gateway requests",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
TOKENS = Counter("hub_tokens_total", "Tokens processed", ["provider", "direction"])
CHARGED = Counter("hub_charged_usd_total", "USD charged to users' credits", ["provider"])
LEDGER_BATCH = Histogram(
    "hub_ledger_batch_operations",
    "Ledger operations committed per transaction (group commit: larger batches share one commit)",
    ["path"],  # "loop": the event loop's own connection; "thread": the ledger thread
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
LEDGER_LOCKED = Counter(
    "hub_ledger_locked_batches_total",
    "Inline ledger batches that found the SQLite write lock taken (another process or a checkpoint)",
    ["then"],  # "retry": tried again on the loop a little later; "thread": handed to the ledger thread
)
# Read when scraped (set_function in server.app), so requests pay nothing for it.
QUEUE_WAIT = Gauge(
    "hub_queue_wait_seconds",
    "Moving average of how long requests waited between Envoy receiving them and their handler starting",
)


@lru_cache(maxsize=4096)
def _children(endpoint: str, provider: str, status: str) -> tuple:
    """The labelled series one kind of outcome updates, looked up once (`labels()` costs a lock and a dict
    lookup per call, five times per request)."""
    return (
        REQUESTS.labels(endpoint, provider, status),
        LATENCY.labels(endpoint),
        TOKENS.labels(provider, "input"),
        TOKENS.labels(provider, "output"),
        CHARGED.labels(provider),
    )


def observe(
    endpoint: str, provider: str, status: str, duration_ms: float, tokens_in: int, tokens_out: int, charge_usd: float
) -> None:
    requests, latency, tokens_input, tokens_output, charged = _children(endpoint, provider, status)
    requests.inc()
    latency.observe(duration_ms / 1000)
    if tokens_in:
        tokens_input.inc(tokens_in)
    if tokens_out:
        tokens_output.inc(tokens_out)
    if charge_usd:
        charged.inc(charge_usd)


def serve(port: int, host: str) -> None:
    start_http_server(port, addr=host)
