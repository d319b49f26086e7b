"""Benchmarks. Importing `server` first puts gen/ (the generated `indoxhub.v1` stubs) on the path ahead of the
official `indoxhub` client package, which shares the top-level name."""

import server  # noqa: F401
