"""What the person is told when a provider said no, failed, or did not answer: one
wording whether it happened while deciding who may act (the policy reads the incident)
or while acting."""

from __future__ import annotations

from bot.commands.registry import Verb
from bot.commands.results import DoneUnread, Failure, Reply
from bot.domain import (
    Misconfigured,
    NotFound,
    Person,
    ProviderError,
    Rejected,
    WrittenNotRead,
    in_command,
)
from bot.providers.base import Provider
from bot.redact import clip, redact


def provider_failure(
    provider: Provider,
    verb: Verb,
    exc: ProviderError | TimeoutError,
    command: str,
    timeout: float,
    actor: Person | None = None,
) -> Reply:
    if isinstance(exc, WrittenNotRead):
        reason = redact(exc.message)
        done = DoneUnread(done=exc.done, provider_label=provider.label, reason=reason, actor=actor)
        return Reply(result=done, outcome="ok")
    if isinstance(exc, NotFound | Rejected):
        step = f"`{command} help {verb.name}` shows how to use it."
        what = in_command(exc.message, command)
        return Reply(result=Failure(what=what, changed="no", next_step=step), outcome="failed")
    if isinstance(exc, Misconfigured):
        # The message names the setting; trying again, or in a minute, would change nothing.
        step = "Ask whoever runs the bot to set it."
        return Reply(result=Failure(what=exc.message, changed="no", next_step=step), outcome="failed")
    if isinstance(exc, TimeoutError):
        result = Failure(
            what=f"{provider.label} did not answer within {int(timeout)} seconds.",
            changed="unknown" if verb.writes else "no",
            next_step=f"Check the incident with `{command} info` before trying again.",
        )
        return Reply(result=result, outcome="failed")
    what = exc.message if exc.message.startswith(provider.label) else f"{provider.label}: {exc.message}"
    what = redact(what)
    if exc.request_id:
        what += f" (request id {clip(exc.request_id, 80)})"
    if exc.changed != "no":
        step = f"Check with `{command} info` before trying again."
    elif exc.status in (401, 403):  # the bot's key: a minute changes nothing, its operator can
        step = (
            f"Ask whoever runs the bot to check its {provider.label} API key; "
            f"meanwhile, do it in {provider.label} itself."
        )
    else:
        step = f"Try again in a minute; if it keeps failing, do it in {provider.label} itself."
    result = Failure(what=what, changed=exc.changed, next_step=step)
    return Reply(result=result, outcome="failed")
