"""The database's absence, told once: a WARNING when it stops answering, an INFO when it is back.

Why: during an outage every request and every background round fails the same way, and a
traceback for each buried the two facts an operator needs, when it started and when it
ended. Callers ask `unavailable(exc)` to tell an outage (refused, reset, not answering in
time, locked) from a bug, report the outage here, and log nothing of their own.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import time

from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)
# asyncpg's SQLSTATEs for a server that is not there for us: class 08 (connection
# exceptions), shutting down or starting up, and a statement cancelled by a timeout.
_GONE_STATES = ("08", "57P01", "57P02", "57P03", "57014", "53300")
# asyncpg's own errors for a link that broke under a query.
_GONE_NAMES = frozenset(
    {
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "ClientCannotConnectError",
        "InternalClientError",
    }
)
_SQLITE_GONE = ("locked", "busy", "unable to open", "disk i/o")


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc`, what it wraps (SQLAlchemy's `orig`) and what caused it, outermost first."""
    seen: list[BaseException] = []
    queue: list[BaseException | None] = [exc]
    while queue:
        item = queue.pop(0)
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        queue += [getattr(item, "orig", None), item.__cause__, item.__context__]
    return seen


def unavailable(exc: BaseException) -> bool:
    """True when `exc`, raised by the store, says the database is not there, rather than
    that a query is wrong. Only for what the store raised: a network error from anywhere
    else (a provider, Slack) would pass for one; elsewhere ask `away`."""
    for item in _chain(exc):
        if isinstance(item, TimeoutError | OSError | socket.gaierror | sa_exc.DisconnectionError):
            return True
        if isinstance(item, sa_exc.TimeoutError):  # the pool's: no connection in time
            return True
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return True
        if isinstance(item, sqlite3.OperationalError) and any(w in str(item).lower() for w in _SQLITE_GONE):
            return True
        if type(item).__module__.startswith("asyncpg"):
            state = str(getattr(item, "sqlstate", "") or "")
            if state.startswith(_GONE_STATES) or type(item).__name__ in _GONE_NAMES:
                return True
            if "connection is closed" in str(item) or "connection was closed" in str(item):
                return True
    return False


def mark(exc: BaseException) -> None:
    """Tag `exc` as the database's absence, as the store raises it, for `away`."""
    try:
        exc.database_away = True  # type: ignore[attr-defined]  # our tag on any exception, read by away()
    except AttributeError:  # an exception that takes no attributes: told as a bug, at worst
        pass


def away(exc: BaseException) -> bool:
    """True when `exc` is (or was caused by) what the store raised for the database's absence."""
    return any(getattr(item, "database_away", False) for item in _chain(exc))


def reason(exc: BaseException) -> str:
    """The innermost cause, in a few words, for the one line."""
    inner = [item for item in _chain(exc) if not isinstance(item, asyncio.CancelledError)][-1]
    if isinstance(inner, TimeoutError) and not str(inner):
        return "no answer in time"
    text = str(inner).splitlines()[0][:120] if str(inner) else ""
    return f"{type(inner).__name__}: {text}" if text else type(inner).__name__


class Outage:
    """Whether the database is answering, as the last transaction found it."""

    def __init__(self, name: str = "database") -> None:
        self.name = name
        self.since: float | None = None  # monotonic time of the first failure, while down
        # Told only once the store has opened: before that, a database that is not there
        # is a configuration mistake, said in its own one line (bot/store/errors.py).
        self.armed = False

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> None:
        if self.since is None and self.armed:
            self.since = time.monotonic()
            log.warning(
                "the %s isn't answering (%s): requests are refused until it is back", self.name, reason(exc)
            )

    def answered(self) -> None:
        if self.since is not None:
            lasted = time.monotonic() - self.since
            self.since = None
            log.info("the %s is answering again, after %.1f s", self.name, lasted)


def log_failure(logger: logging.Logger, exc: BaseException, message: str, *args: object) -> None:
    """`logger.exception(message, *args)`, except where `exc` is the database's absence as
    the store raised it: then the line alone, at INFO and without its traceback, since the
    outage's own WARNING says why, once (a line is kept: it may carry what a person was
    told, an error id)."""
    if away(exc):
        logger.info(message + " (the database isn't answering)", *args)
    else:
        logger.error(message, *args, exc_info=exc)
