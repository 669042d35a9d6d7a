"""The built-in provider: incidents, roles, follow-ups, a timeline and on-call rotations,
kept in the bot's own store, for teams with no paid incident tool (and for the shell)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.domain import Capability
from bot.providers.base import Directory, Provider, no_single_assignee
from bot.providers.builtin.followups import FollowUps
from bot.providers.builtin.incidents import Incidents
from bot.providers.builtin.paging import Paging
from bot.providers.duplicates import ResolvesAsDuplicate
from bot.providers.spec import ProviderSpec

if TYPE_CHECKING:  # built before any provider: only their types here
    from bot.config import Settings
    from bot.store.db import Store


class BuiltinProvider(Incidents, FollowUps, Paging, ResolvesAsDuplicate):
    """The adapter: its parts (bot/providers/builtin/*.py) over the bot's own store."""

    name = "builtin"
    label = "Built-in"
    # After a restart, declare and page may run again (the request's id is the incident's
    # idempotency key, and the page's id: a replay finds the page made and rings nobody
    # twice); the other changes are marked applied in their own transaction (see _write),
    # so a restart knows whether each was made.
    records_applied = True
    replay_safe: frozenset[Capability] = frozenset({Capability.DECLARE, Capability.PAGE})
    unsupported = {
        Capability.REASSIGN: no_single_assignee("The built-in provider"),
        Capability.TASKS: "The built-in provider keeps follow-ups, not tasks: use `/incident followup`.",
        Capability.STATUS_PAGE: "The built-in provider has no public status page: post it on your "
        "status page yourself, and `/incident update` here what you published.",
        Capability.STAKEHOLDER_UPDATES: "The built-in provider has no subscribers to send an update to: "
        "post it with `/incident update`, and share the channel.",
    }


__all__ = ["BuiltinProvider"]


def _build(
    settings: Settings, store: Store, directory: Directory, clock: Clock, http: dict[str, Any]
) -> Provider:
    return BuiltinProvider(store, settings.incident_roles)


SPEC = ProviderSpec(
    name=BuiltinProvider.name,
    label=BuiltinProvider.label,
    key_setting=None,  # always on: it keeps its incidents in the bot's own store
    build=_build,
    settings=("incident_roles",),
    prefixes=("builtin",),
)
