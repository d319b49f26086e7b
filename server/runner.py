"""`make run`: the gRPC server and Envoy as two child processes; Ctrl-C (or either one dying) stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from server.config import Settings
from server.envoy_config import envoy_binary, render


def server_processes(workers: int) -> list[subprocess.Popen]:
    """Migrates once, then starts `workers` server processes sharing the gRPC port (SO_REUSEPORT); only the
    first polls video jobs."""
    subprocess.run([sys.executable, "-m", "server", "migrate"], check=True)
    procs = []
    for index in range(workers):
        env = {**os.environ, "HUB_WORKERS": str(workers)}
        if index:
            env["HUB_VIDEO_WORKER"] = "false"
        procs.append(subprocess.Popen([sys.executable, "-m", "server", "serve", "--no-migrate"], env=env))
    return procs


def run_all(settings: Settings) -> int:
    config = render(settings, settings.data_dir / "envoy")
    servers = server_processes(int(os.environ.get("HUB_WORKERS", "1")))
    envoy = subprocess.Popen(
        [envoy_binary(), "-c", str(config), "--log-level", "warn", "--base-id", str(settings.http_port)]
    )
    print(f"REST (Envoy):  http://{settings.host}:{settings.http_port}/api/v1/user/health", flush=True)
    print(f"gRPC (server): {settings.host}:{settings.grpc_port}   (Ctrl-C stops both)", flush=True)
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
