"""Starts the real thing for end-to-end tests and benchmarks: fake providers, the gRPC server process(es) and
Envoy, as separate processes on free loopback ports with a fresh SQLite file (or the given database).

`workers=N` starts N server processes (replicas), each on its own gRPC port, behind one Envoy that balances
over them by least requests, as `make run` does with HUB_WORKERS=N. Tests can stop, kill and restart single
replicas (`kill_replica`, `start_replica`) and talk to one directly (`grpc_targets[i]`)."""

from __future__ import annotations

import json
import os
import shutil
import signal
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

from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from indoxhub.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402

from server.config import Settings  # noqa: E402
from server.envoy_config import envoy_command, render  # noqa: E402
from server.providers import registry  # noqa: E402

PROVIDER_IDS = registry.known_providers()  # every provider of the registry gets the fake


def fake_base_url(fake: str, provider_id: str) -> str:
    """The fake's URL as `<ID>_BASE_URL`: OpenAI-format URLs include the version path, the others are hosts."""
    return f"{fake}/v1" if registry.PROVIDERS[provider_id].wire_format == registry.OPENAI else fake


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what: str, timeout: float = 60.0) -> None:  # generous: CI machines may be busy
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except RuntimeError:  # the process is gone: waiting longer cannot help
            raise
        except Exception as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up in {timeout}s: {last}")


