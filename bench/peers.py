"""This gateway side by side with other AI gateways, in one session, through the shared peers harness.

    .venv/bin/python -m bench.peers [--peers indoxhub,indoxhub-v1,indoxhub-2w,indoxhub-v1-2w,mlflow,portkey,...]
                                    [--reps 3] [--harness ../shared/bench-peers] [--workdir /tmp/peers]

The harness (`../shared/bench-peers`, see its README) drives every gateway the same way: one fake OpenAI
upstream, h2load over HTTP/1.1, the same chat request sent straight to the upstream (the baseline) and through
the gateway, alternately, at concurrency 1, 8 and 64, then streaming time to first byte, RSS and CPU per
request. This module copies it to `--workdir` (once), installs its tools (once: h2load, the peers' venvs),
runs the peers one after another with this checkout as `HUB_CHECKOUT`, prints the harness's own table, then
ours against the issue's targets and the peers measured in the same run. Nothing else should run meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("indoxhub", "indoxhub-v1", "indoxhub-2w", "indoxhub-v1-2w")
# Entries of ours that the harness's peers.sh does not name, driven through its bench.py the same way as its
# `indoxhub-v1` entry: name -> (path prefix, server processes).
EXTRA = {"indoxhub-v1-2w": ("/v1", 2)}
TARGETS = ("mlflow", "portkey")  # the gateways the throughput target is set against
FLOOR = "stack-floor"  # bench.floor: our Envoy config + grpc.aio server, a handler that only forwards
DEFAULT_PEERS = "indoxhub,indoxhub-v1,indoxhub-2w,indoxhub-v1-2w,stack-floor,mlflow,portkey,minimal-py"


def _harness_default() -> Path:
    for candidate in (ROOT.parent / "shared" / "bench-peers", ROOT.parents[1] / "shared" / "bench-peers"):
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/bench-peers")


def prepare(harness: Path, workdir: Path) -> None:
    """The harness in `workdir` with its tools installed (skipped when already there)."""
    if not (workdir / "peers.sh").exists():
        shutil.copytree(harness, workdir, dirs_exist_ok=True)
        for path in [workdir, *workdir.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    if not (workdir / "venv-tools" / "bin" / "python").exists() or not (workdir / "portkey" / "node_modules").is_dir():
        subprocess.run(["./install.sh"], cwd=workdir, check=True)


def _bench(workdir: Path, name: str, reps: int) -> list[str]:
    """The start of every command line that runs the harness's bench.py for one entry of ours, on the ports
    of its `indoxhub` entries."""
    python = str(workdir / "venv-tools" / "bin" / "python")
    return [python, "bench.py", "--name", name, "--reps", str(reps), "--gw-url", "http://127.0.0.1:18880"]


def floor_command(workdir: Path, reps: int) -> list[str]:
    """The harness's bench.py driving bench.floor on the ports and path of the `indoxhub` entry."""
    env = {
        "HUB_HOST": "127.0.0.1",
        "HUB_HTTP_PORT": "18880",
        "HUB_GRPC_PORT": "18851",
        "HUB_DATA_DIR": "/tmp/perf-floor",
        "OPENAI_BASE_URL": "http://127.0.0.1:18000/v1",
        "OPENAI_API_KEY": "sk-fake-upstream",
    }
    command = _bench(workdir, FLOOR, reps)
    command += ["--gw-cmd", f"{ROOT / '.venv' / 'bin' / 'python'} -m bench.floor", "--gw-cwd", str(ROOT)]
    command += [arg for key, value in env.items() for arg in ("--gw-env", f"{key}={value}")]
    return [*command, "--gw-path", "/api/v1/chat/completions", "--gw-model", "openai/gpt-4o-mini"]


def extra_command(workdir: Path, name: str, reps: int) -> list[str]:
    """The harness's bench.py driving its run_indoxhub.sh for an EXTRA entry (as peers.sh drives its own)."""
    prefix, workers = EXTRA[name]
    command = _bench(workdir, name, reps)
    command += ["--gw-cmd", "./run_indoxhub.sh", "--gw-env", f"HUB_WORKERS={workers}"]
    command += ["--gw-path", f"{prefix}/chat/completions", "--gw-emb-path", f"{prefix}/embeddings"]
    command += ["--gw-model", "openai/gpt-4o-mini"]
    command += ["--gw-emb-model", "openai/text-embedding-3-small"]
    return [*command, "--gw-header-file", "/tmp/perf-data/auth-header"]


def run_peer(workdir: Path, name: str, reps: int) -> Path:
    env = {**os.environ, "HUB_CHECKOUT": str(ROOT)}
    if name == FLOOR:
        command = floor_command(workdir, reps)
    elif name in EXTRA:
        command = extra_command(workdir, name, reps)
    else:
        command = ["./peers.sh", name, "--reps", str(reps)]
    subprocess.run(command, cwd=workdir, env=env, check=True)
    return workdir / "results" / f"{name}.json"


def _get(result: dict, *path):
    """result[path[0]][path[1]]... (JSON keys are strings), None where anything is missing."""
    node = result
    for key in path:
        node = node.get(str(key)) if isinstance(node, dict) else None
    return node


def figures(result: dict) -> dict:
    """The numbers the issue's targets are about, from one bench.py result."""
    summary = result.get("summary", {})
    return {
        "c1_p50": _get(summary, "conc", "1", "added_p50"),
        "c1_p99": _get(summary, "conc", "1", "added_p99"),
        "rps8": _get(summary, "conc", "8", "gw", "rps"),
        "rps64": _get(summary, "conc", "64", "gw", "rps"),
        "p99_64": _get(summary, "conc", "64", "gw", "p99"),
        "err64": _get(summary, "conc", "64", "gw", "err"),
        "ttfb": summary.get("ttfb_added"),
        "rss": (result.get("rss_idle_mb"), result.get("rss_peak_mb")),
        "cpu64": _get(result, "gw_cpu_ms_per_req", "64"),
    }


