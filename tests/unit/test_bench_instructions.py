"""bench.instructions: callgrind's totals are read from its output, and the report compares runs of one session."""

from __future__ import annotations

import pytest

from bench.instructions import table, totals

CALLGRIND_OUT = """# callgrind format
version: 1
creator: callgrind-3.19.0
events: Ir
fn=(1) main
0 12
summary: 0
totals: 770709252
"""


def test_totals_come_from_the_totals_line_not_the_zero_summary() -> None:
    assert totals(CALLGRIND_OUT) == 770709252


def test_an_output_without_totals_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no totals"):
        totals("events: Ir\nsummary: 0\n")


def test_the_report_takes_each_handlers_fewest_and_compares_it_to_the_floor() -> None:
    text = table({"floor": [401_000, 400_000], "gateway": [1_900_000, 1_800_000]}, 400, 16)
    lines = text.splitlines()
    assert lines[0] == "instructions per chat request (callgrind), 400 requests, 16 concurrent, 2x"
    assert "| floor | 0.400 M | 0.401 M / 0.400 M | 1.00x |" in lines
    assert "| gateway | 1.800 M | 1.900 M / 1.800 M | 4.50x (+1.400 M) |" in lines
