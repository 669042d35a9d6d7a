"""The Web API methods the bot calls and the bot scope each needs.

The manifest's scopes are generated from this table, and a contract test checks that
every method the code calls is in it: so the app asks for what it uses and no more.
"""

from __future__ import annotations

METHOD_SCOPES: dict[str, str | tuple[str, ...] | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    # The incident card is redrawn in place and pinned, so it stays current and findable.
    "chat.update": "chat:write",
    "pins.add": "pins:write",
    "pins.remove": "pins:write",
    # Modals open with the interaction's trigger_id: no scope beyond the interaction.
    "views.open": None,
    "views.update": None,
    # Public incident channels, and private ones (`declare private …`).
    "conversations.create": ("channels:manage", "groups:write"),
    "conversations.invite": ("channels:manage", "groups:write"),
    # `link` in a public channel the bot is not in: joined, so the card can be posted,
    # pinned and redrawn there.
    "conversations.join": "channels:join",
    # After a crash between answering and recording it: finding that answer (by the
    # request key in its metadata) instead of posting it twice.
    "conversations.history": ("channels:history", "groups:history"),
    # A 📌'd message read to put it in the timeline (a thread's reply among the replies),
    # with its link (chat.getPermalink needs no scope).
    "conversations.replies": ("channels:history", "groups:history"),
    "chat.getPermalink": None,
    "users.info": "users:read",
    # PagerDuty and FireHydrant know people by email only: users.info's profile.email
    # (which also needs this scope) and the reverse lookup.
    "users.lookupByEmail": "users:read.email",
    # Permissions: responders are the incident channel's members; admins may be a user group.
    "conversations.members": ("channels:read", "groups:read"),
    "usergroups.users.list": "usergroups:read",
    # `invite @sre-leads` typed rather than picked, and the policy file's auto-invites, name
    # a group by its handle.
    "usergroups.list": "usergroups:read",
    # The incident channel kept tidy (bot/slack/channel.py, bot/commands/archive.py): its
    # topic follows the incident, its bookmarks hold the incident's page and its call, and
    # it is archived a while after resolution (INCIDENT_ARCHIVE_AFTER).
    "conversations.setTopic": ("channels:manage", "groups:write"),
    "bookmarks.add": "bookmarks:write",
    "bookmarks.edit": "bookmarks:write",
    "conversations.archive": ("channels:manage", "groups:write"),
    "conversations.unarchive": ("channels:manage", "groups:write"),
    # `retro`: the draft as a canvas tabbed in the channel, shared with it for writing, and
    # edited in place when run again (bot/slack/documents.py).
    "canvases.create": "canvases:write",
    "canvases.edit": "canvases:write",
    "canvases.access.set": "canvases:write",
    # Where canvases are not available: the draft as a Markdown file, the old one deleted.
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.delete": "files:write",
    # A built-in page: the person's DM with the bot opened, so the page (and its
    # Acknowledge button) lands there and can be redrawn as acknowledged.
    "conversations.open": "im:write",
}


# Scopes for what Slack sends rather than what the bot calls: `@incident help`, a 📌.
EVENT_SCOPES: dict[str, str] = {
    "app_mention": "app_mentions:read",
    # 📌 on a message puts it in the incident's timeline; taken off soon after, out again.
    "reaction_added": "reactions:read",
    "reaction_removed": "reactions:read",
}


def scopes_of(method: str) -> tuple[str, ...]:
    needed = METHOD_SCOPES[method]
    return (needed,) if isinstance(needed, str) else (needed or ())


def bot_scopes() -> list[str]:
    return sorted({"commands", *(s for m in METHOD_SCOPES for s in scopes_of(m)), *EVENT_SCOPES.values()})


def missing_scopes(granted: str | None) -> list[str]:
    """The bot scopes the app asks for that its token was not granted: an install made from
    an older manifest, before a scope was added. `granted` is Slack's `x-oauth-scopes`
    header (comma-separated); None where Slack did not send it (nothing can be said)."""
    if granted is None:
        return []
    have = {s.strip() for s in granted.split(",") if s.strip()}
    return [s for s in bot_scopes() if s not in have]


def scope_problem(missing: list[str]) -> str:
    """One line for the deployer: what each missing scope costs, and the fix."""
    uses: dict[str, list[str]] = {}
    for method in METHOD_SCOPES:
        for scope in scopes_of(method):
            uses.setdefault(scope, []).append(method)
    for event, scope in EVENT_SCOPES.items():
        uses.setdefault(scope, []).append(f"{event} events")
    said = "; ".join(f"{s} ({', '.join(uses.get(s, [])[:3]) or 'slash commands'})" for s in missing)
    return (
        f"slack: the app's token lacks {len(missing)} scope{'s' if len(missing) > 1 else ''} this bot "
        f"asks for: {said}. Update the app from `manifest.yml` (or `python -m bot manifest`) and "
        f"reinstall it to the workspace; until then those calls fail."
    )
