"""FireHydrant's API, the operations the bot uses, with state, on 127.0.0.1."""

from __future__ import annotations

from tests.fakes.server import FakeProvider


class FakeFireHydrant(FakeProvider):
    provider = "firehydrant"

    def routes(self) -> None:
        pass
