"""`make run`: the local server processes and Envoy as child processes (run by `server.supervise`); Ctrl-C
(or any one dying) stops all.

HUB_WORKERS=N starts N server processes, process i on its own port HUB_GRPC_PORT + i (no shared port), and
Envoy balances over them by least requests. HUB_UPSTREAMS=host:port,... adds servers on other machines; with
it and without HUB_WORKERS, only Envoy runs here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from server.config import Settings
from server.envoy_config import envoy_command, render


def server_commands(settings: Settings) -> list[dict]:
    """Migrates once, then the commands of the local workers, each on its own port; they elect the video poller."""
    workers = settings.local_workers()
    if not workers:
        return []
    subprocess.run([sys.executable, "-m", "server", "migrate"], check=True)
    return [
        {"argv": [sys.executable, "-m", "server", "serve", "--no-migrate"], "env": {"HUB_GRPC_PORT": str(port)}}
        for port in range(settings.grpc_port, settings.grpc_port + workers)
    ]


def run_all(settings: Settings) -> int:
    """Prepares the server and Envoy commands, then becomes `server.supervise`, which runs them (this process's
    imports are not kept alive for as long as the servers run)."""
    config = render(settings, settings.data_dir / "envoy")
    commands = server_commands(settings)
    commands.append({"argv": envoy_command(settings, config)})
    print(f"REST (Envoy):  http://{settings.host}:{settings.http_port}/api/v1/user/health", flush=True)
    for host, port in settings.grpc_upstreams():
        print(f"gRPC (server): {host}:{port}", flush=True)
    print("(Ctrl-C stops everything started here)", flush=True)
    print("AdminService token: `python -m server admin-token`", flush=True)
    os.execv(sys.executable, [sys.executable, "-m", "server.supervise", json.dumps(commands)])
    return 1  # not reached
