"""bench.peers: the report puts ours next to the peers of the same run and judges each target from the numbers."""

from __future__ import annotations

from bench.peers import extra_command, report


def _result(rps64: float, *, c1=(1.0, 3.0), ttfb=1.5, cpu=1.8, rss=(120, 200), p99=100.0, err=0) -> dict:
    conc = {
        "1": {"added_p50": c1[0], "added_p99": c1[1]},
        "8": {"gw": {"rps": rps64}},
        "64": {"gw": {"rps": rps64, "p99": p99, "err": err}},
    }
    return {
        "summary": {"conc": conc, "ttfb_added": ttfb},
        "rss_idle_mb": rss[0],
        "rss_peak_mb": rss[1],
        "gw_cpu_ms_per_req": {"64": cpu},
    }


def test_each_target_is_judged_from_the_same_runs_numbers() -> None:
    text = report(
        {
            "indoxhub": _result(900, c1=(2.0, 3.0), cpu=2.5),
            "indoxhub-2w": _result(1500),
            "mlflow": _result(800),
            "portkey": _result(1000),
        }
    )
    lines = text.splitlines()
    assert "| indoxhub | 2.00 / 3.00 | 900 | 900 (100, 0) | 1.5 | 120 / 200 | 2.5 |" in lines
    assert "indoxhub: c=64 throughput 1.12x mlflow, 0.90x portkey" in lines
    assert "  [met] c=64 req/s >= mlflow's" in lines
    assert "  [NOT met] c=64 req/s >= portkey's" in lines
    assert "  [NOT met] c=1 added p50 <= 1.5 ms" in lines
    assert "  [NOT met] CPU <= 2.0 ms/request at c=64" in lines
    assert "  [met] RSS <= 250 MB" in lines
    assert "  [NOT met] 2 processes >= 1.6x one (1.67x)" not in lines
    assert "  [met] 2 processes >= 1.6x one (1.67x)" in lines


def test_missing_figures_never_count_as_met() -> None:
    text = report({"indoxhub": {"summary": {}}, "mlflow": _result(800)})
    assert "  [NOT met] c=64 req/s >= mlflow's" in text.splitlines()
    assert "[met]" not in text


def test_the_floor_row_names_the_targets_the_stack_alone_misses_and_what_metering_adds() -> None:
    text = report(
        {
            "indoxhub": _result(500, c1=(4.0, 9.0), cpu=2.9),
            "indoxhub-2w": _result(600, cpu=3.0),
            "stack-floor": _result(1200, c1=(1.8, 3.0), ttfb=1.2, cpu=1.3),
            "mlflow": _result(800),
        }
    )
    lines = text.splitlines()
    assert (
        "stack-floor (Envoy + grpc.aio + one upstream call, nothing metered) already misses: c=1 added p50 <= 1.5 ms"
        in lines
    )
    assert "  metering over the floor: +1.60 CPU ms/req at c=64, +2.20 ms c=1 added p50" in lines
    assert any(line.startswith("  one process already keeps 1.45 of ") for line in lines)
    assert "  [NOT met] c=64 req/s >= stack-floor's" not in lines  # the floor is a ratio, not a target


def test_the_floor_sends_the_least_an_openai_upstream_needs() -> None:
    from indoxhub.v1 import chat_pb2

    from bench.floor import upstream_body

    request = chat_pb2.ChatRequest(model="openai/gpt-4o-mini", stream=True)
    message = request.messages.add(role="user")
    message.content.string_value = "hi"
    assert upstream_body(request) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_the_openai_surface_with_two_processes_is_compared_with_its_own_one_process_row() -> None:
    text = report({"indoxhub-v1": _result(500), "indoxhub-v1-2w": _result(700), "mlflow": _result(650)})
    lines = text.splitlines()
    assert "indoxhub-v1-2w: c=64 throughput 1.08x mlflow" in lines
    assert "  [NOT met] 2 processes >= 1.6x one (1.40x)" in lines


def test_an_extra_entry_runs_the_harness_bench_with_its_path_and_processes(tmp_path) -> None:
    command = extra_command(tmp_path, "indoxhub-v1-2w", 3)
    assert command[:6] == [
        str(tmp_path / "venv-tools" / "bin" / "python"),
        "bench.py",
        "--name",
        "indoxhub-v1-2w",
        "--reps",
        "3",
    ]
    pairs = dict(zip(command[6::2], command[7::2], strict=True))
    assert pairs["--gw-env"] == "HUB_WORKERS=2"
    assert pairs["--gw-path"] == "/v1/chat/completions"
    assert pairs["--gw-header-file"] == "/tmp/perf-data/auth-header"