# The targets a gateway cannot beat if the stack under it alone misses them: (what, figure, bound).
_FLOOR_BOUNDS = (
    ("c=1 added p50 <= 1.5 ms", "c1_p50", 1.5),
    ("c=1 added p99 <= 4 ms", "c1_p99", 4.0),
    ("stream TTFB added <= 2 ms", "ttfb", 2.0),
    ("CPU <= 2.0 ms/request at c=64", "cpu64", 2.0),
)


def _fmt(value, digits=2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def report(results: dict[str, dict]) -> str:
    """Ours next to the peers of this run, then each target met / not met."""
    rows = {name: figures(r) for name, r in results.items()}
    lines = [
        "| gateway | c=1 added p50 / p99 ms | c=8 req/s | c=64 req/s (p99 ms, errors) | stream TTFB added ms "
        "| RSS idle / peak MB | CPU ms/req c=64 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, f in rows.items():
        rss = f"{_fmt(f['rss'][0], 0)} / {_fmt(f['rss'][1], 0)}"
        lines.append(
            f"| {name} | {_fmt(f['c1_p50'])} / {_fmt(f['c1_p99'])} | {_fmt(f['rps8'], 0)} | "
            f"{_fmt(f['rps64'], 0)} ({_fmt(f['p99_64'], 0)}, {f['err64']}) | {_fmt(f['ttfb'], 1)} | {rss} | "
            f"{_fmt(f['cpu64'], 1)} |"
        )
    peers = {n: f for n, f in rows.items() if n not in OURS and f["rps64"]}
    lines.append("")
    floor = rows.get(FLOOR)
    if floor and floor["rps64"]:
        below = [what for what, value, bound in _FLOOR_BOUNDS if (floor[value] or 0) > bound]
        missed = ", ".join(below) or "none"
        lines.append(f"{FLOOR} (Envoy + grpc.aio + one upstream call, nothing metered) already misses: {missed}")
    for ours in (n for n in OURS if n in rows):
        f = rows[ours]
        checks = [  # the targets name the products; other rows (the floor, a baseline) are ratios only
            (f"c=64 req/s >= {peer}'s", (f["rps64"] or 0) >= p["rps64"]) for peer, p in peers.items() if peer in TARGETS
        ]
        checks += [
            ("c=64 0 errors, p99 < 250 ms", f["err64"] == 0 and (f["p99_64"] or 1e9) < 250),
            ("c=1 added p50 <= 1.5 ms", (f["c1_p50"] or 1e9) <= 1.5),
            ("c=1 added p99 <= 4 ms", (f["c1_p99"] or 1e9) <= 4),
            ("stream TTFB added <= 2 ms", (f["ttfb"] or 1e9) <= 2),
            ("CPU <= 2.0 ms/request at c=64", (f["cpu64"] or 1e9) <= 2.0),
        ]
        notes: list[str] = []
        if ours == "indoxhub":
            checks.append(("RSS <= 250 MB", (f["rss"][1] or 1e9) <= 250))
        single = {"indoxhub-2w": "indoxhub", "indoxhub-v1-2w": "indoxhub-v1"}.get(ours)  # its one-process entry
        if single and rows.get(single, {}).get("rps64"):
            one = rows[single]
            ratio = (f["rps64"] or 0) / one["rps64"]
            checks.append((f"2 processes >= 1.6x one ({ratio:.2f}x)", ratio >= 1.6))
            if one["cpu64"]:
                cores = one["rps64"] * one["cpu64"] / 1000
                notes.append(
                    f"  one process already keeps {cores:.2f} of {os.cpu_count()} cores busy (server + Envoy, "
                    f"before the load generator and upstream): 1.6x needs {1.6 * cores:.2f}"
                )
        ratios = ", ".join(f"{(f['rps64'] or 0) / p['rps64']:.2f}x {peer}" for peer, p in peers.items())
        lines.append(f"{ours}: c=64 throughput {ratios}")
        lines += notes
        if floor and floor["rps64"] and f["cpu64"] and floor["cpu64"] and f["c1_p50"] is not None:
            lines.append(
                f"  metering over the floor: +{f['cpu64'] - floor['cpu64']:.2f} CPU ms/req at c=64, "
                f"+{f['c1_p50'] - (floor['c1_p50'] or 0):.2f} ms c=1 added p50"
            )
        lines += [f"  [{'met' if ok else 'NOT met'}] {what}" for what, ok in checks]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", default=DEFAULT_PEERS, help="comma-separated peers.sh names, run in this order")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--harness", type=Path, default=_harness_default())
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/peers"))
    parser.add_argument("--report-only", action="store_true", help="only summarise the results already in workdir")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.peers.split(",") if n.strip()]
    if not args.report_only:
        prepare(args.harness, args.workdir)
        for name in names:
            print(f"######## {name}", flush=True)
            run_peer(args.workdir, name, args.reps)
    files = [args.workdir / "results" / f"{n}.json" for n in names]
    files = [f for f in files if f.exists()]
    tools_python = args.workdir / "venv-tools" / "bin" / "python"
    subprocess.run([str(tools_python), "summarize.py", *map(str, files)], cwd=args.workdir, check=False)
    print()
    print(report({f.stem: json.loads(f.read_text()) for f in files}))


if __name__ == "__main__":
    sys.exit(main())
