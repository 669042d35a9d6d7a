"""A database that will not open, said in one line an operator can act on."""

from __future__ import annotations

import socket

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import ConfigError, store_name


def database_error(exc: BaseException, url: str) -> ConfigError:
    """`exc` from opening the store → one line naming DATABASE_URL and what went wrong."""
    if type(exc).__name__ == "SchemaBehind":
        return ConfigError(
            f"DATABASE_URL: {exc}: run `incident-bot migrate` (or set AUTO_MIGRATE=1) and start again."
        )
    cause: BaseException = exc
    while (under := getattr(cause, "orig", None) or cause.__cause__) is not None:
        cause = under
    name = type(cause).__name__
    user = _user(url)
    if name == "InvalidPasswordError" or "password authentication failed" in str(cause):
        what = f"refused the password for user {user}"
    elif name == "InvalidCatalogNameError":
        what = "does not exist (create it, or fix the name in the URL)"
    elif name in ("InvalidAuthorizationSpecificationError",):
        what = f"refused user {user}"
    elif isinstance(cause, socket.gaierror):
        what = "cannot be reached: its host name is unknown"
    elif isinstance(cause, ConnectionRefusedError | TimeoutError) or "Connect call failed" in str(cause):
        what = "cannot be reached: nothing answers at that address (is the server up?)"
    elif "unable to open database file" in str(cause):
        what = "cannot be opened: does its folder exist, and may the bot write there?"
    elif isinstance(cause, PermissionError) or "readonly" in str(cause):
        what = "is not writable by the bot"
    else:
        what = (
            f"could not be opened ({name}: {str(cause).splitlines()[0][:120] if str(cause) else 'no detail'})"
        )
    end = "" if what.endswith(("?", ".", ")")) else "."
    return ConfigError(f"DATABASE_URL: the {store_name(url)} {what}{end}")


def _user(url: str) -> str:
    try:
        return make_url(url).username or "(none)"
    except ArgumentError:
        return "(unknown)"
