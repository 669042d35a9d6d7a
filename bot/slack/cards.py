"""The incident card: posted once per channel, pinned, and redrawn in place after changes.

One pinned message that is always current beats a channel scrolling with stale cards;
`chat.update` keeps its place. Failures here never cost the user their answer: the card
is a convenience, the answer is the contract.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.results import Card, card
from bot.domain import Capability, CardRef, Incident, incident_stamp
from bot.outage import log_failure
from bot.present import present
from bot.slack import calls as slack_calls
from bot.slack.blocks import render_blocks, render_text
from bot.slack.calls import SlackUnavailable, Superseded, calls_of
from bot.slack.channel import ChannelKeeper
from bot.slack.workspace import slack_error

log = logging.getLogger(__name__)


class Stamps(Protocol):
    """When the provider last changed what each card shows (the store's `kept.advance`)."""

    async def advance(self, key: str, stamp: str) -> bool: ...


class CardStore(Protocol):
    """Where each channel's card is kept (the store's cards repository)."""

    async def set(self, card: CardRef) -> str | None: ...

    async def of(self, provider: str, incident_id: str) -> list[CardRef]: ...


# Redraws of one state that Slack kept failing (each already tried as often as calls.py
# tries), one interval (a second at the least) apart, before the card is left for the next
# change to put right.
REDRAW_ROUNDS = 5
# The longest Retry-After a redraw waits out: a card late by a minute still ends right,
# where an answer would rather go another way than wait.
REDRAW_PATIENCE = 60.0


class Cards:
    def __init__(
        self,
        client: AsyncWebClient,
        store: Callable[[], CardStore],
        now: Callable[[], datetime],
        keeper: ChannelKeeper | None = None,
        *,
        interval: float,
        stamps: Callable[[], Stamps] | None = None,
    ) -> None:
        self.client = client
        # Another process may draw the same card (PostgreSQL): a redraw held back by
        # chat.update's pace must not put an older state over its newer one.
        self.stamps = stamps
        self.interval = interval  # INCIDENT_CARD_REDRAW_SECONDS
        # The channel's topic and bookmarks, kept wherever the card is drawn (bot/slack/channel.py).
        self.keeper = keeper
        self.store = store  # a getter: the store opens on server start-up, after this is built
        self.now = now  # the runtime's clock, a getter too: what a redrawn "running for" counts to
        # Redraws coalesce per incident: the first change is drawn at once; later ones within
        # `interval` leave only their newest state, drawn once when the interval is
        # up. chat.update is rate limited (Tier 3, about 50 a minute), and five changes in
        # a second need one redraw, not five.
        self._newest: dict[tuple[str, str], tuple[Incident, list[str]]] = {}
        self._drawing: set[tuple[str, str]] = set()
        self._drawn_at: dict[tuple[str, str], float] = {}
        self._shown: dict[tuple[str, str], Incident] = {}  # the state each card was last drawn with

    async def posted(self, team_id: str, channel_id: str, ts: str, result: Card) -> None:
        """A card went up: it becomes the channel's card, pinned in place of the last one."""
        incident = result.incident
        shown = self._shown.get((incident.provider, incident.id))
        if shown is None or not _older(incident, shown):
            self._shown[(incident.provider, incident.id)] = incident
        calls = calls_of(self.client)
        try:
            old = await self.store().set(CardRef(team_id, channel_id, ts, incident.provider, incident.id))
            await calls.call("pins.add", channel=channel_id, timestamp=ts)
            if old:
                await calls.call("pins.remove", channel=channel_id, timestamp=old)
        except SlackApiError as exc:
            if slack_error(exc) not in ("already_pinned", "no_pin"):
                log.warning("could not pin the card in %s: %s", channel_id, slack_error(exc))
        except Exception as exc:
            log_failure(log, exc, "could not record the card in %s", channel_id)
        if self.keeper is not None:
            await self.keeper.follow(team_id, channel_id, incident)

    async def refresh(self, incident: Incident, capabilities: list[str]) -> None:
        """Redraw every card showing this incident with what it is now."""
        key = (incident.provider, incident.id)
        queued = self._newest.get(key)
        newest = queued[0] if queued else self._shown.get(key)
        if newest is not None and (_older(incident, newest) or incident == newest):
            # Replies can finish out of order: a card never goes back to an older state,
            # nor is it redrawn with what it already shows (an `info` that found no change).
            return
        self._newest[key] = (incident, capabilities)
        if key in self._drawing:
            return  # the caller drawing now draws this state too, right after
        self._drawing.add(key)
        loop = asyncio.get_running_loop()
        failed = 0  # rounds in a row that Slack did not take
        try:
            while key in self._newest:
                # A round Slack did not take is tried again a second later at the soonest,
                # whatever the spacing (0 included): calls.py has already retried each call.
                spacing = self.interval if failed == 0 else max(self.interval, 1.0)
                wait = self._drawn_at.get(key, -spacing) + spacing - loop.time()
                if wait > 0:
                    await slack_calls.pause(wait)  # the wait before a call, as calls.py's own
                self._drawn_at[key] = loop.time()
                drawing, caps = self._newest.pop(key)
                self._shown[key] = drawing
                if await self._redraw(drawing, caps):
                    failed = 0
                    continue
                failed += 1
                if key in self._newest:
                    continue  # a newer state came meanwhile: drawing it puts the card right
                if failed < REDRAW_ROUNDS:
                    # Drawn again at the next turn: the card ends showing what the store holds.
                    self._newest[key] = (drawing, caps)
                else:
                    # Not known to show it: the next change to arrive redraws it.
                    self._shown.pop(key, None)
                    log.warning(
                        "the card of %s could not be redrawn after %d rounds: it shows an older state",
                        incident.reference,
                        failed,
                    )
        finally:
            self._drawing.discard(key)
            if len(self._drawn_at) > 1000:  # forget incidents not drawn lately
                stale = loop.time() - max(self.interval, 1.0)
                self._drawn_at = {k: t for k, t in self._drawn_at.items() if t > stale}
                self._shown = {k: v for k, v in self._shown.items() if k in self._drawn_at}

    def _still(self, ref: CardRef, incident: Incident) -> Callable[[], Awaitable[bool]] | None:
        """Whether this redraw is still wanted once its turn at Slack has come: not where
        the card was drawn meanwhile with a later state (by another process). None where
        the provider dates nothing: the newest to arrive wins, as before."""
        stamp = incident_stamp(incident)
        if self.stamps is None or stamp is None:
            return None
        stamps, key = self.stamps, f"card:{ref.team_id}:{ref.channel_id}"  # its incident is in the stamp
        return lambda: stamps().advance(key, stamp)

    async def _redraw(self, incident: Incident, capabilities: list[str]) -> bool:
        """False where Slack kept failing (429, 5xx, lost connections) on a card: drawing
        the same state again later may work. Slack's plain "no" (the message is gone, the
        bot was removed) is said once and not tried again."""
        try:
            found = await self.store().of(incident.provider, incident.id)
        except Exception as exc:
            log_failure(log, exc, "could not read the cards of %s", incident.reference)
            return True
        if not found:
            return True
        doc = present(card(incident, frozenset(Capability(c) for c in capabilities), self.now()))
        blocks, text = render_blocks(doc), render_text(doc)
        drawn = True
        for ref in found:
            try:
                await calls_of(self.client).call(
                    "chat.update",
                    longest=REDRAW_PATIENCE,
                    still=self._still(ref, incident),
                    channel=ref.channel_id,
                    ts=ref.ts,
                    text=text,
                    blocks=blocks,
                )
            except Superseded:
                # Another process drew a newer state meanwhile, and kept its topic with it.
                log.debug("the card in %s shows a newer state already", ref.channel_id)
                continue
            except SlackUnavailable as exc:
                log.info("could not redraw the card in %s yet: %s", ref.channel_id, exc.reason)
                drawn = False
            except SlackApiError as exc:
                log.warning("could not redraw the card in %s: %s", ref.channel_id, slack_error(exc))
            if self.keeper is not None:
                await self.keeper.follow(ref.team_id, ref.channel_id, incident)
        return drawn


def _older(incident: Incident, than: Incident) -> bool:
    """Only where the provider dates its changes: otherwise the newest to arrive wins."""
    return (
        incident.updated_at is not None
        and than.updated_at is not None
        and incident.updated_at < than.updated_at
    )
