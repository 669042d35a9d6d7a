"""Provider webhooks: verify each delivery the provider's documented way, then read it
into a `ProviderEvent` (bot/domain.py) for the pipeline to act on."""
