"""The incident channel kept tidy: its topic, its bookmarks, its archive after resolution.

What the command layer says about the channel (the results below) and the words the
Slack layer puts in it (the topic), kept apart from Slack itself: bot/slack/channel.py
sets them, bot/commands/archive.py decides when the channel is archived.
"""

from __future__ import annotations

from datetime import datetime

from bot.commands.results import Elsewhere, Result
from bot.domain import Incident, Person

TOPIC_MOST = 250  # Slack refuses a longer topic (too_long)


def call_key(provider: str, incident_id: str) -> str:
    """Where the bot keeps an incident's call link (`store.kept`), at providers that keep none."""
    return f"call:{provider}:{incident_id}"


def lead_of(incident: Incident) -> tuple[str, Person | None]:
    """Who leads, and the word for it: the provider's lead role where it has roles (the
    card's), else the first one holding any (PagerDuty's assignee)."""
    lead_role = incident.pulse.lead_role if incident.pulse else None
    if lead_role is not None:
        return "Lead", incident.roles.get(lead_role)
    for role, person in incident.roles.items():
        return role.capitalize(), person
    return "Lead", None


def topic_of(incident: Incident) -> str:
    """`Investigating · SEV2 · Lead: @bea`: where it stands, for whoever glances at the
    channel's header. Plain words: Slack shows a topic without formatting, so a lead is
    named, not mentioned."""
    status = incident.status[:1].upper() + incident.status[1:]
    word, lead = lead_of(incident)
    named = f"@{lead.name}" if lead and lead.name else ("someone" if lead else "nobody yet")
    topic = f"{status} · {incident.severity or 'no severity'} · {word}: {named}"
    return topic if len(topic) <= TOPIC_MOST else topic[: TOPIC_MOST - 1] + "…"


class CallSet(Result):
    """`call <link>`: the incident's call, for everyone in its channel."""

    incident: Incident
    link: str
    actor: Person
    kept_by: str  # who keeps the link: the provider's label, or "the bot"


class ArchiveSoon(Result):
    """The day before a resolved incident's channel is archived: said in the channel."""

    incident: Incident
    at: datetime  # when it will be archived
    command: str


class NotUnarchived(Result):
    """The incident was reopened, and Slack would not let the bot unarchive its channel."""

    incident: Incident
    channel_id: str
    reason: str  # Slack's error


# Result's own fields name types of results.py (`Elsewhere`): resolved here, once.
for _model in (CallSet, ArchiveSoon, NotUnarchived):
    _model.model_rebuild(_types_namespace={"Elsewhere": Elsewhere})
