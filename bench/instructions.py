"""Instructions per chat request (valgrind's callgrind): the gateway's handler against the forwarding floor.

    .venv/bin/python -m bench.instructions [--requests 300] [--concurrency 1] [--repeat 1]   (= make bench-instructions)

Why: on a shared VM, time and CPU per request drift by a third from one minute to the next, so a change worth
a few percent cannot be seen in them. The number of instructions a request executes drifts far less: with one
caller, repeated runs agree within about 1.5 % (the ledger thread's checkpoints and the collector's timing are
the rest). This counts them for two handlers, one after the other, in one run:

- `floor`: bench.floor's Forwarder, which makes one upstream call (the gateway's own client) and relays the
  answer;
- `gateway`: the real `ChatService/CreateChatCompletion` servicer with everything it does (auth against the key
  row, validation, routing, reservation, the upstream call, settlement, usage record, ledger entry, rollups) on a
  fresh SQLite file, with the server's own garbage-collector settings.

Each runs in its own process under callgrind, collection switched on only around the measured requests (after
a warm-up), with `--concurrency` callers in one event loop against bench.fake_upstream. With one caller every
request commits its reservation and its settlement alone; with more, operations share ledger batches, and how
they fall into batches moves the count by a few percent between runs. What is left out is the
same for both: grpc.aio (the servicer is called with a stand-in for the gRPC context) and Envoy. The table gives
instructions per request, and the gateway's as a ratio to the floor's and minus it (what metering executes).
Instructions are not time (a cache miss or a system call counts as little), so use this for changes to the
server's own Python and the harness (bench.peers) for claims about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.harness import free_port

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("floor", "gateway")
BODY = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello in one short sentence."}]}
BODY["max_tokens"] = 32
WARMUP = 100


def _toggle(on: bool) -> None:
    """Switches callgrind's collection for this process (a no-op when it is not running under callgrind)."""
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())], capture_output=True)


class _Context:
    """What the servicer reads from grpc.aio's ServicerContext on this path (not our code: the gRPC library's)."""

    def __init__(self, key: str):
        self.metadata = (("authorization", f"Bearer {key}"), ("x-forwarded-for", "127.0.0.1"))

    def invocation_metadata(self):
        return self.metadata

    def peer(self) -> str:
        return "ipv4:127.0.0.1:1"

    async def send_initial_metadata(self, metadata) -> None:
        return None

    async def abort(self, code, message, trailing_metadata=None):
        raise RuntimeError(f"the request failed: {code} {message}")


async def _child(scenario: str, requests: int, concurrency: int, upstream: str, key: str) -> None:
    from google.protobuf import json_format
    from indoxhub.v1 import chat_pb2

    request = json_format.Parse(json.dumps(BODY), chat_pb2.ChatRequest())
    context = _Context(key)
    hub = None
    if scenario == "floor":
        from bench.floor import Forwarder

        handler = Forwarder(upstream, "sk-bench").forward
    else:
        from server.app import _settle_garbage_collector, start_hub
        from server.config import Settings
        from server.services.generation import ChatServicer

        hub = await start_hub(Settings())
        handler = ChatServicer(hub).CreateChatCompletion
        _settle_garbage_collector()

    async def one() -> None:
        chunks = [chunk async for chunk in handler(request, context)]
        if not chunks or b"Hello from the bench" not in chunks[-1].data:
            raise RuntimeError(f"unexpected answer: {chunks!r}")

    async def caller(n: int) -> None:
        for _ in range(n):
            await one()

    for _ in range(WARMUP):
        await one()
    _toggle(True)
    await asyncio.gather(*(caller(requests // concurrency) for _ in range(concurrency)))
    _toggle(False)
    if hub is not None:
        await hub.close()


def _count(scenario: str, requests: int, concurrency: int, env: dict[str, str], key: str, upstream: str) -> int:
    with tempfile.TemporaryDirectory() as out:
        target = Path(out) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={target}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            scenario,
            "--requests",
            str(requests),
            "--concurrency",
            str(concurrency),
            "--upstream",
            upstream,
            "--key",
            key,
        ]
        subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return totals(target.read_text())


def totals(callgrind_out: str) -> int:
    """The instructions a callgrind output file counts (its `totals:` line; `summary:` is 0 when collection
    was switched on and off by callgrind_control)."""
    for line in callgrind_out.splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def table(per_request: dict[str, list[float]], requests: int, concurrency: int) -> str:
    """The printed report: each handler's fewest instructions per request over the runs, every run, and the
    gateway against the floor of the same run."""
    floor = min(per_request["floor"])
    lines = [
        f"instructions per chat request (callgrind), {requests} requests, {concurrency} concurrent, "
        f"{len(per_request['floor'])}x",
        "| handler | instructions/request | runs | vs floor |",
        "|---|---|---|---|",
    ]
    for scenario in SCENARIOS:
        best = min(per_request[scenario])
        runs = " / ".join(f"{c / 1e6:.3f} M" for c in per_request[scenario])
        ratio = "1.00x" if scenario == "floor" else f"{best / floor:.2f}x (+{(best - floor) / 1e6:.3f} M)"
        lines.append(f"| {scenario} | {best / 1e6:.3f} M | {runs} | {ratio} |")
    return "\n".join(lines)


def main(requests: int, concurrency: int, repeat: int) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: `make bench-instructions` installs it (Debian package valgrind)")
    requests -= requests % concurrency
    port = free_port()
    upstream = f"http://127.0.0.1:{port}/v1"
    data = Path(tempfile.mkdtemp(prefix="hub-bench-ir-"))
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'gen'}",
        "HUB_DATA_DIR": str(data),
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{data}/hub.db",
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": upstream,
        "HUB_VIDEO_WORKER": "false",
    }
    fake = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_upstream", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE
    )
    try:
        fake.stdout.readline()  # "bench upstream on <port>": listening
        subprocess.run([sys.executable, "-m", "server", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        user = ["create-user", "--email", "bench@example.com", "--credits", "1000000", "--json"]
        created = subprocess.run(
            [sys.executable, "-m", "server", *user],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        key = json.loads(created.stdout.strip().splitlines()[-1])["api_key"]
        counts: dict[str, list[float]] = {s: [] for s in SCENARIOS}
        for _ in range(repeat):
            for scenario in SCENARIOS:
                total = _count(scenario, requests, concurrency, env, key, upstream)
                counts[scenario].append(total / requests)
    finally:
        fake.terminate()
        fake.wait()
        shutil.rmtree(data, ignore_errors=True)
    print(table(counts, requests, concurrency))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import uvloop

        uvloop.run(_child(args.child, args.requests, args.concurrency, args.upstream, args.key))
    else:
        main(args.requests, args.concurrency, args.repeat)
