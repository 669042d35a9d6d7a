"""Buttons, modals and type-ahead: the Slack listeners beyond the slash command.

A button either runs its verb at once on the incident it was drawn for (Acknowledge,
Resolve, Unlink) or opens that verb's modal; a modal's answers become the same
`ParsedCommand` typed text would, and run through the same service. Every id these
listeners answer to comes from bot/slack/ids.py, where the blocks get theirs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import forms, registry
from bot.commands.invocation import Invocation
from bot.commands.parser import ParsedCommand, UsageError
from bot.commands.refs import Target
from bot.commands.registry import Choices, Verb
from bot.commands.results import Failure, Reply, Usage
from bot.commands.service import CommandService, Prepared
from bot.present import present
from bot.runtime import Inflight
from bot.slack import ids
from bot.slack.answer import Answers, EphemeralRespond, Respond
from bot.slack.modals import Meta, form_view, loading_view, message_view, option, read_state
from bot.slack.workspace import SlackWorkspace, slack_error
from bot.store.db import now

log = logging.getLogger(__name__)
# Slack wants a view_submission or block_suggestion answered within 3 s; the provider
# checks before it get this much, and past it the form is accepted unchecked (the
# command itself still says clearly what the provider refused).
CHECK_SECONDS = 2.0
# Two clicks on one button within this many seconds are one act (a double click).
CLICK_WINDOW = 10.0
WORK_SLOTS = 64


def interaction_invocation(body: dict[str, Any], channel_id: str, text: str = "") -> Invocation:
    user = body.get("user") or {}
    return Invocation(
        text=text,
        user_id=user.get("id", ""),
        user_name=user.get("username") or user.get("name"),
        channel_id=channel_id,
        team_id=(body.get("team") or {}).get("id") or user.get("team_id") or "T0",
        request_id=body.get("trigger_id"),
    )


class Interactions:
    def __init__(
        self,
        client: AsyncWebClient,
        workspace: SlackWorkspace,
        service: Callable[[], CommandService],
        answers: Answers,
        inflight: Inflight,
    ) -> None:
        self.inflight = inflight
        # Commands doing their work at once, a safety cap for every path (the HTTP slash
        # command path also holds back its acks: Inflight.room). Waiting on a slow provider
        # counts as work here, so the cap is wide: 8 made a 5 s provider answer in 10 s.
        self.slots = asyncio.Semaphore(WORK_SLOTS)
        self.client = client
        self.workspace = workspace
        self.service = service
        self.answers = answers

    def register(self, app: AsyncApp) -> None:
        """One listener per kind, matching exactly the ids the blocks can carry: Bolt tries
        listeners one by one on every request, so two dozen of them cost every command."""
        app.action(ids.exactly(ids.verb_action(v.name) for v in ids.button_verbs()))(self.on_button)
        app.view(ids.exactly(ids.form_callback(v.name) for v in ids.form_verbs()))(self.on_submit)
        app.options(ids.exactly(ids.choose_action(c) for c in Choices))(self.on_suggest)

    # modals ----------------------------------------------------------------------------
    async def open_form(
        self,
        *,
        trigger_id: str,
        verb: Verb,
        invocation: Invocation,
        target: Target | None,
        response_url: str | None,
        respond: Respond,
    ) -> None:
        """Open at once (the trigger_id lives 3 s), then fill with the provider's names."""
        meta = Meta(verb.name, invocation.channel_id, target, response_url)
        try:
            opened = await self.client.views_open(trigger_id=trigger_id, view=loading_view(verb, meta))
        except SlackApiError as exc:
            log.warning("could not open the %s modal: %s", verb.name, slack_error(exc))
            error = UsageError(
                message="I couldn't open a form for that here: type it in full.",
                verb=verb.name,
                usage=verb.usage(self.service().command),
            )
            await self.answers.say(respond, Usage(error=error))
            return
        view_id, view_hash = opened["view"]["id"], opened["view"].get("hash")
        if verb.uses_time:
            meta.tz = invocation.tz = await self.workspace.user_timezone(invocation.user_id)
        try:
            prepared = await self.service().prepare(invocation, verb, target)
        except Exception:
            log.exception("could not prepare the %s modal", verb.name)
            prepared = Failure(what=f"Something went wrong on our side preparing `{verb.name}`.")
        if isinstance(prepared, Prepared):
            meta.target = prepared.target
            view = form_view(verb, meta, prepared.choices)
        else:
            view = message_view(verb, meta, present(prepared))
        try:
            await self.client.views_update(view_id=view_id, hash=view_hash, view=view)
        except SlackApiError as exc:  # closed meanwhile, most likely: nothing to answer
            log.info("could not fill the %s modal: %s", verb.name, slack_error(exc))

    async def on_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        async with self.inflight.track():
            await self._submit(ack, body, view)

    async def _submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = Meta.load(view.get("private_metadata"))
        verb = registry.lookup(meta.verb) if meta else None
        if meta is None or verb is None:
            await ack()
            log.warning("a modal came back without its metadata: %s", view.get("callback_id"))
            return
        invocation = interaction_invocation(body, meta.channel_id)
        invocation.tz, invocation.request_id = meta.tz, view.get("id")
        values = read_state((view.get("state") or {}).get("values") or {})
        read = forms.read(verb, values, meta.tz, now(), meta.target)
        if isinstance(read, dict):
            await ack(response_action="errors", errors=read)
            return
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                errors = await self.service().validate(verb, read)
        except TimeoutError:
            errors = {}
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        service = self.service()
        if not await service.store.claim(f"view:{invocation.team_id}:{view.get('id')}"):
            await ack()  # the same modal submitted twice: the first submission answers
            return
        await ack()
        invocation.text = read.text
        respond: Respond = (
            AsyncRespond(response_url=meta.response_url)
            if meta.response_url
            else EphemeralRespond(self.client, meta.channel_id, invocation.user_id)
        )
        await self.run(invocation, read, respond)

    async def on_suggest(self, ack: Any, body: dict[str, Any]) -> None:
        """Type-ahead for catalogues too long for a static select; answered within 3 s."""
        meta = Meta.load((body.get("view") or {}).get("private_metadata"))
        choices = Choices(body.get("action_id", "").removeprefix(ids.CHOOSE_ACTION))
        service = self.service()
        provider = service.providers.get(meta.target.provider) if meta and meta.target else None
        provider = provider or service.default_provider
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                names = await forms.catalogue(provider, choices)
        except Exception:
            log.warning("type-ahead for %s at %s failed", choices, provider.name)
            names = []
        await ack(options=[option(name) for name in forms.search(names, body.get("value") or "")])

    # buttons ---------------------------------------------------------------------------
    async def on_button(self, ack: Any, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        async with self.inflight.track():
            await self._button(body, respond)

    async def _button(self, body: dict[str, Any], respond: AsyncRespond) -> None:
        action = (body.get("actions") or [{}])[0]
        verb = ids.verb_of(action.get("action_id", ""))
        container = body.get("container") or {}
        channel_id = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        invocation = interaction_invocation(body, channel_id, text=verb.name if verb else "")
        target = ids.decode_target(action.get("value"))
        if verb is None or target is None:
            await self.answers.say(respond, Failure(what="That button is from an older version of the bot."))
            return
        if verb.needs_input:
            await self.open_form(
                trigger_id=body.get("trigger_id", ""),
                verb=verb,
                invocation=invocation,
                target=target,
                response_url=body.get("response_url"),
                respond=respond,
            )
            return
        message_ts = container.get("message_ts")
        click = f"click:{invocation.team_id}:{channel_id}:{message_ts}:{verb.name}:{target.incident_id}"
        if not await self.service().store.claim(click, window=CLICK_WINDOW):
            what = f"{verb.button} was clicked twice within seconds: the first click does it, once."
            await self.answers.say(respond, Failure(what=what))
            return
        await self.run(invocation, ParsedCommand(verb=verb.name, target=target, text=verb.name), respond)

    async def run(self, invocation: Invocation, parsed: ParsedCommand | None, respond: Respond) -> None:
        """Run a command (typed: `parsed` None) and deliver its one answer, whatever happens."""
        try:
            async with self.slots:
                reply = await self.service().run(invocation, parsed)
        except Exception:  # run() does not raise; if it ever does, the user still hears
            log.exception("command service raised")
            reply = Reply(
                result=Failure(what="Something went wrong on our side.", changed="unknown"), outcome="error"
            )
        await self.answers.deliver(invocation.team_id, invocation.channel_id, respond, reply)
