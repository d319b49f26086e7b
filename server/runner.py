"""`make run`: the gRPC server and Envoy as two child processes; Ctrl-C (or either one dying) stops both."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from server.config import Settings
from server.envoy_config import envoy_binary, render


def run_all(settings: Settings) -> int:
    config = render(settings, settings.data_dir / "envoy")
    server = subprocess.Popen([sys.executable, "-m", "server", "serve"])
    envoy = subprocess.Popen(
        [envoy_binary(), "-c", str(config), "--log-level", "warn", "--base-id", str(settings.http_port)]
    )
    print(f"REST (Envoy):  http://{settings.host}:{settings.http_port}/api/v1/user/health", flush=True)
    print(f"gRPC (server): {settings.host}:{settings.grpc_port}   (Ctrl-C stops both)", flush=True)
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and server.poll() is None and envoy.poll() is None:
        time.sleep(0.2)
    for proc in (envoy, server):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in (envoy, server):
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0 if stopping else 1
