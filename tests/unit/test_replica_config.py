"""HUB_WORKERS / HUB_UPSTREAMS: which gRPC servers Envoy balances over, and the cluster rendered for them
(checked by the real Envoy binary in validate mode)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.config import Settings, parse_upstreams
from server.envoy_config import envoy_binary, envoy_command, render


def test_upstreams_parse_hosts_ipv6_and_refuse_malformed_entries() -> None:
    assert parse_upstreams(" 10.0.0.5:50051, api.internal:7000,[::1]:50052 ,") == [
        ("10.0.0.5", 50051),
        ("api.internal", 7000),
        ("::1", 50052),
    ]
    assert parse_upstreams(None) == []
    for bad in ("10.0.0.5", "host:", ":50051", "host:0", "host:70000", "host:port"):
        with pytest.raises(ValueError, match="not host:port"):
            parse_upstreams(bad)
    with pytest.raises(ValidationError):
        Settings(upstreams="nohost")
    with pytest.raises(ValidationError):
        Settings(workers=-1)


def test_local_workers_get_consecutive_ports_and_upstreams_replace_the_default_worker() -> None:
    assert Settings(grpc_port=6000).grpc_upstreams() == [("127.0.0.1", 6000)]
    assert Settings(grpc_port=6000, workers=3).grpc_upstreams() == [
        ("127.0.0.1", 6000),
        ("127.0.0.1", 6001),
        ("127.0.0.1", 6002),
    ]
    remote = Settings(upstreams="10.0.0.7:50051,10.0.0.8:50051")
    assert remote.local_workers() == 0
    assert remote.grpc_upstreams() == [("10.0.0.7", 50051), ("10.0.0.8", 50051)]
    both = Settings(grpc_port=6000, workers=1, upstreams="10.0.0.7:50051")
    assert both.grpc_upstreams() == [("127.0.0.1", 6000), ("10.0.0.7", 50051)]


def _cluster(text: str) -> str:
    return text[text.index("  clusters:") :]


def test_rendered_cluster_lists_every_server_with_least_request_and_envoy_accepts_it() -> None:
    out = Path(tempfile.mkdtemp(prefix="hub-envoy-"))
    path = render(Settings(http_port=18080, grpc_port=6000, workers=2), out)
    cluster = _cluster(path.read_text())
    assert "lb_policy: LEAST_REQUEST" in cluster and "type: STATIC" in cluster
    assert "port_value: 6000" in cluster and "port_value: 6001" in cluster
    assert "grpc_health_check" in cluster
    named = render(Settings(http_port=18081, workers=0, upstreams="localhost:7000,[::1]:7001"), out)
    cluster = _cluster(named.read_text())
    assert "type: STRICT_DNS" in cluster  # a host name is resolved by Envoy
    assert "address: 'localhost', port_value: 7000" in cluster and "address: '::1', port_value: 7001" in cluster
    for config in (path, named):
        checked = subprocess.run(
            [envoy_binary(), "--mode", "validate", "-c", str(config), "--log-level", "error"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_nothing_to_route_to_is_an_error() -> None:
    with pytest.raises(ValueError, match="HUB_WORKERS"):
        render(Settings(workers=0), Path(tempfile.mkdtemp(prefix="hub-envoy-")))


def _concurrency(command: list[str]) -> int:
    return int(command[command.index("--concurrency") + 1])


def test_envoy_gets_one_worker_thread_per_two_grpc_servers_unless_configured(monkeypatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    config = Path("/tmp/envoy.yaml")
    assert _concurrency(envoy_command(Settings(), config)) == 1  # the default single server
    assert _concurrency(envoy_command(Settings(workers=2), config)) == 1
    assert _concurrency(envoy_command(Settings(workers=3), config)) == 2
    assert _concurrency(envoy_command(Settings(workers=2, upstreams="10.0.0.7:50051,10.0.0.8:50051"), config)) == 2
    assert _concurrency(envoy_command(Settings(workers=16), config)) == 4  # never more than the cores
    assert _concurrency(envoy_command(Settings(), config, [("127.0.0.1", p) for p in range(5000, 5005)])) == 3
    assert _concurrency(envoy_command(Settings(workers=16, envoy_concurrency=7), config)) == 7
    command = envoy_command(Settings(http_port=18123), config)
    assert command[0] == envoy_binary() and command[command.index("-c") + 1] == str(config)
    assert command[command.index("--base-id") + 1] == "18123"
    with pytest.raises(ValidationError):
        Settings(envoy_concurrency=0)