def grpc_serving(target: str, timeout: float = 1.0) -> bool:
    """True when the server at target answers the standard health check with SERVING."""
    with grpc.insecure_channel(target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
    return reply.status == health_pb2.HealthCheckResponse.SERVING


@dataclass
class Gateway:
    workdir: Path
    http_port: int
    grpc_ports: list[int]
    fake_port: int
    env: dict[str, str]
    procs: list[subprocess.Popen] = field(default_factory=list)
    replicas: dict[int, subprocess.Popen] = field(default_factory=dict)  # replica index -> running process
    envoy: subprocess.Popen | None = None
    metrics_ports: list[int] = field(default_factory=list)  # per replica, when started with metrics=True

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def api(self) -> str:
        return f"{self.base}/api/v1"

    @property
    def grpc_port(self) -> int:
        return self.grpc_ports[0]

    @property
    def grpc_target(self) -> str:
        """The first replica (direct gRPC, not through Envoy)."""
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def grpc_targets(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.grpc_ports]

    @property
    def grpc_balanced_target(self) -> str:
        """One gRPC channel target naming every replica; use it with GRPC_ROUND_ROBIN."""
        return "ipv4:" + ",".join(self.grpc_targets)

    @property
    def fake_base(self) -> str:
        return f"http://127.0.0.1:{self.fake_port}"

    @property
    def server_procs(self) -> list[subprocess.Popen]:
        return list(self.replicas.values())

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

    def start_replica(self, index: int, wait: bool = True) -> subprocess.Popen:
        """Starts server process `index` on its own port (the migrated database) and waits until it serves."""
        log = open(self.workdir / ("server.log" if index == 0 else f"server-{index}.log"), "ab")
        env = {**self.env, "HUB_GRPC_PORT": str(self.grpc_ports[index])}
        if self.metrics_ports:
            env["HUB_METRICS_PORT"] = str(self.metrics_ports[index])
        proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--no-migrate"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        self.procs.append(proc)
        self.replicas[index] = proc
        if wait:
            self._wait_replica(index)
        return proc

    def _wait_replica(self, index: int) -> None:
        proc = self.replicas[index]

        def serving() -> bool:
            if proc.poll() is not None:
                name = "server.log" if index == 0 else f"server-{index}.log"
                tail = (self.workdir / name).read_text(errors="replace")[-3000:]
                raise RuntimeError(f"server {index} exited with {proc.returncode}:\n{tail}")
            return grpc_serving(self.grpc_targets[index])

        _wait(serving, f"server {index}", timeout=60)  # several Python processes starting on a busy machine

    def served_requests(self, index: int) -> int:
        """Requests replica `index` finished since it started (its Prometheus counter; needs metrics=True)."""
        text = httpx.get(f"http://127.0.0.1:{self.metrics_ports[index]}/metrics", timeout=5).text
        return int(sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("hub_requests_total{")))

    def kill_replica(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Stops one replica with `sig` (SIGKILL: no shutdown at all) and waits for it to exit."""
        proc = self.replicas.pop(index)
        proc.send_signal(sig)
        proc.wait(timeout=15)
        self.procs.remove(proc)

    def start_server(self) -> None:
        """Starts every replica (one unless `workers` said more), then waits for REST through Envoy."""
        for index in range(len(self.grpc_ports)):
            self.start_replica(index, wait=False)
        for index in range(len(self.grpc_ports)):
            self._wait_replica(index)
        if self.envoy is not None:
            self.wait_rest()

    def wait_rest(self) -> None:
        _wait(lambda: httpx.get(f"{self.api}/user/health", timeout=1).status_code == 200, "gateway", timeout=60)

    def stop_server(self) -> None:
        for index in list(self.replicas):
            self.kill_replica(index, signal.SIGTERM)

    def close(self) -> None:
        """Stops every process, then removes the work directory (database, logs) unless HUB_KEEP_TEST_DIRS is
        set: each run of the suite would otherwise leave some hundred of them in /tmp."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if not os.environ.get("HUB_KEEP_TEST_DIRS"):
            shutil.rmtree(self.workdir, ignore_errors=True)


GRPC_ROUND_ROBIN = (("grpc.lb_policy_name", "round_robin"),)


def start_gateway(
    extra_env: dict[str, str] | None = None,
    fake_providers: bool = True,
    workers: int | None = None,
    metrics: bool = False,
    provider_paths: bool = False,
) -> Gateway:
    """Fake providers, migration, `workers` server processes (default HUB_WORKERS in extra_env, else 1), then
    Envoy in front of all of them; returns once REST answers. `metrics`: each replica exports Prometheus
    metrics on its own port (`served_requests`). `provider_paths`: each provider's base URL gets its own path
    prefix on the fake (`/mistral/v1`), so the fake applies that provider's own validation and recorded
    requests say which provider was called."""
    workdir = Path(tempfile.mkdtemp(prefix="hub-"))
    if workers is None:
        workers = int((extra_env or {}).get("HUB_WORKERS", "1"))
    http_port, fake_port = free_port(), free_port()
    grpc_ports = [free_port() for _ in range(workers)]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("HUB_") and not k.endswith(("_API_KEY", "_BASE_URL"))
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hub.db'}",
            "HUB_DATA_DIR": str(workdir),
            "HUB_HTTP_PORT": str(http_port),
            "HUB_GRPC_PORT": str(grpc_ports[0]),
            "HUB_UPSTREAM_RETRIES": "2",
            "HUB_UPSTREAM_READ_TIMEOUT": "3",
        }
    )
    if fake_providers:
        fake = f"http://127.0.0.1:{fake_port}"
        for pid in PROVIDER_IDS:
            env[f"{pid.upper()}_API_KEY"] = f"sk-test-{pid}"
            env[f"{pid.upper()}_BASE_URL"] = fake_base_url(f"{fake}/{pid}" if provider_paths else fake, pid)
    env.update(extra_env or {})
    env.pop("HUB_WORKERS", None)
    gw = Gateway(workdir, http_port, grpc_ports, fake_port, env)
    if metrics:
        gw.metrics_ports = [free_port() for _ in grpc_ports]
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
        # Servers first: Envoy's first health-check round then finds every replica serving.
        gw.start_server()
        settings = Settings(http_port=http_port)
        upstreams = [("127.0.0.1", port) for port in grpc_ports]
        config = render(settings, workdir, upstreams=upstreams)
        log = open(workdir / "envoy.log", "ab")
        gw.envoy = subprocess.Popen(
            envoy_command(settings, config, upstreams),
            stdout=log,
            stderr=log,
        )
        gw.procs.append(gw.envoy)
        gw.wait_rest()
    except Exception:
        gw.close()
        raise
    return gw


def fake_requests(gw: Gateway) -> list[dict]:
    return httpx.get(f"{gw.fake_base}/__requests", timeout=5).json()


def dump(obj: object) -> str:
    return json.dumps(obj, indent=2)
