"""Each provider's webhook signature check, by provider name: checked on the raw body before
anything parses it. The checks live with each provider (bot/providers/<name>/webhook.py);
this is the receiver's port to them, so the Slack edge reaches no provider package."""

from __future__ import annotations

from bot.providers import SPECS
from bot.providers.spec import Verify

VERIFIERS: dict[str, Verify] = {spec.name: spec.webhook.verify for spec in SPECS if spec.webhook}
