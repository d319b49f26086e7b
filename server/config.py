"""Settings from environment variables (all listed in the README), read once with pydantic-settings."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_JWT_SECRET = 32  # bytes: HS256 wants a key at least as long as its hash (RFC 7518, 3.2)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./data/hub.db"
    data_dir: Path = Path("./data")  # generated Envoy config, the default JWT secret
    host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_port: int = 8080
    metrics_port: int | None = None  # Prometheus /metrics on HUB_HOST:HUB_METRICS_PORT when set
    # Signs access tokens from /auth/*. Unset: a random secret kept in data/jwt_secret (one machine).
    jwt_secret: str | None = None
    access_token_ttl_seconds: int = 3600
    # AdminService callers must send `authorization: Bearer <this>`. Unset: a random token kept in
    # data/admin_token (`python -m server admin-token` prints it). AdminService is never open.
    admin_token: str | None = None
    catalog_dir: str | None = None
    video_poll_seconds: float = 10.0
    # Unset: the replicas elect one video poller (advisory lock / file lock). true/false forces it on/off here.
    video_worker: bool | None = None
    log_content: bool = False  # store request/response content for analytics (off by default)
    upstream_retries: int = 2
    upstream_connect_timeout: float = 5.0
    upstream_read_timeout: float = 120.0  # longest silence between two bytes of an answer
    upstream_total_timeout: float = 300.0  # one upstream call including retries (a stream: until accepted)
    stream_idle_timeout: float = 120.0  # longest gap between two events of a provider's stream
    max_body_bytes: int = 25 * 1024 * 1024
    # Group commit under load (server.db.ledger): while requests queue and the event loop is CPU-bound, a batch
    # of ledger operations waits up to this long (a quarter of how long requests queue) for more. 0: off.
    ledger_commit_delay_ms: float = 15.0
    # Server processes `make run` starts here, process i on HUB_GRPC_PORT + i. Unset: 1, or 0 with HUB_UPSTREAMS.
    workers: int | None = None
    # "host:port,host:port": gRPC servers elsewhere that Envoy balances over too (besides the local workers).
    upstreams: str | None = None
    # Envoy's worker threads. Unset: one per two gRPC servers it balances over (at most one per core): a worker
    # transcodes a few thousand requests/s, several times what a server process serves, and every worker holds
    # its own HTTP/2 connection to each server, so more workers only split the servers' traffic into more
    # connections and compete with them for cores (server.envoy_config.envoy_command).
    envoy_concurrency: int | None = None

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) < MIN_JWT_SECRET:
            raise ValueError(f"HUB_JWT_SECRET must be at least {MIN_JWT_SECRET} bytes")
        return value

    @field_validator("workers")
    @classmethod
    def _workers(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError("HUB_WORKERS must not be negative")
        return value

    @field_validator("envoy_concurrency")
    @classmethod
    def _envoy_concurrency(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError("HUB_ENVOY_CONCURRENCY must be at least 1")
        return value

    @field_validator("upstreams")
    @classmethod
    def _upstreams(cls, value: str | None) -> str | None:
        parse_upstreams(value)  # raises on a malformed entry
        return value

    def local_workers(self) -> int:
        """Server processes to start on this machine: HUB_WORKERS, else 1 (0 when HUB_UPSTREAMS is set)."""
        if self.workers is not None:
            return self.workers
        return 0 if self.upstreams else 1

    def grpc_upstreams(self) -> list[tuple[str, int]]:
        """Every gRPC server Envoy balances over: the local workers' ports, then HUB_UPSTREAMS."""
        local = [(self.host, self.grpc_port + index) for index in range(self.local_workers())]
        return local + parse_upstreams(self.upstreams)

    def resolved_jwt_secret(self) -> str:
        """The configured secret, else one generated once and kept beside the database."""
        return self.jwt_secret or self._generated_secret("jwt_secret")

    def resolved_admin_token(self) -> str:
        """HUB_ADMIN_TOKEN, else one generated once into the data directory (readable by its owner only)."""
        return self.admin_token or self._generated_secret("admin_token")

    def _generated_secret(self, name: str) -> str:
        path = self.data_dir / name
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process (a second worker) created it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        return value


def parse_upstreams(value: str | None) -> list[tuple[str, int]]:
    """`host:port,[v6::addr]:port,...` -> [(host, port)]; ValueError names a malformed entry."""
    out = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"HUB_UPSTREAMS entry {item!r} is not host:port")
        out.append((host, int(port)))
    return out


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
