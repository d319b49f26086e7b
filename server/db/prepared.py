"""Hot-path statements compiled once per dialect and run on the DB-API cursor of a ledger connection.

Every request runs about ten statements (authenticate, reserve, settle). Through `Connection.execute` each
one pays SQLAlchemy's cache lookup, execution context and result wrapping, several times the statement
itself on SQLite. A `Prepared` keeps the Core statement as the source of truth (so SQLite and PostgreSQL
get their own SQL and parameter style) but compiles it once per dialect to SQL text, parameter order and
the column types' bind/result processors, then calls the driver directly. It runs inside the caller's
transaction (`conn.begin()`): the cursor belongs to the same DB-API connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import TypeEngine


class _Compiled:
    __slots__ = ("names", "positional", "processors", "results", "sql")

    def __init__(self, stmt: ClauseElement, dialect: Dialect, result_types: Sequence[TypeEngine | None]):
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = bool(compiled.positiontup)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or compiled.binds)
        self.processors = [compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in self.names]
        self.results = [t.dialect_impl(dialect).result_processor(dialect, None) if t else None for t in result_types]


class Prepared:
    """One statement with named bind parameters; `result_types`: the SQLAlchemy types of the returned
    columns that need converting (e.g. DateTime on SQLite), None where the driver's value is used as is."""

    def __init__(self, stmt: ClauseElement, result_types: Sequence[TypeEngine | None] = ()) -> None:
        self.stmt = stmt
        self.result_types = tuple(result_types)
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = _Compiled(self.stmt, dialect, self.result_types)
        return compiled

    def execute(self, conn: Connection, params: dict[str, Any]) -> Any:
        """Runs the statement; returns the DB-API cursor (rowcount, fetchone)."""
        c = self._compiled(conn.dialect)
        values = [params[n] if p is None else p(params[n]) for n, p in zip(c.names, c.processors, strict=True)]
        return run_sql(conn, c.sql, values if c.positional else dict(zip(c.names, values, strict=True)))

    def rowcount(self, conn: Connection, params: dict[str, Any]) -> int:
        cursor = self.execute(conn, params)
        count = cursor.rowcount
        cursor.close()
        return count

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple | None:
        """The first row (converted by `result_types`), or None."""
        cursor = self.execute(conn, params)
        row = cursor.fetchone()
        cursor.close()
        if row is None:
            return None
        results = self._compiled(conn.dialect).results
        if not any(results):
            return tuple(row)
        return tuple(value if p is None else p(value) for value, p in zip(row, _pad(results, len(row)), strict=True))


def _pad(items: list, n: int) -> list:
    return items + [None] * (n - len(items))


class PreparedInsert:
    """INSERT of a row dict into `table`, compiled once per (dialect, set of keys): a row may leave out
    columns whose database default applies, exactly as `conn.execute(insert(table), row)` would."""

    def __init__(self, table: Table | Any) -> None:
        self.table = getattr(table, "__table__", table)
        self._by_keys: dict[tuple[str, frozenset[str]], tuple] = {}

    def _compiled(self, dialect: Dialect, keys: frozenset[str]):
        entry = self._by_keys.get((dialect.name, keys))
        if entry is None:
            columns = [c for c in self.table.columns if c.name in keys]
            compiled = insert(self.table).compile(dialect=dialect, column_keys=[c.name for c in columns])
            names = tuple(compiled.positiontup or compiled.binds)
            defaults = {}  # columns the row leaves out whose Python-side default SQLAlchemy would have sent
            for name in set(names) - keys:
                default = self.table.c[name].default
                if default is None or not default.is_scalar:
                    raise ValueError(f"insert into {self.table.name} needs a value for {name}")
                defaults[name] = default.arg
            processors = [self.table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
            entry = (str(compiled), names, processors, bool(compiled.positiontup), defaults)
            self._by_keys[(dialect.name, keys)] = entry
        return entry

    def execute(self, conn: Connection, row: dict[str, Any]) -> None:
        sql, names, processors, positional, defaults = self._compiled(conn.dialect, frozenset(row))
        if defaults:
            row = {**defaults, **row}
        values = [row[n] if p is None else p(row[n]) for n, p in zip(names, processors, strict=True)]
        run_sql(conn, sql, values if positional else dict(zip(names, values, strict=True))).close()


def run_sql(conn: Connection, sql: str, params: Any) -> Any:
    """SQL text compiled for `conn`'s dialect, run on its DB-API cursor, with the driver's errors raised as
    SQLAlchemy's (IntegrityError, OperationalError...) as `conn.execute` raises them, so callers catch the same
    exceptions. Returns the cursor (the caller closes it)."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql, params)
    except conn.dialect.loaded_dbapi.Error as exc:
        cursor.close()
        raise DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error) from exc
    return cursor
