"""The store's schema by Alembic revision: built from nothing, upgraded from what the first
release made (its tables, no alembic_version), refused when behind without AUTO_MIGRATE,
on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, inspect, make_url, select

from bot.providers.builtin import tables as builtin_tables
from bot.store import migrate, tables
from bot.store.db import Store
from tests.conftest import _fresh_postgres
from tests.fixtures import first_release_tables as first
from tests.helpers import clean_env

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


async def first_release_database(url: str) -> None:
    """What the first release left: its tables made by create_all, a link and an incident."""
    store = Store(url)

    def make(conn: Connection) -> None:
        first.metadata.create_all(conn)
        conn.execute(
            insert(first.links).values(
                team_id="T1",
                channel_id="C1",
                provider="builtin",
                incident_id="1",
                reference="INC-1",
                linked_at=T0,
            )
        )
        conn.execute(
            insert(first.incidents).values(name="Old outage", status="fixing", created_at=T0, updated_at=T0)
        )
        # The first release kept an unlinked channel as a key in the idempotency table.
        conn.execute(insert(first.idempotency).values(key="unlinked:T1:C9", at=T0))
        conn.execute(insert(first.idempotency).values(key="cmd:3f2a", at=T0))

    try:
        await store.write(make)
    finally:
        await store.close()


def schema_drift(conn: Connection) -> list[object]:
    return compare_metadata(MigrationContext.configure(conn), tables.metadata)


async def test_migrations_build_exactly_the_schema_the_code_declares(database_url: str) -> None:
    store = Store(database_url)
    await store.start()
    try:
        assert await store.read(migrate.current) == migrate.head()
        assert await store.read(schema_drift) == []
    finally:
        await store.close()


async def test_a_first_release_database_is_upgraded_and_keeps_its_rows(database_url: str) -> None:
    await first_release_database(database_url)
    store = Store(database_url)
    try:
        assert await store.read(migrate.current) == migrate.FIRST_RELEASE
        await store.start()
        assert await store.read(migrate.current) == migrate.head()
        assert await store.read(schema_drift) == []
        link = await store.links.get("T1", "C1")
        assert link is not None and link.reference == "INC-1"
        names = await store.read(lambda c: [r.name for r in c.execute(select(builtin_tables.incidents))])
        assert names == ["Old outage"]
        assert await store.read(lambda c: inspect(c).has_table("timers"))
        # The unlinked marker moved to its own table; Slack's request keys stayed where they were.
        assert await store.links.was_unlinked("T1", "C9")
        assert not await store.links.was_unlinked("T1", "C1")
        keys = await store.read(lambda c: [r.key for r in c.execute(select(tables.idempotency))])
        assert keys == ["cmd:3f2a"]
    finally:
        await store.close()


async def test_a_sqlite_database_from_before_0007_never_gives_an_override_id_again(tmp_path: Path) -> None:
    """Its overrides table took the highest deleted id again; upgraded, it counts on past
    every id it or the override numbers saw (#3's override was cancelled, id 3 gone)."""

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    store = Store(url)

    def at_0006(conn: Connection) -> None:
        from alembic import command

        command.upgrade(migrate.config(conn), "0006")
        conn.execute(
            insert(builtin_tables.schedules).values(
                id=1, name="primary", users=[], handover_seconds=60, start=T0
            )
        )
        for id_ in (1, 2):
            conn.execute(
                insert(builtin_tables.overrides).values(
                    id=id_, schedule=1, user_id=f"U{id_}", start=T0, end=T0, created_at=T0
                )
            )
        for number in (1, 2, 3):
            conn.execute(
                insert(tables.override_numbers).values(
                    number=number,
                    provider="builtin",
                    override_id=str(number),
                    schedule="primary",
                    user_id=f"U{number}",
                    start=T0,
                    end=T0,
                )
            )

    def add(conn: Connection) -> int:
        values = {"schedule": 1, "user_id": "U9", "start": T0, "end": T0, "created_at": T0}
        return int(conn.execute(insert(builtin_tables.overrides).values(**values)).inserted_primary_key[0])

    try:
        await store.write(at_0006)
        await store.start()
        assert await store.read(migrate.current) == migrate.head()
        assert await store.read(schema_drift) == []
        assert await store.write(add) == 4
        assert [
            r.user_id for r in await store.read(lambda c: list(c.execute(select(builtin_tables.overrides))))
        ] == ["U1", "U2", "U9"]
    finally:
        await store.close()


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=clean_env(**env), capture_output=True, text=True, timeout=60
    )


async def test_serve_refuses_a_postgres_database_behind_until_migrate_upgrades_it(tmp_path: Path) -> None:
    url = await _fresh_postgres()
    await first_release_database(url)
    database = make_url(url).set(drivername="postgresql")  # the same database (TEST_POSTGRES_URL's)
    env = {
        "SLACK_BOT_TOKEN": "xoxb-x",
        "SLACK_SIGNING_SECRET": "s",
        "DATABASE_URL": database.render_as_string(hide_password=False),
        "PORT": "0",
    }

    refused = cli("serve", **env)
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    said = refused.stderr.strip().splitlines()
    assert said == [
        "configuration: DATABASE_URL: the database is at revision 0001, the bot needs "
        f"{migrate.head()}: run `incident-bot migrate` (or set AUTO_MIGRATE=1) and start again."
    ]
    check = cli("check", **env)
    assert "run `incident-bot migrate`" in check.stdout and check.returncode == 1

    upgraded = cli("migrate", **env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == (
        f"The PostgreSQL database {database.database} at {database.host}:{database.port or 5432} "
        f"was upgraded from revision 0001 to {migrate.head()}."
    )
    again = cli("migrate", **env)
    assert "already at revision" in again.stdout
    store = Store(url)
    try:
        assert await store.read(migrate.current) == migrate.head()
        assert (await store.links.get("T1", "C1")) is not None
    finally:
        await store.close()
