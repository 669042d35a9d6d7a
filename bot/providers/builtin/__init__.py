"""The built-in provider: incidents, roles, follow-ups, a timeline and on-call rotations,
kept in the bot's own store, for teams with no paid incident tool (and for the shell)."""

from __future__ import annotations

from bot.domain import Capability
from bot.providers.base import no_single_assignee
from bot.providers.builtin.followups import FollowUps
from bot.providers.builtin.incidents import Incidents
from bot.providers.builtin.oncall import OnCalls


class BuiltinProvider(Incidents, FollowUps, OnCalls):
    """The adapter: its parts (bot/providers/builtin/*.py) over the bot's own store."""

    name = "builtin"
    label = "Built-in"
    # After a restart, declare may run again (the request's id is its idempotency key); the
    # other changes are marked applied in their own transaction (see _write), so a restart
    # knows whether each was made.
    records_applied = True
    replay_safe: frozenset[Capability] = frozenset({Capability.DECLARE})
    unsupported = {
        Capability.REASSIGN: no_single_assignee("The built-in provider"),
        Capability.TASKS: "The built-in provider keeps follow-ups, not tasks: use `/incident followup`.",
        Capability.STAKEHOLDER_UPDATES: "The built-in provider has no subscribers to send an update to: "
        "post it with `/incident update`, and share the channel.",
    }


__all__ = ["BuiltinProvider"]
