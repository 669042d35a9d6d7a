"""The Web API methods the bot calls and the bot scope each needs.

The manifest's scopes are generated from this table, and a contract test checks that
every method the code calls is in it: so the app asks for what it uses and no more.
"""

from __future__ import annotations

METHOD_SCOPES: dict[str, str | None] = {
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
    "conversations.create": "channels:manage",
    "conversations.invite": "channels:manage",
    "users.info": "users:read",
    # PagerDuty and FireHydrant know people by email only: users.info's profile.email
    # (which also needs this scope) and the reverse lookup.
    "users.lookupByEmail": "users:read.email",
    # Permissions: responders are the incident channel's members; admins may be a user group.
    "conversations.members": "channels:read",
    "usergroups.users.list": "usergroups:read",
}


def bot_scopes() -> list[str]:
    return sorted({"commands", *(s for s in METHOD_SCOPES.values() if s)})
