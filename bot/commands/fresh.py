"""Each incident as last read or written, for a few seconds: a status change, `info`,
`roles` or `update` right after another command costs no read at the provider.

Why it can be trusted: every change the bot makes replaces the entry with the incident the
provider answered with, or drops it where the answer did not carry the incident or is
older than another change's that ran beside it (changes to other parts of one incident
run at once: bot/commands/service.py keeps the newest known); a provider's webhook drops
it before the incident is read again. What can make an entry stale is a change made elsewhere (the
provider's own UI) that no webhook reported, and that lasts `seconds` at the most: 10 by
default, a minute where the provider's webhook is on, since that reports such changes.

Several processes sharing PostgreSQL tell each other (bot/store/peers.py): every put and
forget here is told to the others, which drop their entries for it; while this process
cannot hear them (its listening connection lost), nothing is reused and every read goes to
the provider, and everything read before is dropped when it hears them again.
"""

from __future__ import annotations

import asyncio
import time

from bot.domain import Incident
from bot.providers.base import Provider
from bot.store.peers import Peers

WITH_WEBHOOK = 6  # times longer, where a webhook reports changes made outside the bot
MAX_ENTRIES = 5_000

Key = tuple[str, str]  # (provider, incident id as asked)
PEERS_KIND = "incident"  # in the notices to the other processes


class FreshIncidents:
    def __init__(
        self, seconds: float, webhooks: frozenset[str] = frozenset(), peers: Peers | None = None
    ) -> None:
        self.seconds = seconds
        self._webhooks = webhooks
        self._peers = peers
        if peers is not None:
            peers.on(PEERS_KIND, self._told, self._reset)
        self._entries: dict[Key, tuple[float, Incident]] = {}
        self._loading: dict[Key, asyncio.Future[Incident]] = {}
        # A read that was under way when the bot changed the incident brings back the state
        # from before the change: it is handed to whoever asked, never kept. Each put or
        # forget is numbered; a read keeps its answer only if no change came after it began.
        self._tick = 0
        self._changed: dict[Key, int] = {}
        self._cleared = 0
        # An incident is asked for by the id a command holds (incident.io's "12", typed as
        # INC-12) and known by its own ("01HX…"): every key it was asked by is kept in step.
        self._keys: dict[Key, set[str]] = {}  # (provider, any of its keys) → all of them

    async def get(self, provider: Provider, incident_id: str) -> Incident:
        if self.seconds <= 0 or (self._peers is not None and not self._peers.live):
            return await provider.get_incident(incident_id)
        key = (provider.name, incident_id)
        hit = self._entries.get(key)
        if hit is not None and time.monotonic() - hit[0] < self._ttl(provider.name):
            return hit[1]
        pending = self._loading.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise  # this caller itself is being cancelled
                # The read it joined was cancelled with its own asker (a timeout there), not
                # with this one: read for itself rather than die without an answer.
        began = self._tick
        future: asyncio.Future[Incident] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            incident = await provider.get_incident(incident_id)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # retrieved: a failure nobody else awaited is not an error
            else:
                future.cancel()
            raise
        finally:
            if self._loading.get(key) is future:  # not a newer read begun after a change
                del self._loading[key]
        future.set_result(incident)
        self._same(provider.name, incident.id, incident_id)
        keys = self._all(provider.name, incident.id)
        if began >= self._cleared and all(self._changed.get(k, -1) <= began for k in keys):
            self._store(key, incident)
        return incident

    def put(self, incident: Incident, asked_as: str | None = None) -> None:
        """The incident as a change of the bot's own left it."""
        if self.seconds <= 0:
            return
        self._same(incident.provider, incident.id, asked_as or incident.id)
        keys = self._all(incident.provider, incident.id)
        if self._peers is not None:
            self._peers.tell(PEERS_KIND, list(keys))
            if not self._peers.live:
                self._drop(keys)
                return
        for key in keys:
            self._changed[key] = self._tick = self._tick + 1
            self._loading.pop(key, None)  # a read under way began before this: nobody joins it
            self._store(key, incident)

    def forget(self, provider: str, incident_id: str) -> None:
        """Changed in a way the bot did not see the result of: read it again next time (here
        and in the other processes)."""
        keys = self._all(provider, incident_id)
        if self._peers is not None and self.seconds > 0:
            self._peers.tell(PEERS_KIND, list(keys))
        self._drop(keys)

    def _told(self, keys: list[Key]) -> None:
        """Another process changed these: each, under every name it is known by here."""
        for provider, incident_id in keys:
            # Only what is kept or being read: a mark for every incident the others change
            # would grow without bound here.
            known = [k for k in self._all(provider, incident_id) if k in self._entries or k in self._loading]
            self._drop(known)

    def _reset(self) -> None:
        """Notices may have been missed: nothing read before is kept or handed out."""
        self._entries.clear()
        self._loading.clear()
        self._cleared = self._tick = self._tick + 1

    def _drop(self, keys: list[Key]) -> None:
        for key in keys:
            self._changed[key] = self._tick = self._tick + 1
            self._entries.pop(key, None)
            # A read under way began before the change: whoever asks from now on reads anew,
            # rather than join it and be answered with the state from before.
            self._loading.pop(key, None)

    def _ttl(self, provider: str) -> float:
        return self.seconds * (WITH_WEBHOOK if provider in self._webhooks else 1)

    def _store(self, key: Key, incident: Incident) -> None:
        if len(self._entries) >= MAX_ENTRIES or len(self._changed) >= 4 * MAX_ENTRIES:
            # Start again rather than keep a log of every incident ever seen; a read under
            # way now is not kept (`_cleared`), so nothing stale survives the reset.
            self._entries.clear()
            self._changed.clear()
            self._keys.clear()
            self._cleared = self._tick = self._tick + 1
        self._entries[key] = (time.monotonic(), incident)

    def _all(self, provider: str, incident_id: str) -> list[Key]:
        return [(provider, k) for k in self._keys.get((provider, incident_id), {incident_id})]

    def _same(self, provider: str, full: str, asked: str) -> None:
        if full == asked and (provider, full) in self._keys:
            return
        keys = self._keys.get((provider, full), {full}) | self._keys.get((provider, asked), {asked})
        for key in keys:
            self._keys[(provider, key)] = keys
