"""Each provider's webhook body, read into a `ProviderEvent`, by provider name. None: not an
event we act on (answered 2xx all the same, so the provider does not retry it). The readers
live with each provider (bot/providers/<name>/webhook.py)."""

from __future__ import annotations

from bot.providers import SPECS
from bot.providers.spec import Parse

PARSERS: dict[str, Parse] = {spec.name: spec.webhook.parse for spec in SPECS if spec.webhook}
