"""A Core statement compiled once for SQLite and run on the driver's own cursor.

Why: the inbox writes a row before every ack and updates it after every answer. Through
SQLAlchemy's `Connection.execute`, even with the statement built once, each call keys its
compiled cache, builds an execution context and a result, and runs every value through
its bind processor one call at a time: about twice SQLite's own work, on the event loop,
for every command (issue 16's profile). Here the SQL and each value's processor come from
SQLAlchemy itself (so a value is stored exactly as Core would store it, a test checks
that), and a call is one `cursor.execute`. On PostgreSQL the same object runs the
statement through Core, where the network, not this, is the cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase


class Direct:
    """`statement` names every value a call gives by a bind parameter (`bindparam("key")`);
    a call passes a mapping with each of those names. A value written into the statement
    (`.values(state="done")`) is processed once. Compiled at its first use on SQLite, so a
    module can build it once for whichever store it runs on; on PostgreSQL a call is
    Core's `conn.execute`, as before."""

    def __init__(self, statement: UpdateBase) -> None:
        self.statement = statement
        self.sql: str | None = None
        # (name, processor) for a value the call gives; (None, the stored value) for a constant.
        self._fields: list[tuple[str | None, Any]] = []

    def _compile(self, dialect: Dialect) -> str:
        compiled = self.statement.compile(dialect=dialect)
        assert compiled.positiontup is not None  # SQLite's paramstyle is positional
        fields: list[tuple[str | None, Any]] = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                fields.append((name, process))
            else:
                fields.append((None, bind.value if process is None else process(bind.value)))
        self._fields, self.sql = fields, compiled.string
        return self.sql

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(
            field if name is None else values[name] if field is None else field(values[name])
            for name, field in self._fields
        )

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Run once, in `conn`'s transaction; the number of rows it changed."""
        if conn.dialect.name != "sqlite":
            return int(conn.execute(self.statement, dict(values)).rowcount)
        sql = self.sql or self._compile(conn.dialect)
        return int(_driver(conn).execute(sql, self.params(values)).rowcount)

    def executemany(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if conn.dialect.name != "sqlite":
            conn.execute(self.statement, [dict(row) for row in rows])
            return
        sql = self.sql or self._compile(conn.dialect)
        _driver(conn).executemany(sql, [self.params(row) for row in rows])


def _driver(conn: Connection) -> Any:
    """The sqlite3 connection under `conn`: the same transaction SQLAlchemy began and commits
    (pysqlite opens it at the first write either way)."""
    return conn.connection.driver_connection
