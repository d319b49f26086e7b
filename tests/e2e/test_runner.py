"""`make run` (python -m server run): HUB_WORKERS=2 starts two server processes on consecutive ports behind
Envoy; HUB_UPSTREAMS starts only Envoy, in front of servers elsewhere; Ctrl-C (SIGTERM) stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.harness import ROOT, _wait, free_port, grpc_serving


def _two_free_ports() -> int:
    """A port p with p + 1 free too."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


def _children(pid: int) -> list[str]:
    """Command names of the direct children of pid."""
    names = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            names.append(Path(f"/proc/{child}/comm").read_text().strip())
    return names


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _run(env: dict[str, str], log: Path) -> subprocess.Popen:
    out = open(log, "ab")
    return subprocess.Popen([sys.executable, "-m", "server", "run"], cwd=ROOT, env=env, stdout=out, stderr=out)


def test_workers_on_their_own_ports_and_an_envoy_for_remote_upstreams() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="hub-run-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    base.update({"PYTHONPATH": str(ROOT), "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hub.db'}"})
    grpc_port, http_a, http_b = _two_free_ports(), free_port(), free_port()
    local = {**base, "HUB_DATA_DIR": str(workdir / "a"), "HUB_HTTP_PORT": str(http_a), "HUB_GRPC_PORT": str(grpc_port)}
    runners = [_run({**local, "HUB_WORKERS": "2"}, workdir / "a.log")]
    try:
        for port in (grpc_port, grpc_port + 1):
            _wait(lambda p=port: grpc_serving(f"127.0.0.1:{p}"), f"worker on {port}", timeout=60)
        _wait(lambda: httpx.get(f"http://127.0.0.1:{http_a}/api/v1/user/health").status_code == 200, "envoy a")
        assert sorted(_children(runners[0].pid)) == ["envoy", "python", "python"]
        assert _rss_mb(runners[0].pid) < 40  # the supervisor keeps none of the server's modules alive

        upstreams = f"127.0.0.1:{grpc_port},127.0.0.1:{grpc_port + 1}"
        remote = {**base, "HUB_DATA_DIR": str(workdir / "b"), "HUB_HTTP_PORT": str(http_b), "HUB_UPSTREAMS": upstreams}
        runners.append(_run(remote, workdir / "b.log"))
        _wait(lambda: httpx.get(f"http://127.0.0.1:{http_b}/api/v1/user/health").status_code == 200, "envoy b")
        assert _children(runners[1].pid) == ["envoy"]  # no server process of its own
        r = httpx.get(f"http://127.0.0.1:{http_b}/api/v1/user/me", headers={"Authorization": "Bearer ihk_nope"})
        assert r.status_code == 401  # answered by one of the other runner's servers
    finally:
        for runner in runners:
            runner.send_signal(signal.SIGTERM)
        codes = [runner.wait(timeout=30) for runner in runners]
    assert codes == [0, 0]  # each runner waited for its children
