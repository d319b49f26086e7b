"""What `make run` becomes once everything is prepared: it starts the given commands in order, and when one of
them exits, or on SIGINT / SIGTERM, stops them all (in reverse order) and waits for them.

It imports nothing of the server: `server.runner` prepares the commands (which needs most of the server's
modules, about 100 MB) and then replaces itself with this process (a few MB)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def supervise(commands: list[dict]) -> int:
    """Each command is {"argv": [...], "env": {...}} (env added to this process's). Exit status 0 when asked
    to stop, 1 when a child exited by itself."""
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    procs = [subprocess.Popen(c["argv"], env={**os.environ, **c.get("env", {})}) for c in commands]
    while not stopping and all(p.poll() is None for p in procs):
        time.sleep(0.2)
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in reversed(procs):
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(supervise(json.loads(sys.argv[1])))
