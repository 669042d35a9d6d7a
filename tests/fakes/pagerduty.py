"""PagerDuty's REST API v2, the operations the bot uses, with state, on 127.0.0.1."""

from __future__ import annotations

from tests.fakes.server import FakeProvider


class FakePagerDuty(FakeProvider):
    provider = "pagerduty"

    def routes(self) -> None:
        pass
