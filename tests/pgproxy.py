"""A TCP proxy in front of PostgreSQL, for the database's outages as they happen.

- `passing()`: bytes flow both ways; what was held meanwhile flows now (a partition healed).
- `refusing()`: every link is cut and every new one closed at once (the server restarting).
- `blackholing()`: links stay open and nothing is forwarded either way; new ones are
  accepted and never answered (a network partition).
- `partitioning_after_commit(marker)`: bytes flow until a link that carried `marker` (an
  INSERT's text) carries a COMMIT; that COMMIT reaches the server, and from then on
  everything is blackholed: the COMMIT is made and the client never hears so.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from sqlalchemy import make_url


@dataclass(eq=False)  # one link is one link: kept in a set
class Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    marked: bool = False  # partitioning_after_commit: the marker went through it

    def cut(self) -> None:
        for writer in (self.client, self.server):
            if writer is not None:
                writer.transport.abort()


class PgProxy:
    def __init__(self, upstream_url: str) -> None:
        self.upstream = make_url(upstream_url)
        self.mode = "pass"
        self.port = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._links: set[Link] = set()
        self._accepting: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._marker = b""

    @property
    def url(self) -> str:
        """The upstream's URL, through the proxy."""
        return self.upstream.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.refusing()
        if self._server is not None:
            self._server.close()
        if self._accepting:
            await asyncio.wait(set(self._accepting))
        if self._server is not None:
            await self._server.wait_closed()

    def passing(self) -> None:
        self.mode = "pass"
        self._flowing.set()

    def refusing(self) -> None:
        self.mode = "refuse"
        for link in list(self._links):
            link.cut()
        self._flowing.set()

    def blackholing(self) -> None:
        self.mode = "blackhole"
        self._flowing.clear()

    def partitioning_after_commit(self, marker: bytes) -> None:
        self._marker = marker
        for link in self._links:
            link.marked = False
        self.mode = "partition_after_commit"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._accepting.add(task)
            task.add_done_callback(self._accepting.discard)
        if self.mode == "refuse":
            writer.transport.abort()
            return
        link = Link(writer)
        self._links.add(link)
        try:
            await self._flowing.wait()  # blackholed: accepted, never answered
            if self.mode == "refuse":
                return
            try:
                up_reader, link.server = await asyncio.open_connection(
                    self.upstream.host or "127.0.0.1", self.upstream.port or 5432
                )
            except OSError:
                return
            await asyncio.gather(
                self._pipe(link, reader, link.server, upward=True),
                self._pipe(link, up_reader, writer, upward=False),
                return_exceptions=True,
            )
        finally:
            self._links.discard(link)
            link.cut()

    async def _pipe(
        self, link: Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, upward: bool
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                await self._flowing.wait()  # blackholed: held, not lost
                if sink.transport.is_closing():
                    return
                sink.write(data)
                await sink.drain()
                if upward and self.mode == "partition_after_commit":
                    link.marked = link.marked or self._marker in data
                    if link.marked and b"COMMIT;" in data:
                        self.blackholing()
            # The other end closed: so does this one, after what was held (a healed link).
            if sink.can_write_eof():
                sink.write_eof()
