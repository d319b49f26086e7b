"""Clients in another language: the official `openai` npm package and a @grpc/grpc-js client (tests/node/*.mjs,
run with Node's test runner) against the real stack. Node and its packages come from `npm ci` (make setup)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.harness import ROOT, Gateway


def run_node(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    assert node, "node is required (README: Needs)"
    return subprocess.run(
        [node, "--test", "--test-reporter=tap", str(ROOT / "tests" / "node" / script)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize("script", ["openai_sdk.mjs", "grpc_client.mjs"])
def test_node_clients(gateway: Gateway, make_user, script: str) -> None:
    _, key = make_user(credits=5)
    _, broke = make_user(credits=0)
    env = {
        "HUB_BASE": gateway.base,
        "HUB_GRPC": gateway.grpc_target,
        "HUB_KEY": key,
        "HUB_BROKE_KEY": broke,
        "HUB_ROOT": str(ROOT),
    }
    done = run_node(script, env)
    assert done.returncode == 0, done.stdout + done.stderr
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.M)
    assert "\n# fail 0\n" in done.stdout and passed and int(passed.group(1)) > 0, done.stdout
