"""The store: the engine (bot/store/engine.py) with its small repositories as attributes.

A caller names what it works on: `store.links.get(...)`, `store.cards.set(...)`,
`store.audit.record(...)`, `store.claims.claim(...)`. The inbox and the timers are
repositories on the same engine too (bot/store/inbox.py, bot/store/timers.py), and the
built-in provider keeps its own tables and queries in its package on it."""

from __future__ import annotations

import asyncio

from bot.clock import SYSTEM, Clock
from bot.config import Settings, store_name
from bot.store import migrate as migrations
from bot.store.audit import AuditLog
from bot.store.cards import Cards
from bot.store.claims import Claims
from bot.store.engine import Database
from bot.store.errors import database_error
from bot.store.kept import Kept
from bot.store.links import Links
from bot.store.overrides import OverrideNumbers
from bot.store.pages import Pages


class Store(Database):
    def __init__(
        self,
        url: str,
        cache: bool | None = None,
        clock: Clock = SYSTEM,
        *,
        connect_timeout: float | None = None,
        pool: int | None = None,
    ) -> None:
        super().__init__(url, cache, clock, connect_timeout=connect_timeout, pool=pool)
        self.cards = Cards(self)
        self.links = Links(self, self.cards)
        self.audit = AuditLog(self)
        self.claims = Claims(self)
        self.override_numbers = OverrideNumbers(self)
        self.kept = Kept(self)
        self.pages = Pages(self)

    async def start(self, *, migrate: bool = True) -> None:
        """Open the store at the code's schema: upgraded (`migrate`), or refused with the
        command that upgrades it (several processes on PostgreSQL upgrade once, on purpose)."""
        found = None if migrate else await self.read(migrations.current)
        if migrate or found is None:  # an empty database is made at once, by anyone
            await self.write(migrations.upgrade)
        elif found != migrations.head():
            raise migrations.SchemaBehind(found, migrations.head())
        await self.open_pool()
        self.audit.start()
        self.outage.armed = True  # from here on, the database's absence is an outage

    async def close(self) -> None:
        await self.audit.stop()
        await super().close()


def migrate_now(settings: Settings) -> str:
    """`incident-bot migrate`: what it did, in one line (a database that refuses: ConfigError)."""

    async def run() -> tuple[str | None, str]:
        store = Store(settings.database_url)
        try:
            return await store.write(migrations.upgrade)
        except Exception as exc:
            raise database_error(exc, settings.database_url) from None
        finally:
            await store.close()

    before, after = asyncio.run(run())
    place = store_name(settings.database_url)
    if before == after:
        return f"The {place} is already at revision {after}: nothing to do."
    return f"The {place} was upgraded from revision {before or 'none (empty)'} to {after}."
