"""Analytics benchmark: /user/usage and the three /analytics endpoints over a user with a million usage records.

    .venv/bin/python -m bench.analytics [--rows 1000000] [--others 4] [--repeat 25] [--analyze]

Seeds a temporary SQLite database made by the real migrations: users through the domain code, then `--rows`
usage records for the measured user over the last 365 days (about 2,700 a day: a 30-day query covers ~82,000
of them, a 365-day query all of them) and `--rows / 10` for each of `--others` other users, interleaved in time
as real traffic would be; the per-day rollups and the latency index are then derived from the records
(server.domain.usage_index.rebuild_sql). Then it starts the real gateway (Envoy + server) on that file and
times each query over REST, sequentially, printing p50 / p95 / max in ms and p50 as a multiple of the same
run's `GET /user/me` (an authenticated request that reads one row), so figures compare across machines.

By default the database is not ANALYZEd (a fresh gateway's is not either): the plans must be right without
statistics. `--analyze` runs ANALYZE after seeding, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from server.config import Settings
from server.db.migrate import upgrade
from server.domain import usage_index, users
from server.hub import Hub
from tests.harness import start_gateway

MODELS = {
    "chat": [
        ("openai", "gpt-4o-mini", 30),
        ("openai", "gpt-4o", 12),
        ("anthropic", "claude-3-5-sonnet", 10),
        ("anthropic", "claude-3-5-haiku", 5),
        ("google", "gemini-1.5-pro", 4),
        ("google", "gemini-1.5-flash", 3),
        ("mistral", "mistral-large", 2),
        ("groq", "llama-3.1-70b", 2),
        ("deepseek", "deepseek-chat", 1),
        ("xai", "grok-2", 1),
    ],
    "completion": [("openai", "gpt-3.5-turbo-instruct", 4)],
    "embedding": [("openai", "text-embedding-3-small", 8), ("mistral", "mistral-embed", 2)],
    "image": [("openai", "dall-e-3", 4)],
    "tts": [("openai", "tts-1", 3)],
    "stt": [("openai", "whisper-1", 3)],
    "translation": [("openai", "whisper-1", 1)],
    "video": [("google", "veo-2", 1)],
}
CHOICES = [(ep, p, m) for ep, models in MODELS.items() for p, m, _ in models]
WEIGHTS = [w for models in MODELS.values() for _, _, w in models]
SPAN_DAYS = 365
SQL_INSERT = (
    "INSERT INTO usage_records (request_id, user_id, api_key_id, endpoint, provider, model, input_tokens,"
    " output_tokens, cached_tokens, reasoning_tokens, cost_nanos, duration_ms, ttft_ms, status, session_id,"
    " client_ip, error, byok, request_content, response_content, created_at)"
    " VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)"
)


def _rows(user_id: int, count: int, now: datetime, seed: int):
    """One user's records, oldest first: about half in sessions of 2-20 interactions (a conversation: 90% with
    the session's model), 90% from three client IPs and the rest from a thousand, 3% errors, 5% BYOK (cost 0),
    latency log-normal per model, time to first token on 60% of chats."""
    rnd = random.Random(seed)
    start = now - timedelta(days=SPAN_DAYS)
    span = SPAN_DAYS * 86400.0
    stamps = sorted(rnd.random() * span for _ in range(count))
    ips = [f"10.0.{user_id % 250}.{i}" for i in range(1, 4)]
    session, left, session_model = None, 0, None
    speed = {m: rnd.uniform(5.5, 7.5) for _, _, m in CHOICES}
    for i, offset in enumerate(stamps):
        endpoint, provider, model = rnd.choices(CHOICES, WEIGHTS)[0]
        if left > 0 and rnd.random() < 0.9:
            endpoint, provider, model = session_model
        roll = rnd.random()
        status = "success" if roll < 0.96 else ("error" if roll < 0.99 else "stopped")
        byok = rnd.random() < 0.05
        inp, out = rnd.randint(5, 1500), rnd.randint(0, 800)
        cost = 0 if byok or status == "error" else rnd.randint(1_000, 5_000_000)
        duration = rnd.lognormvariate(speed[model], 0.6)
        ttft = duration * rnd.uniform(0.05, 0.5) if endpoint == "chat" and rnd.random() < 0.6 else None
        if left <= 0 and rnd.random() < 0.08:
            session, left, session_model = f"sess-{user_id}-{i}", rnd.randint(2, 20), (endpoint, provider, model)
        sid = session if left > 0 else None
        left -= 1
        ip = rnd.choice(ips) if rnd.random() < 0.9 else f"192.168.{rnd.randint(0, 3)}.{rnd.randint(1, 254)}"
        created = start + timedelta(seconds=offset)
        yield (
            created,
            (
                f"req-{user_id}-{i}",
                user_id,
                endpoint,
                provider,
                model,
                inp,
                out,
                inp // 4,
                cost,
                duration,
                ttft,
                status,
                sid,
                ip,
                "upstream error" if status == "error" else None,
                int(byok),
                created.strftime("%Y-%m-%d %H:%M:%S.%f"),  # how SQLAlchemy stores DateTime on SQLite
            ),
        )


async def _make_users(url: str, count: int) -> list[tuple[int, str]]:
    hub = Hub.create(Settings(database_url=url, jwt_secret="b" * 32))
    made = []
    for i in range(count):
        user, key = await users.create_user(hub, f"bench{i}@example.com", credits_usd=1000)
        made.append((user.id, key.plaintext))
    await hub.engine.dispose()
    return made


def seed(path: Path, rows: int, others: int, analyze: bool) -> list[tuple[int, str]]:
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    made = asyncio.run(_make_users(url, 1 + others))
    now = datetime.now(UTC)
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    # Bulk load: drop the tables' indexes and the latency index's rollup trigger, insert, derive the rollups
    # grouped rather than row by row, then recreate them all from their own stored definitions.
    indexes = db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
        " AND tbl_name IN ('usage_records', 'usage_latencies') AND sql IS NOT NULL"
    ).fetchall()
    streams = [_rows(made[0][0], rows, now, 1)]
    streams += [_rows(uid, rows // 10, now, 100 + uid) for uid, _ in made[1:]]
    merged = (row for _, row in heapq.merge(*streams, key=lambda item: item[0]))
    total = 0
    with db:
        for kind, name, _ in indexes:
            db.execute(f"DROP {kind.upper()} {name}")
        while True:
            batch = [next(merged, None) for _ in range(50_000)]
            batch = [b for b in batch if b is not None]
            if not batch:
                break
            db.executemany(SQL_INSERT, batch)
            total += len(batch)
        for stmt in usage_index.rebuild_sql("sqlite") + usage_index.rollups_from_records_sql("sqlite"):
            db.execute(stmt)
        inserted = time.perf_counter()
        for _, _, sql in indexes:
            db.execute(sql)
        indexed = time.perf_counter()
    if analyze:
        db.execute("ANALYZE")
    db.close()
    done = time.perf_counter()
    print(
        f"seeded {total:,} usage records ({rows:,} for the measured user) in {done - started:.1f} s: "
        f"insert and derive {inserted - started:.1f} s, {len(indexes)} indexes, trigger {indexed - inserted:.1f} s; "
        f"database {path.stat().st_size / 1e6:.0f} MB"
    )
    return made


def queries(today: str, year_ago: str, month_ago: str) -> list[tuple[str, str, dict]]:
    year = {"start_date": year_ago, "end_date": today}
    q = [
        ("baseline", "/user/health", {}),
        ("baseline", "/user/me", {}),
        ("/user/usage", "/user/usage", {}),
        ("/user/usage", "/user/usage", year),
        ("records", "/analytics/usage", {}),
        ("records", "/analytics/usage", {"offset": 20000, **year}),
        ("records", "/analytics/usage", {"model": "openai/gpt-4o", "limit": 1000}),
        ("records", "/analytics/usage", {"endpoint": "video", **year}),
        ("records", "/analytics/usage", {"provider": "anthropic", **year}),
        ("records", "/analytics/usage", {"include_content": "true", "limit": 1000}),
    ]
    for group_by in ("date", "model", "provider", "endpoint", "session_id", "client_ip"):
        q.append(("group_by", "/analytics/usage", {"group_by": group_by}))
    for group_by in ("date", "model", "provider", "endpoint", "session_id", "client_ip"):
        q.append(("group_by", "/analytics/usage", {"group_by": group_by, **year}))
    q += [
        ("group_by", "/analytics/usage", {"group_by": "model", "endpoint": "chat", "start_date": month_ago}),
        ("group_by", "/analytics/usage", {"group_by": "date", "provider": "anthropic", **year}),
        ("group_by", "/analytics/usage", {"group_by": "endpoint", "model": "gpt-4o-mini", **year}),
        ("group_by", "/analytics/usage", {"group_by": "session_id", "provider": "openai", **year}),
        ("sessions", "/analytics/sessions", {}),
        ("sessions", "/analytics/sessions", year),
        ("models", "/analytics/models", {}),
        ("models", "/analytics/models", year),
        ("models", "/analytics/models", {"provider": "openai", **year}),
    ]
    return q


def _label(path: str, params: dict, today: str, year_ago: str) -> str:
    shown = []
    for k, v in params.items():
        if k == "start_date" and v == year_ago:
            shown.append("365 days")
        elif k == "end_date" and v == today:
            continue
        else:
            shown.append(f"{k}={v}")
    return path + (" " + " ".join(shown) if shown else "")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--others", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--analyze", action="store_true")
    args = parser.parse_args()

    path = Path(tempfile.mkdtemp(prefix="hub-bench-analytics-")) / "hub.db"
    made = seed(path, args.rows, args.others, args.analyze)
    (_, key), other = made[0], made[1:]
    gw = start_gateway(extra_env={"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{path}"}, fake_providers=False)
    now = datetime.now(UTC).date()
    today, year_ago = now.isoformat(), (now - timedelta(days=SPAN_DAYS)).isoformat()
    month_ago = (now - timedelta(days=29)).isoformat()
    try:
        with httpx.Client(base_url=gw.api, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            sid = client.get("/analytics/sessions").json()["sessions"][0]["session_id"]
            plan = queries(today, year_ago, month_ago)
            plan.insert(9, ("records", "/analytics/usage", {"session_id": sid}))
            plan.append(("sessions", "/analytics/sessions", {"session_id": sid}))
            results = []
            for kind, route, params in plan:
                for _ in range(3):  # warm-up
                    r = client.get(route, params=params)
                    if r.status_code != 200:
                        sys.exit(f"{route} {params}: {r.status_code} {r.text[:300]}")
                times, size = [], len(r.content)
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    r = client.get(route, params=params)
                    times.append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()
                results.append((kind, _label(route, params, today, year_ago), times, size, r.json()))
            # Isolation spot check: another user's view never contains the measured user's records.
            other_key = other[0][1] if other else None
            if other_key:
                seen = client.get(
                    "/analytics/usage",
                    params={"start_date": year_ago},
                    headers={"Authorization": f"Bearer {other_key}"},
                ).json()
                assert seen["total_count"] == args.rows // 10, seen["total_count"]
        base = statistics.median(results[1][2])
        print(
            f"\n{args.rows:,} records for the measured user (+{args.others} x {args.rows // 10:,} for others), "
            f"SQLite, REST via Envoy, sequential, {args.repeat} timed requests each "
            f"(x = p50 / p50 of GET /user/me):\n"
        )
        print("| query | p50 ms | p95 ms | max ms | x /user/me | body KB | rows |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for _, label, times, size, body in results:
            rows = len(body.get("groups") or body.get("records") or body.get("sessions") or body.get("models") or [])
            if label.startswith("/user/usage"):
                rows = len(body["daily_usage"])
            print(
                f"| {label} | {statistics.median(times):.1f} | {pct(times, 0.95):.1f} | {max(times):.1f} "
                f"| {statistics.median(times) / base:.1f} | {size / 1024:.0f} | {rows} |"
            )
        worst = max((pct(t, 0.95), label) for kind, label, t, _, _ in results if kind != "baseline")
        print(f"\nworst p95: {worst[0]:.1f} ms ({worst[1]})")
    finally:
        gw.close()


if __name__ == "__main__":
    main()
