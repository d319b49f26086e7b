"""`make run`: the local server processes and Envoy as child processes; Ctrl-C (or any one dying) stops all.

HUB_WORKERS=N starts N server processes, process i on its own port HUB_GRPC_PORT + i (no shared port), and
Envoy balances over them by least requests. HUB_UPSTREAMS=host:port,... adds servers on other machines; with
it and without HUB_WORKERS, only Envoy runs here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from server.config import Settings
from server.envoy_config import envoy_binary, render


def server_processes(settings: Settings) -> list[subprocess.Popen]:
    """Migrates once, then starts the local workers, each on its own port; they elect the video poller."""
    workers = settings.local_workers()
    if not workers:
        return []
    subprocess.run([sys.executable, "-m", "server", "migrate"], check=True)
    return [
        subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--no-migrate"],
            env={**os.environ, "HUB_GRPC_PORT": str(settings.grpc_port + index)},
        )
        for index in range(workers)
    ]


def run_all(settings: Settings) -> int:
    config = render(settings, settings.data_dir / "envoy")
    servers = server_processes(settings)
    envoy = subprocess.Popen(
        [envoy_binary(), "-c", str(config), "--log-level", "warn", "--base-id", str(settings.http_port)]
    )
    print(f"REST (Envoy):  http://{settings.host}:{settings.http_port}/api/v1/user/health", flush=True)
    for host, port in settings.grpc_upstreams():
        print(f"gRPC (server): {host}:{port}", flush=True)
    print("(Ctrl-C stops everything started here)", flush=True)
    print("AdminService token: `python -m server admin-token`", flush=True)
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and envoy.poll() is None and all(p.poll() is None for p in servers):
        time.sleep(0.2)
    for proc in (envoy, *servers):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in (envoy, *servers):
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0 if stopping else 1
