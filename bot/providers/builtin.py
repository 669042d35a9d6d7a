"""The built-in provider: incidents, roles, follow-ups, a timeline and on-call rotations,
kept in the bot's own store, for teams with no paid incident tool (and for the shell)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import (
    Capability,
    DeclareRequest,
    FollowUp,
    Incident,
    NotFound,
    OnCall,
    Override,
    Person,
    Rejected,
    Schedule,
    Severity,
    TimelineEntry,
    now,
    request_key,
)
from bot.providers.base import no_single_assignee
from bot.providers.rotation import Rotation, Shift, on_call
from bot.store import tables
from bot.store.db import Store
from bot.store.inbox import Inbox

T = TypeVar("T")

STATUSES = ("triage", "investigating", "fixing", "monitoring", "resolved", "closed")
CLOSED_STATUSES = ("resolved", "closed")
SEVERITIES = (
    Severity(name="SEV1", aliases=["1", "critical"], description="Critical: customers are down"),
    Severity(name="SEV2", aliases=["2", "major"], description="Major: a core feature is broken"),
    Severity(name="SEV3", aliases=["3", "minor"], description="Minor: degraded, with a workaround"),
    Severity(name="SEV4", aliases=["4", "low"], description="Low: little or no customer impact"),
)
_REFERENCE = re.compile(r"^INC-?(\d{1,9})$", re.IGNORECASE)


def _person(user_id: str | None, name: str | None) -> Person | None:
    return Person(slack_id=user_id, name=name) if user_id else None


class BuiltinProvider:
    name = "builtin"
    label = "Built-in"
    capabilities = frozenset(Capability) - {
        Capability.REASSIGN,
        Capability.TASKS,
        Capability.STAKEHOLDER_UPDATES,
    }
    # After a restart, declare may run again (the request's id is its idempotency key); the
    # other changes are marked applied in their own transaction (see _write), so a restart
    # knows whether each was made.
    records_applied = True
    replay_safe: frozenset[str] = frozenset({"declare"})
    unsupported = {
        Capability.REASSIGN: no_single_assignee("The built-in provider"),
        Capability.TASKS: "The built-in provider keeps follow-ups, not tasks: use `/incident followup`.",
        Capability.STAKEHOLDER_UPDATES: "The built-in provider has no subscribers to send an update to: "
        "post it with `/incident update`, and share the channel.",
    }

    def __init__(self, store: Store, roles: list[str]) -> None:
        self.store = store
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
        key = request_key.get()

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

        return await self.store.write(run, on_commit=committed)

    def parse_reference(self, text: str) -> str | None:
        match = _REFERENCE.match(text.strip())
        return str(int(match[1])) if match else None

    async def target_status(self, kind: str) -> str:
        return {"ack": "investigating", "reopen": "investigating"}.get(kind, "resolved")

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
        row = (conn.execute(select(tables.incidents).where(tables.incidents.c.number == number))).first()
        if row is None:
            raise NotFound(f"There is no incident INC-{number}.")
        role_rows = conn.execute(select(tables.roles).where(tables.roles.c.incident == number))
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

    async def get_incident(self, incident_id: str) -> Incident:
        number = _number(incident_id)
        if self._known is not None and number in self._known:
            return self._known[number]

        def work(conn: Connection) -> Any:
            return self._load(conn, number)

        # Remembered in the store's thread, in turn with the writes: a read that finished
        # before a change committed must not put its older state back after it.
        return await self.store.read(work, on_commit=self._remember)

    async def _declared_with(self, key: str | None) -> Incident | None:
        if not key:
            return None

        def work(conn: Connection) -> Any:
            query = select(tables.incidents.c.number).where(tables.incidents.c.idempotency_key == key)
            number = (conn.execute(query)).scalar()
            return None if number is None else self._load(conn, number)

        return await self.store.read(work)

    async def declare(self, request: DeclareRequest) -> Incident:
        if request.severity and request.severity not in {s.name for s in SEVERITIES}:
            raise Rejected(f"Unknown severity {request.severity}.")
        existing = await self._declared_with(request.idempotency_key)
        if existing is not None:
            return existing
        at = now()
        try:

            def work(conn: Connection) -> Any:
                result = conn.execute(
                    insert(tables.incidents).values(
                        name=request.name,
                        summary=request.summary,
                        status=STATUSES[0],
                        severity=request.severity,
                        created_at=at,
                        updated_at=at,
                        created_by=request.declared_by.slack_id,
                        idempotency_key=request.idempotency_key,
                    )
                )
                number = result.inserted_primary_key[0]
                self._log(conn, number, "declared", request.name, request.declared_by)
                return self._load(conn, number)

            return await self._write(None, work, cache="set")
        except IntegrityError:
            # The same request raced itself (a retry): hand back the one that won.
            winner = await self._declared_with(request.idempotency_key)
            if winner is None:
                raise
            return winner

    def _log(
        self, conn: Connection, number: int, kind: str, text: str, author: Person | None
    ) -> TimelineEntry:
        at = now()
        conn.execute(
            insert(tables.timeline).values(
                incident=number,
                at=at,
                kind=kind,
                text=text,
                author_id=author.slack_id if author else None,
                author_name=author.name if author else None,
            )
        )
        return TimelineEntry(at=at, kind=kind, text=text, author=author)

    async def _change(self, number: int, actor: Person, kind: str, text: str, **values: object) -> Incident:
        def work(conn: Connection) -> Any:
            changed = {"updated_at": now(), **values}
            result = conn.execute(
                update(tables.incidents).where(tables.incidents.c.number == number).values(**changed)
            )
            if not result.rowcount:
                raise NotFound(f"There is no incident INC-{number}.")
            self._log(conn, number, kind, text, actor)
            return self._current(conn, number, **changed)

        return await self._write(number, work, cache="set")

    async def statuses(self) -> list[str]:
        return list(STATUSES)

    async def set_status(
        self, incident_id: str, status: str, actor: Person, note: str | None = None, key: str | None = None
    ) -> Incident:
        if status not in STATUSES:
            raise Rejected(f"Unknown status {status}.")
        resolved_at = now() if status in CLOSED_STATUSES else None
        text = status + (f": {note}" if note else "")
        return await self._change(
            _number(incident_id), actor, "status", text, status=status, resolved_at=resolved_at
        )

    async def severities(self) -> list[Severity]:
        return list(SEVERITIES)

    async def set_severity(self, incident_id: str, severity: str, actor: Person) -> Incident:
        if severity not in {s.name for s in SEVERITIES}:
            raise Rejected(f"Unknown severity {severity}.")
        return await self._change(_number(incident_id), actor, "severity", severity, severity=severity)

    async def role_names(self) -> list[str]:
        return list(self._roles)

    async def assign_role(self, incident_id: str, role: str, person: Person, actor: Person) -> Incident:
        if role not in self._roles:
            raise Rejected(f"Unknown role {role}.")
        number = _number(incident_id)

        def work(conn: Connection) -> Any:
            at = now()
            conn.execute(
                update(tables.incidents).where(tables.incidents.c.number == number).values(updated_at=at)
            )
            before = self._current(conn, number, updated_at=at)
            # An upsert, under the incident's lock: two `lead`s at once both succeed, and
            # the later one holds the role.
            holder = {"user_id": person.slack_id, "user_name": person.name}
            where = (tables.roles.c.incident == number, tables.roles.c.role == role)
            if not conn.execute(update(tables.roles).where(*where).values(**holder)).rowcount:
                conn.execute(insert(tables.roles).values(incident=number, role=role, **holder))
            self._log(conn, number, "role", f"{role}: {person.name or person.slack_id}", actor)
            holders = before.roles | {role: person}
            return before.model_copy(update={"roles": {r: holders[r] for r in self._roles if r in holders}})

        return await self._write(number, work, cache="set")

    # follow-ups ------------------------------------------------------------------
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

    async def add_followup(
        self,
        incident_id: str,
        title: str,
        assignee: Person | None,
        due: datetime | None,
        actor: Person,
    ) -> FollowUp:
        number = _number(incident_id)

        def work(conn: Connection) -> Any:
            self._load(conn, number)
            # max + 1 under the incident's lock (see _write): no two follow-ups get one number.
            next_number = (
                conn.execute(
                    select(func.coalesce(func.max(tables.followups.c.number), 0) + 1).where(
                        tables.followups.c.incident == number
                    )
                )
            ).scalar_one()
            result = conn.execute(
                insert(tables.followups).values(
                    incident=number,
                    number=next_number,
                    title=title,
                    assignee_id=assignee.slack_id if assignee else None,
                    assignee_name=assignee.name if assignee else None,
                    due=due,
                    state="open",
                    created_at=now(),
                )
            )
            self._log(conn, number, "followup", title, actor)
            return FollowUp(
                id=str(result.inserted_primary_key[0]),
                number=next_number,
                title=title,
                assignee=assignee,
                due=due,
            )

        return await self._write(number, work)  # its follow-ups changed: read again next time

    async def list_followups(self, incident_id: str) -> list[FollowUp]:
        def work(conn: Connection) -> Any:
            self._load(conn, _number(incident_id))
            return self._followups(conn, _number(incident_id))

        return await self.store.read(work)

    async def complete_followup(self, incident_id: str, number: int, actor: Person) -> FollowUp:
        incident = _number(incident_id)

        def work(conn: Connection) -> Any:
            result = conn.execute(
                update(tables.followups)
                .where(tables.followups.c.incident == incident, tables.followups.c.number == number)
                .values(state="done")
            )
            if not result.rowcount:
                raise NotFound(f"INC-{incident} has no follow-up #{number}.")
            self._log(conn, incident, "followup", f"done: #{number}", actor)
            return next(f for f in self._followups(conn, incident) if f.number == number)

        return await self._write(incident, work)  # its follow-ups changed: read again next time

    async def post_update(
        self, incident_id: str, text: str, actor: Person, key: str | None = None, stakeholders: bool = False
    ) -> TimelineEntry:
        number = _number(incident_id)

        def work(conn: Connection) -> Any:
            self._current(conn, number)  # it exists
            return self._log(conn, number, "update", text, actor)

        return await self._write(number, work, cache="keep")

    async def timeline(self, incident_id: str) -> list[TimelineEntry]:
        def work(conn: Connection) -> Any:
            rows = conn.execute(
                select(tables.timeline)
                .where(tables.timeline.c.incident == _number(incident_id))
                .order_by(tables.timeline.c.id)
            )
            return [
                TimelineEntry(at=r.at, kind=r.kind, text=r.text, author=_person(r.author_id, r.author_name))
                for r in rows
            ]

        return await self.store.read(work)

    # on-call ---------------------------------------------------------------------
    @staticmethod
    def _schedule(row: object) -> Schedule:
        return Schedule(
            id=str(row.id),  # type: ignore[attr-defined]
            name=row.name,  # type: ignore[attr-defined]
            users=[Person(**u) for u in row.users],  # type: ignore[attr-defined]
            handover_seconds=row.handover_seconds,  # type: ignore[attr-defined]
            start=row.start,  # type: ignore[attr-defined]
        )

    async def schedules(self) -> list[Schedule]:
        def work(conn: Connection) -> Any:
            rows = conn.execute(select(tables.schedules).order_by(tables.schedules.c.name))
            return [self._schedule(r) for r in rows]

        return await self.store.read(work)

    async def save_schedule(
        self, name: str, users: list[Person], handover: timedelta, start: datetime
    ) -> Schedule:
        values = {
            "users": [u.model_dump() for u in users],
            "handover_seconds": int(handover.total_seconds()),
            "start": start,
        }

        def work(conn: Connection) -> Any:
            result = conn.execute(
                update(tables.schedules).where(tables.schedules.c.name == name).values(**values)
            )
            if not result.rowcount:
                conn.execute(insert(tables.schedules).values(name=name, **values))
            row = (conn.execute(select(tables.schedules).where(tables.schedules.c.name == name))).one()
            return self._schedule(row)

        return await self._write(None, work, cache="keep")

    def _overrides(self, conn: Connection, schedule_id: int, after: datetime) -> list[Shift]:
        rows = conn.execute(
            select(tables.overrides).where(
                tables.overrides.c.schedule == schedule_id, tables.overrides.c.end > after
            )
        )
        return [
            Shift(Person(slack_id=r.user_id, name=r.user_name), r.start, r.end, r.created_at) for r in rows
        ]

    async def oncall(self, schedule: str | None, at: datetime) -> list[OnCall]:
        answers = []

        def work(conn: Connection) -> Any:
            query = select(tables.schedules).order_by(tables.schedules.c.name)
            if schedule is not None:
                query = query.where(tables.schedules.c.name == schedule)
            for row in conn.execute(query):
                sched = self._schedule(row)
                rotation = Rotation(tuple(sched.users), timedelta(seconds=row.handover_seconds), row.start)
                shift, is_override = on_call(rotation, self._overrides(conn, row.id, at), at)
                answers.append(
                    OnCall(
                        schedule=sched,
                        person=shift.person if shift else None,
                        until=shift.end if shift else None,
                        is_override=is_override,
                    )
                )

        await self.store.read(work)
        if schedule is not None and not answers:
            raise NotFound(f"There is no schedule called {schedule}.")
        return answers

    async def create_override(
        self, schedule: str, person: Person, start: datetime, end: datetime, actor: Person
    ) -> Override:
        def work(conn: Connection) -> Any:
            row = (conn.execute(select(tables.schedules).where(tables.schedules.c.name == schedule))).first()
            if row is None:
                raise NotFound(f"There is no schedule called {schedule}.")
            result = conn.execute(
                insert(tables.overrides).values(
                    schedule=row.id,
                    user_id=person.slack_id,
                    user_name=person.name,
                    start=start,
                    end=end,
                    created_by=actor.slack_id,
                    created_at=now(),
                )
            )
            return Override(
                id=str(result.inserted_primary_key[0]),
                schedule=self._schedule(row),
                person=person,
                start=start,
                end=end,
            )

        return await self._write(None, work, cache="keep")

    async def list_overrides(self, schedule: str | None, since: datetime) -> list[Override]:
        def work(conn: Connection) -> Any:
            query = (
                select(tables.overrides, tables.schedules.c.name.label("schedule_name"))
                .join(tables.schedules, tables.schedules.c.id == tables.overrides.c.schedule)
                .where(tables.overrides.c.end > since)
            )
            if schedule is not None:
                query = query.where(tables.schedules.c.name == schedule)
            return [
                Override(
                    id=str(r.id),
                    schedule=Schedule(id=str(r.schedule), name=r.schedule_name),
                    person=Person(slack_id=r.user_id, name=r.user_name),
                    start=r.start,
                    end=r.end,
                )
                for r in conn.execute(query)
            ]

        return await self.store.read(work)

    async def cancel_override(self, override: Override, actor: Person) -> bool:
        def work(conn: Connection) -> Any:
            conn.execute(delete(tables.overrides).where(tables.overrides.c.id == int(override.id)))

        await self._write(None, work, cache="keep")
        return True


def _number(incident_id: str) -> int:
    try:
        return int(incident_id)
    except ValueError:
        raise NotFound(f"There is no incident {incident_id}.") from None
