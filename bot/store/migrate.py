"""The store's schema, by Alembic revision: upgrade, or say how far behind it is.

Run on the store's own connection (one transaction, SQLite or PostgreSQL alike): no
alembic.ini, no second engine. A database the first release made (its tables, no
alembic_version) is stamped at revision 0001, which is that schema, and upgraded on.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

FIRST_RELEASE = "0001"


class SchemaBehind(Exception):
    def __init__(self, found: str | None, wanted: str) -> None:
        super().__init__(f"the database is at revision {found or 'none (empty)'}, the bot needs {wanted}")
        self.found, self.wanted = found, wanted


def config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.attributes["connection"] = conn
    return cfg


def head() -> str:
    found = ScriptDirectory.from_config(config()).get_current_head()
    assert found is not None
    return found


def current(conn: Connection) -> str | None:
    """The database's revision; the first release's for its unstamped tables; None: empty."""
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None and inspect(conn).has_table("links"):
        return FIRST_RELEASE
    return revision


def upgrade(conn: Connection) -> tuple[str | None, str]:
    """To the code's revision: (from, to). On PostgreSQL under a lock held to the end of
    the transaction: processes starting together on an empty database make it once."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7120013)"))
    before = current(conn)
    cfg = config(conn)
    if before == FIRST_RELEASE and MigrationContext.configure(conn).get_current_revision() is None:
        command.stamp(cfg, FIRST_RELEASE)
    command.upgrade(cfg, "head")
    return before, head()
