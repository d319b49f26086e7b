"""Gateway overhead benchmark: the same chat request sent straight to a fake upstream (baseline) and
through the gateway (REST via Envoy, and gRPC), with full metering on (auth, reservation, settlement,
usage record and ledger entry per request, on SQLite).

    .venv/bin/python -m bench.gateway [--requests N] [--concurrency 64] [--surface api|openai|both] [--limits]

`--surface openai` sends the same request to the OpenAI-compatible POST /v1/chat/completions instead of
POST /api/v1/chat/completions (`both`: each of them, in the same run).

`--grown N` then writes N earlier usage records of another user straight into the gateway's SQLite file (a
busy month: random latencies over 30 days) and measures the concurrent REST run again, so what a settlement
costs once the usage table has grown shows as a ratio to the same requests on the empty table, in the same run.

`--limits` also measures a key with every limit set (requests and tokens per minute, concurrency, a monthly
budget; all too high to refuse anything), so the cost of checking and taking them shows as a ratio to the
same requests with a key without limits (server.domain.limits).

Prints p50/p99 latency, the overhead against the direct baseline measured in the same run, requests/s
at 64 concurrent, and streaming time-to-first-token overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import subprocess
import sys
import time

import grpc
import httpx
import orjson
from google.protobuf import struct_pb2
from indoxhub.v1 import chat_pb2, chat_pb2_grpc

from bench.load import Result, request_bytes, run
from server.domain import usage_index
from tests.harness import GRPC_ROUND_ROBIN, free_port, start_gateway

BODY = {"messages": [{"role": "user", "content": "Say hello."}], "model": "openai/gpt-4o-mini", "max_tokens": 32}
# surface -> (REST path, label, a byte string only a streamed text chunk of that surface contains)
SURFACES = {
    "api": ("/api/v1/chat/completions", "/api/v1", b"content_part.delta"),
    "openai": ("/v1/chat/completions", "/v1 (OpenAI)", b'"content":"Hello'),
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def grpc_run(target: str, key: str, *, concurrency: int, total: int) -> Result:
    result = Result()
    request = chat_pb2.ChatRequest(
        messages=[chat_pb2.ChatMessage(role="user", content=struct_pb2.Value(string_value="Say hello."))],
        model="openai/gpt-4o-mini",
        max_tokens=32,
    )
    auth = (("authorization", f"Bearer {key}"),)
    remaining = [total]
    async with grpc.aio.insecure_channel(target, options=GRPC_ROUND_ROBIN) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)

        async def worker() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                start = time.perf_counter()
                try:
                    await stub.Chat(request, metadata=auth)
                except grpc.aio.AioRpcError:
                    result.errors += 1
                result.latencies_ms.append((time.perf_counter() - start) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.elapsed_s = time.perf_counter() - started
    return result


def row(name: str, res: Result, base: Result | None) -> str:
    p50, p99 = pct(res.latencies_ms, 0.5), pct(res.latencies_ms, 0.99)
    over50 = f"{p50 - pct(base.latencies_ms, 0.5):+.2f}" if base else "-"
    over99 = f"{p99 - pct(base.latencies_ms, 0.99):+.2f}" if base else "-"
    ratio = f"{res.rps / base.rps:.2f}x" if base and base.rps else "1.00x"
    cells = f"{p50:7.2f} | {p99:7.2f} | {over50:>8} | {over99:>8} | {res.rps:8.0f} | {ratio:>6} | {res.errors:6}"
    return f"| {name:<34} | {cells} |"


# Limits no benchmark run reaches: every check runs, none refuses (the window holds every request of a minute).
BENCH_LIMITS = {
    "requests_per_minute": 2**31 - 1,
    "tokens_per_minute": 2**31 - 1,
    "max_concurrent_requests": 1_000_000,
    "budget_usd": 100_000_000.0,
    "budget_period": "month",
}


def main(
    requests: int, concurrency: int, workers: int, surfaces: list[str], limits: bool = False, grown: int = 0
) -> None:
    upstream_port = free_port()
    upstream = subprocess.Popen([sys.executable, "-m", "bench.fake_upstream", "--port", str(upstream_port)])
    time.sleep(0.5)
    env = {
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{upstream_port}/v1",
    }
    gw = start_gateway(extra_env=env, fake_providers=False, workers=workers)
    try:
        _, key = gw.create_user("bench@example.com", credits=1_000_000)
        token = httpx.post(f"{gw.api}/auth/api-key", headers={"X-API-Key": key}).json()["access_token"]
        print(f"gateway: {workers} server process(es) on their own ports, Envoy, SQLite at {gw.workdir}; metering on")
        limited = None
        if limits:
            made = httpx.post(f"{gw.api}/user/api-keys", headers={"authorization": f"Bearer {key}"}, json=BENCH_LIMITS)
            limited = made.raise_for_status().json()["api_key"]
        asyncio.run(measure(gw, upstream_port, key, token, requests, concurrency, surfaces, limited, grown))
    finally:
        gw.close()
        upstream.terminate()


async def measure(
    gw,
    upstream_port: int,
    key: str,
    token: str,
    requests: int,
    concurrency: int,
    surfaces: list[str],
    limited: str | None = None,
    grown: int = 0,
) -> None:
    body = orjson.dumps(BODY)
    stream_body = orjson.dumps({**BODY, "stream": True})
    upstream_headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    direct = request_bytes("127.0.0.1", upstream_port, "/v1/chat/completions", body, upstream_headers)
    direct_stream = request_bytes("127.0.0.1", upstream_port, "/v1/chat/completions", stream_body, upstream_headers)

    def via(path: str, credential: str, data: bytes = body) -> bytes:
        headers = {"content-type": "application/json", "authorization": f"Bearer {credential}"}
        return request_bytes("127.0.0.1", gw.http_port, path, data, headers)

    warm = max(200, requests // 10)
    for surface in surfaces:
        await run("127.0.0.1", gw.http_port, via(SURFACES[surface][0], key), concurrency=8, total=warm)
    await grpc_run(gw.grpc_balanced_target, key, concurrency=8, total=warm)

    seq = {"direct upstream (baseline)": await run("127.0.0.1", upstream_port, direct, concurrency=1, total=requests)}
    for surface in surfaces:
        path, label, _ = SURFACES[surface]
        seq[f"REST {label} (API key)"] = await run(
            "127.0.0.1", gw.http_port, via(path, key), concurrency=1, total=requests
        )
        seq[f"REST {label} (access token)"] = await run(
            "127.0.0.1", gw.http_port, via(path, token), concurrency=1, total=requests
        )
        if limited:
            seq[f"REST {label} (key with limits)"] = await run(
                "127.0.0.1", gw.http_port, via(path, limited), concurrency=1, total=requests
            )
    seq["gRPC typed Chat"] = await grpc_run(gw.grpc_balanced_target, key, concurrency=1, total=requests)
    many = requests * 4
    conc = {
        "direct upstream (baseline)": await run("127.0.0.1", upstream_port, direct, concurrency=concurrency, total=many)
    }
    for surface in surfaces:
        path, label, _ = SURFACES[surface]
        conc[f"REST {label} (API key)"] = await run(
            "127.0.0.1", gw.http_port, via(path, key), concurrency=concurrency, total=many
        )
        if limited:
            conc[f"REST {label} (key with limits)"] = await run(
                "127.0.0.1", gw.http_port, via(path, limited), concurrency=concurrency, total=many
            )
    conc["gRPC typed Chat"] = await grpc_run(gw.grpc_balanced_target, key, concurrency=concurrency, total=many)
    stream_direct = await run(
        "127.0.0.1", upstream_port, direct_stream, concurrency=1, total=requests, marker=b'"content"'
    )
    streams = {}
    for surface in surfaces:
        path, label, marker = SURFACES[surface]
        streams[label] = await run(
            "127.0.0.1", gw.http_port, via(path, key, stream_body), concurrency=1, total=requests, marker=marker
        )

    columns = ("scenario".ljust(34), "p50 ms ", "p99 ms ", "+p50 ms ", "+p99 ms ", "req/s   ", "vs base", "errors")
    header = "| " + " | ".join(columns) + " |\n|" + "|".join("-" * (len(c) + 2) for c in columns) + "|"
    print(f"\nSequential, {requests} requests each (overhead = gateway minus direct, same run):")
    print(header)
    base = seq["direct upstream (baseline)"]
    for name, res in seq.items():
        print(row(name, res, None if res is base else base))
    print(f"\n{concurrency} concurrent, {many} requests each:")
    print(header)
    base = conc["direct upstream (baseline)"]
    for name, res in conc.items():
        print(row(name, res, None if res is base else base))
    if limited:
        print("\nLimit checks (key with limits / key without, same run):")
        for label in (SURFACES[s][1] for s in surfaces):
            plain, with_limits = seq[f"REST {label} (API key)"], seq[f"REST {label} (key with limits)"]
            many_plain, many_limits = conc[f"REST {label} (API key)"], conc[f"REST {label} (key with limits)"]
            print(
                f"  {label}: sequential p50 {_ratio(with_limits, plain, 0.5):.3f}x, p99 "
                f"{_ratio(with_limits, plain, 0.99):.3f}x; {concurrency} concurrent req/s "
                f"{many_limits.rps / many_plain.rps:.3f}x"
            )
    if grown:
        seed_records(gw.workdir / "hub.db", grown)
        path, label, _ = SURFACES[surfaces[0]]
        empty = conc[f"REST {label} (API key)"]
        await run("127.0.0.1", gw.http_port, via(path, key), concurrency=8, total=warm)
        full = await run("127.0.0.1", gw.http_port, via(path, key), concurrency=concurrency, total=many)
        print(f"\nWith {grown:,} earlier usage records in the table ({label}, {concurrency} concurrent, same run):")
        print(header)
        print(row(f"REST {label}, empty usage table", empty, None))
        print(row(f"REST {label}, {grown:,} records", full, None))
        print(f"  req/s {full.rps / empty.rps:.3f}x, p50 {_ratio(full, empty, 0.5):.3f}x of the empty table's")
    ttft_d = statistics.median(stream_direct.first_byte_ms)
    for label, stream_via in streams.items():
        ttft_g = statistics.median(stream_via.first_byte_ms)
        print(
            f"\nStreaming {label}, sequential: time to first token p50 direct {ttft_d:.2f} ms, via REST "
            f"{ttft_g:.2f} ms (+{ttft_g - ttft_d:.2f} ms); whole stream p50 direct "
            f"{pct(stream_direct.latencies_ms, 0.5):.2f} ms, via REST {pct(stream_via.latencies_ms, 0.5):.2f} ms; "
            f"errors {stream_via.errors}"
        )


def seed_records(db_path, n: int) -> None:
    """n usage records of a user that does not exist (the sqlite3 module does not enforce foreign keys), spread
    over the last 30 days with random latencies, inserted with every index maintained; then the rollups and the
    latency index are derived again from all records (as the gateway would, off the request path)."""
    db = sqlite3.connect(db_path, timeout=60)
    try:
        with db:
            db.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
                " INSERT INTO usage_records (request_id, user_id, endpoint, provider, model, input_tokens,"
                " output_tokens, cached_tokens, reasoning_tokens, cost_nanos, duration_ms, status, session_id,"
                " client_ip, byok, created_at)"
                " SELECT printf('seed-%09d', i), 999999, 'chat', 'openai', 'gpt-4o-mini', 10, 20, 0, 0, 1000,"
                " abs(random() % 200000) / 1000.0, 'success', 's' || (i % 500), '10.0.' || (i % 200) || '.1', 0,"
                " strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (i % 30) || ' days', '-' || (i % 86400) || ' seconds')"
                " FROM n",
                (n,),
            )
            for stmt in usage_index.rebuild_sql("sqlite"):
                db.execute(stmt)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the measurement starts with an empty WAL
    finally:
        db.close()


def _ratio(res: Result, base: Result, q: float) -> float:
    return pct(res.latencies_ms, q) / pct(base.latencies_ms, q)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="server processes (HUB_WORKERS)")
    parser.add_argument(
        "--surface", choices=("api", "openai", "both"), default="api", help="which REST chat endpoint to measure"
    )
    parser.add_argument("--limits", action="store_true", help="also measure a key with limits (ratio to none)")
    parser.add_argument("--grown", type=int, default=0, help="then N earlier usage records (ratio to empty)")
    args = parser.parse_args()
    surfaces = ["api", "openai"] if args.surface == "both" else [args.surface]
    main(args.requests, args.concurrency, args.workers, surfaces, args.limits, args.grown)
