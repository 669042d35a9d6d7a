"""The numbers overrides are listed and cancelled by, kept by the store for every provider,
with whom each put on call.

Positions in a list shift as soon as one is cancelled (#2 becomes #1), so `override cancel
#1` then `#2` would remove the wrong one; the providers' own ids are long (PagerDuty's
`PQ1ABC`) and incident.io's change when a neighbouring override is widened. So each override
gets a small number the first time the bot shows it, kept for as long as it lasts and never
given to another one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import Override
from bot.store import tables
from bot.store.engine import Database

# An ended override's number is kept this long (a `cancel #3` typed late finds "no #3",
# not another override), then forgotten; the highest number is never forgotten, so numbers
# keep counting up rather than start again.
KEPT_AFTER_END = timedelta(days=30)
ATTEMPTS = 3  # two processes numbering at once: one of them numbers again


def _same(row: Row[Any], override: Override) -> bool:
    """The same override under a new id (incident.io re-creates the ones it reshapes)."""
    return (
        row.schedule == override.schedule.name
        and row.user_id == override.person.slack_id
        and row.start == override.start
        and row.end == override.end
    )


class OverrideNumbers:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def number(self, provider: str, overrides: list[Override]) -> list[Override]:
        """`overrides`, each with its number: the one it was shown with before, or the next
        one never given, in the order given."""
        for attempt in range(ATTEMPTS):
            try:
                return await self.db.write(lambda conn: self._number(conn, provider, overrides))
            except IntegrityError:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _number(self, conn: Connection, provider: str, overrides: list[Override]) -> list[Override]:
        t = tables.override_numbers.c
        rows = list(conn.execute(select(tables.override_numbers).where(t.provider == provider)))
        by_id = {row.override_id: row for row in rows}
        present = {o.id for o in overrides}
        orphans = [row for row in rows if row.override_id not in present]
        highest = conn.execute(select(func.max(t.number))).scalar() or 0
        numbered = []
        for override in overrides:
            row = by_id.get(override.id)
            if row is None:
                row = next((r for r in orphans if _same(r, override)), None)
                if row is not None:
                    orphans.remove(row)
                    conn.execute(
                        update(tables.override_numbers)
                        .where(t.number == row.number)
                        .values(override_id=override.id)
                    )
            if row is not None:
                number = row.number
                if not override.person.slack_id and row.user_id:
                    # Listed without a Slack id (PagerDuty names its own user): whom the
                    # bot put on call by it, as it recorded then.
                    person = override.person.model_copy(update={"slack_id": row.user_id})
                    override = override.model_copy(update={"person": person})
            else:
                highest += 1
                number = highest
                conn.execute(
                    insert(tables.override_numbers).values(
                        number=number,
                        provider=provider,
                        override_id=override.id,
                        schedule=override.schedule.name,
                        user_id=override.person.slack_id,
                        start=override.start,
                        end=override.end,
                    )
                )
            numbered.append(override.model_copy(update={"number": number}))
        cutoff = self.db.clock.now() - KEPT_AFTER_END
        conn.execute(delete(tables.override_numbers).where(t.end < cutoff, t.number < highest))
        return numbered
