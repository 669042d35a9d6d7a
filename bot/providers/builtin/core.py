"""The built-in provider's core: its one write path (marked applied), its cache, reading an incident."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from functools import cache
from typing import Any, Self, TypeVar

from sqlalchemy import BindParameter, Connection, CursorResult, bindparam, insert, select, update

from bot.domain import (
    FollowUp,
    Incident,
    Move,
    NotFound,
    Person,
    Severity,
    TimelineEntry,
)
from bot.providers.builtin import tables
from bot.store.db import Store
from bot.store.direct import Direct
from bot.store.inbox import Inbox

T = TypeVar("T")

# The statements of every change, built once and run with their values, on SQLite on the
# driver's cursor (bot/store/direct.py): SQLAlchemy builds and keys a statement made per
# call at every call, about five times the cost of running a built one, and its execute
# costs more than SQLite's own work (issue 16).
LOG = Direct(
    insert(tables.timeline).values(
        {name: bindparam(name) for name in ("incident", "at", "kind", "text", "author_id", "author_name")}
    )
)
INCIDENT = select(tables.incidents).where(tables.incidents.c.number == bindparam("b_number"))
ROLES = select(tables.roles).where(tables.roles.c.incident == bindparam("b_number"))

STATUSES = ("triage", "investigating", "fixing", "monitoring", "resolved", "closed")
CLOSED_STATUSES = ("resolved", "closed")
SEVERITIES = (
    Severity(name="SEV1", aliases=["1", "critical"], description="Critical: customers are down", rank=1),
    Severity(name="SEV2", aliases=["2", "major"], description="Major: a core feature is broken", rank=2),
    Severity(name="SEV3", aliases=["3", "minor"], description="Minor: degraded, with a workaround", rank=3),
    Severity(name="SEV4", aliases=["4", "low"], description="Low: little or no customer impact", rank=4),
)
# INC-7, or the bare number where only a reference can stand (`link 7`, `link #7`).
_REFERENCE = re.compile(r"^(?:INC-?)?(\d{1,9})$", re.IGNORECASE)


def _person(user_id: str | None, name: str | None) -> Person | None:
    return Person(slack_id=user_id, name=name) if user_id else None


class Base:
    """What every part uses: the store, the in-memory incidents, the one write path."""

    name: str  # the adapter's (BuiltinProvider.name): the provider an incident is read as
    # The inbox key of the request this copy works for (`for_request`); None: no request
    # (the shell, a timer), nothing to mark.
    _request_key: str | None = None

    def __init__(self, store: Store, roles: list[str]) -> None:
        self.store = store
        # The store's clock, the runtime's one: incidents are dated as the rows beside them.
        self.clock = store.clock
        self._roles = list(roles)
        # Incidents as last committed, where this process is the store's only user (see
        # Store.cache): a change then costs its UPDATE and timeline INSERT, not three more
        # SELECTs to read the incident back, and `info` costs no query at all (bench/).
        self._known: dict[int, Incident] | None = {} if store.cache else None

    def _remember(self, incident: Incident) -> Incident:
        if self._known is not None:
            self._known[int(incident.id)] = incident
        return incident

    def _forget(self, number: int) -> None:
        if self._known is not None:
            self._known.pop(number, None)

    def _current(self, conn: Connection, number: int, **changed: object) -> Incident:
        """The incident after `changed`, in a transaction that made that change: from memory
        where it is known (the state the last committed change left), else read back."""
        known = self._known.get(number) if self._known is not None else None
        if known is None:
            return self._load(conn, number)
        fields = {k: v for k, v in changed.items() if k in Incident.model_fields}
        return known.model_copy(update=fields)

    async def _write(self, number: int | None, work: Callable[[Connection], T], cache: str = "forget") -> T:
        """Every change, one way: changes to one incident run one at a time (its row locked
        on PostgreSQL, so across bot processes too; SQLite's one store thread already runs
        them in turn); the request's inbox row is marked applied in the same transaction;
        and the cache learns the new state only once it is committed, in the store's thread
        before the next transaction, so the next change and every `info` read the state
        this one wrote. `cache`: "set" (the result is the incident now), "forget" (read it
        again next time), "keep" (the incident did not change)."""
        key = self._request_key

        def run(conn: Connection) -> T:
            if number is not None and conn.dialect.name == "postgresql":
                locked = conn.execute(
                    select(tables.incidents.c.number)
                    .where(tables.incidents.c.number == number)
                    .with_for_update()
                ).first()
                if locked is None:
                    raise NotFound(f"There is no incident INC-{number}.")
            result = work(conn)
            if key:
                Inbox.mark_applied(conn, key)
            return result

        def committed(result: T) -> None:
            if cache == "set" and isinstance(result, Incident):
                self._remember(result)
            elif cache == "forget" and number is not None:
                self._forget(number)

        return await self.store.write(run, on_commit=committed, quick=True)

    def for_request(self, key: str | None) -> Self:
        """This adapter for one request, handed its inbox key by the service: each change
        is marked applied under it in the change's own transaction, so after a restart the
        pipeline knows whether it was made. A shallow copy: the store, the cache and the
        rotations stay shared."""
        bound = copy.copy(self)
        bound._request_key = key
        return bound

    def parse_reference(self, text: str) -> str | None:
        match = _REFERENCE.match(text.strip())
        return str(int(match[1])) if match else None

    async def target_status(self, kind: Move) -> str:
        return "investigating" if kind in (Move.ACK, Move.REOPEN) else "resolved"

    async def find_by_channel(self, channel_id: str, channel_name: str | None) -> Incident | None:
        # Every built-in incident's channel is linked when it is declared or linked.
        return None

    async def check(self) -> str:
        return "built-in incidents, in the bot's own database"

    async def check_person(self, person: Person) -> None:
        return None  # everyone in Slack can hold a role here

    async def close(self) -> None:
        return None

    # incidents -------------------------------------------------------------------
    def _load(self, conn: Connection, number: int) -> Incident:
        row = conn.execute(INCIDENT, {"b_number": number}).first()
        if row is None:
            raise NotFound(f"There is no incident INC-{number}.")
        role_rows = conn.execute(ROLES, {"b_number": number})
        roles = {r.role: Person(slack_id=r.user_id, name=r.user_name) for r in role_rows}
        return Incident(
            provider=self.name,
            id=str(row.number),
            reference=f"INC-{row.number}",
            name=row.name,
            summary=row.summary,
            status=row.status,
            severity=row.severity,
            roles={role: roles[role] for role in self._roles if role in roles},
            followups=self._followups(conn, number),
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            updated_at=row.updated_at,
        )

    def _followups(self, conn: Connection, number: int) -> list[FollowUp]:
        rows = conn.execute(
            select(tables.followups)
            .where(tables.followups.c.incident == number)
            .order_by(tables.followups.c.number)
        )
        return [
            FollowUp(
                id=str(r.id),
                number=r.number,
                title=r.title,
                assignee=_person(r.assignee_id, r.assignee_name),
                due=r.due,
                state=r.state,
            )
            for r in rows
        ]

    async def get_incident(self, incident_id: str) -> Incident:
        number = _number(incident_id)
        if self._known is not None and number in self._known:
            return self._known[number]

        def work(conn: Connection) -> Any:
            return self._load(conn, number)

        # Remembered in the store's thread, in turn with the writes: a read that finished
        # before a change committed must not put its older state back after it.
        return await self.store.read(work, on_commit=self._remember, quick=True)

    async def _declared_with(self, key: str | None) -> Incident | None:
        if not key:
            return None

        def work(conn: Connection) -> Any:
            query = select(tables.incidents.c.number).where(tables.incidents.c.idempotency_key == key)
            number = (conn.execute(query)).scalar()
            return None if number is None else self._load(conn, number)

        return await self.store.read(work)

    def _log(
        self, conn: Connection, number: int, kind: str, text: str, author: Person | None
    ) -> TimelineEntry:
        at = self.clock.now()
        LOG.execute(
            conn,
            {
                "incident": number,
                "at": at,
                "kind": kind,
                "text": text,
                "author_id": author.slack_id if author else None,
                "author_name": author.name if author else None,
            },
        )
        return TimelineEntry(at=at, kind=kind, text=text, author=author)

    async def _change(self, number: int, actor: Person, kind: str, text: str, **values: object) -> Incident:
        def work(conn: Connection) -> Any:
            changed = {"updated_at": self.clock.now(), **values}
            if not touch(conn, number, changed):
                raise NotFound(f"There is no incident INC-{number}.")
            self._log(conn, number, kind, text, actor)
            return self._current(conn, number, **changed)

        return await self._write(number, work, cache="set")


@cache
def _touching(columns: tuple[str, ...]) -> Direct:
    values: dict[str, BindParameter[Any]] = {name: bindparam(f"v_{name}") for name in columns}
    return Direct(
        update(tables.incidents).where(tables.incidents.c.number == bindparam("b_number")).values(values)
    )


def touch(conn: Connection, number: int, values: dict[str, object]) -> int:
    """Set the incident's columns that `values` names; the rows changed (0: no such incident).
    One statement per set of columns, built once (a handful: each verb changes its own)."""
    statement = _touching(tuple(sorted(values)))
    return statement.execute(conn, {"b_number": number, **{f"v_{k}": v for k, v in values.items()}})


def inserted_id(result: CursorResult[Any]) -> int:
    """The new row's key, from a one-row INSERT (only an executemany has none)."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _number(incident_id: str) -> int:
    try:
        return int(incident_id)
    except ValueError:
        raise NotFound(f"There is no incident {incident_id}.") from None
