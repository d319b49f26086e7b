"""Starts the real thing for end-to-end tests and benchmarks: fake providers, the gRPC server and Envoy,
as separate processes on free loopback ports with a fresh SQLite file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gen"))

from indoxhub.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402

from server.config import Settings  # noqa: E402
from server.envoy_config import envoy_binary, render  # noqa: E402

PROVIDER_IDS = ("openai", "mistral", "deepseek", "xai", "groq", "local", "anthropic", "google")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up in {timeout}s: {last}")


@dataclass
class Gateway:
    workdir: Path
    http_port: int
    grpc_port: int
    fake_port: int
    env: dict[str, str]
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def api(self) -> str:
        return f"{self.base}/api/v1"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def fake_base(self) -> str:
        return f"http://127.0.0.1:{self.fake_port}"

    @property
    def admin_auth(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata with the admin token the server generated into its data directory."""
        return (("authorization", f"Bearer {(self.workdir / 'admin_token').read_text().strip()}"),)

    def create_user(self, email: str, credits: float = 10.0) -> tuple[int, str]:
        """(user_id, api_key) through the AdminService over gRPC."""
        with grpc.insecure_channel(self.grpc_target) as channel:
            reply = admin_pb2_grpc.AdminServiceStub(channel).CreateUser(
                admin_pb2.CreateUserRequest(email=email, credits=credits), metadata=self.admin_auth
            )
        return reply.user_id, reply.api_key

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "server", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )

    def start_server(self) -> None:
        """Starts HUB_WORKERS server processes (one by default) on the migrated database, as `make run` does."""
        log = open(self.workdir / "server.log", "ab")
        workers = int(self.env.get("HUB_WORKERS", "1"))
        self.server_procs = []
        for index in range(workers):
            env = {**self.env, "HUB_VIDEO_WORKER": "false"} if index else self.env
            proc = subprocess.Popen(
                [sys.executable, "-m", "server", "serve", "--no-migrate"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
            self.procs.append(proc)
            self.server_procs.append(proc)
        _wait(lambda: httpx.get(f"{self.api}/user/health", timeout=1).status_code == 200, "gateway", timeout=60)
        if workers > 1:
            time.sleep(1.5)  # let the other processes finish starting too
        self.server_proc = self.server_procs[0]

    def stop_server(self) -> None:
        for proc in self.server_procs:
            proc.terminate()
        for proc in self.server_procs:
            proc.wait(timeout=15)
            self.procs.remove(proc)

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_gateway(extra_env: dict[str, str] | None = None, fake_providers: bool = True) -> Gateway:
    workdir = Path(tempfile.mkdtemp(prefix="hub-"))
    http_port, grpc_port, fake_port = free_port(), free_port(), free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("HUB_") and not k.endswith(("_API_KEY", "_BASE_URL"))
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hub.db'}",
            "HUB_DATA_DIR": str(workdir),
            "HUB_HTTP_PORT": str(http_port),
            "HUB_GRPC_PORT": str(grpc_port),
            "HUB_UPSTREAM_RETRIES": "2",
            "HUB_UPSTREAM_READ_TIMEOUT": "3",
        }
    )
    if fake_providers:
        fake = f"http://127.0.0.1:{fake_port}"
        for pid in PROVIDER_IDS:
            env[f"{pid.upper()}_API_KEY"] = f"sk-test-{pid}"
            env[f"{pid.upper()}_BASE_URL"] = fake if pid in ("anthropic", "google") else f"{fake}/v1"
    env.update(extra_env or {})
    gw = Gateway(workdir, http_port, grpc_port, fake_port, env)
    try:
        if fake_providers:
            log = open(workdir / "fake.log", "ab")
            gw.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tests.fakes.providers", "--port", str(fake_port)],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=log,
                )
            )
            _wait(lambda: httpx.get(f"{gw.fake_base}/__stats", timeout=1).status_code == 200, "fake providers")
        subprocess.run([sys.executable, "-m", "server", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        settings = Settings(http_port=http_port, grpc_port=grpc_port)
        config = render(settings, workdir)
        log = open(workdir / "envoy.log", "ab")
        gw.procs.append(
            subprocess.Popen(
                [envoy_binary(), "-c", str(config), "--log-level", "warn", "--base-id", str(http_port)],
                stdout=log,
                stderr=log,
            )
        )
        gw.start_server()
    except Exception:
        gw.close()
        raise
    return gw


def fake_requests(gw: Gateway) -> list[dict]:
    return httpx.get(f"{gw.fake_base}/__requests", timeout=5).json()


def dump(obj: object) -> str:
    return json.dumps(obj, indent=2)
