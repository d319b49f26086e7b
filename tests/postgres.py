"""A fresh PostgreSQL database per test module, on the server `scripts/with-postgres.sh` started
(HUB_TEST_POSTGRES_URL), so parallel test workers never share tables."""

from __future__ import annotations

import os
import uuid

import asyncpg


def database_kinds() -> list[str]:
    """The databases a storage test runs on: SQLite always, PostgreSQL when the test run provides one."""
    return ["sqlite", "postgresql"] if os.environ.get("HUB_TEST_POSTGRES_URL") else ["sqlite"]


async def fresh_database_url() -> str:
    base = os.environ["HUB_TEST_POSTGRES_URL"]
    name = "hub_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(base.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base.rsplit("/", 1)[0] + "/" + name
