"""Buttons, modals and type-ahead: the Slack listeners beyond the slash command.

A button either runs its verb at once on the incident it was drawn for (Acknowledge,
Resolve, Unlink) or opens that verb's modal; a modal's answers become the same
`ParsedCommand` typed text would, and run through the same service. Every id these
listeners answer to comes from bot/slack/ids.py, where the blocks get theirs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import forms, registry
from bot.commands.invocation import Invocation
from bot.commands.parsed import ParsedCommand, UsageError
from bot.commands.pipeline import DATABASE_AWAY, Pipeline, Request
from bot.commands.refs import Target
from bot.commands.registry import Choices, Verb
from bot.commands.results import AskFirst, Failure, Usage
from bot.commands.service import CommandService, Prepared
from bot.outage import unavailable
from bot.present import shown
from bot.slack import ids
from bot.slack.answer import Answers, EphemeralRespond, Respond, UrlRespond, respond_to
from bot.slack.calls import calls_of
from bot.slack.modals import Meta, form_view, loading_view, message_view, option, read_state
from bot.slack.requests import interaction_invocation, route_of
from bot.slack.workspace import SlackWorkspace, slack_error

log = logging.getLogger(__name__)
# Slack wants a view_submission or block_suggestion answered within 3 s; the provider
# checks before it get this much, and past it the form is accepted unchecked (the
# command itself still says clearly what the provider refused).
CHECK_SECONDS = 2.0
# Two clicks on one button within this many seconds are one act (a double click).
CLICK_WINDOW = 10.0
OUT_OF_DATE = "That button is out of date: run the command instead."


class Once:
    """Bolt's ack, remembering whether it was called (a listener acks exactly once)."""

    def __init__(self, ack: Any) -> None:
        self._ack, self.done = ack, False

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.done = True
        return await self._ack(*args, **kwargs)


class Interactions:
    def __init__(
        self,
        client: AsyncWebClient,
        workspace: SlackWorkspace,
        service: Callable[[], CommandService],
        answers: Answers,
        pipeline: Callable[[], Pipeline],
    ) -> None:
        self.pipeline = pipeline  # a getter, like `service`: both exist once the server starts
        self.client = client
        self.workspace = workspace
        self.service = service
        self.answers = answers

    def register(self, app: AsyncApp) -> None:
        """One listener per kind, matching exactly the ids the blocks can carry: Bolt tries
        listeners one by one on every request, so two dozen of them cost every command."""
        actions = [*(ids.verb_action(v.name) for v in ids.button_verbs()), ids.MENU_ACTION]
        app.action(ids.exactly(actions))(self.on_button)
        app.view(ids.exactly(ids.form_callback(v.name) for v in ids.form_verbs()))(self.on_submit)
        app.options(ids.exactly(ids.choose_action(c) for c in Choices))(self.on_suggest)

    # modals ----------------------------------------------------------------------------
    async def form(self, request: Request, verb: Verb) -> None:
        """The pipeline's `Delivery.form`: a typed verb that lacks only its arguments."""
        await self.open_form(
            trigger_id=request.route.trigger_id or "",
            verb=verb,
            invocation=request.invocation,
            target=None,
            response_url=request.route.response_url,
            respond=respond_to(self.client, request.route),
        )

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
            opened = await calls_of(self.client).call(
                "views.open", trigger_id=trigger_id, view=loading_view(verb, meta)
            )
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
            view = message_view(verb, meta, shown(prepared, self.service().command))
        try:
            await calls_of(self.client).call("views.update", view_id=view_id, hash=view_hash, view=view)
        except SlackApiError as exc:  # closed meanwhile, most likely: nothing to answer
            log.info("could not fill the %s modal: %s", verb.name, slack_error(exc))

    # Bolt hands each listener what its parameter names ask for, so each keeps its own
    # signature and runs its work through `_guard`: a payload Slack signed but that is not
    # of the shape we built (an old button, a malformed field) gets an ack and, where a
    # person is behind it, "out of date"; never a 500, never a traceback.
    async def on_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        once = Once(ack)
        await self._guard(self._submit(once, body, view), once, None)

    async def on_suggest(self, ack: Any, body: dict[str, Any]) -> None:
        once = Once(ack)
        await self._guard(self._suggest(once, body), once, None)

    async def on_button(self, ack: Any, body: dict[str, Any], respond: AsyncRespond) -> None:
        once = Once(ack)
        answer: Respond
        user, channel = body.get("user"), body.get("channel")
        who = user if isinstance(user, dict) else {}
        where = channel if isinstance(channel, dict) else {}
        user_id, channel_id = str(who.get("id") or ""), str(where.get("id") or "")
        if respond.response_url:
            # Where the response_url fails, the answer goes to the same person another way.
            answer = UrlRespond(self.client, respond.response_url, channel_id, user_id)
        else:  # none in this click: chat.postEphemeral to whoever clicked
            answer = EphemeralRespond(self.client, channel_id, user_id)
        await self._guard(self._button(once, body, answer), once, answer)

    async def _guard(self, work: Awaitable[None], ack: Once, respond: Respond | None) -> None:
        try:
            await work
        except Exception as exc:
            log.warning(
                "a signed interaction could not be read (%s): answered as out of date", type(exc).__name__
            )
            try:
                if not ack.done:
                    await ack()
                if respond is not None:
                    await self.answers.say(respond, Failure(what=OUT_OF_DATE))
            except Exception as again:
                log.warning("could not answer it either (%s)", type(again).__name__)

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
        read = forms.read(verb, values, meta.tz, self.service().clock.now(), meta.target)
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
        invocation.text = read.text
        request = Request(
            # The same modal submitted twice (a double click on Submit, a replay): one act.
            key=f"view:{invocation.team_id}:{view.get('id')}:{view.get('hash')}",
            kind="submission",
            invocation=invocation,
            parsed=read,
            route=route_of(invocation, meta.response_url),
        )
        admission = await self.pipeline().admit(request)
        await ack()
        self.pipeline().start(request, admission)

    async def _suggest(self, ack: Any, body: dict[str, Any]) -> None:
        """Type-ahead for catalogues too long for a static select; answered within 3 s."""
        meta = Meta.load((body.get("view") or {}).get("private_metadata"))
        choices = Choices(body.get("action_id", "").removeprefix(ids.CHOOSE_ACTION))
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                names = await self.service().choices(meta.target if meta else None, choices)
        except Exception:
            log.warning("type-ahead for %s failed", choices)
            names = []
        await ack(options=[option(name) for name in forms.search(names, body.get("value") or "")])

    # buttons ---------------------------------------------------------------------------
    async def _button(self, ack: Any, body: dict[str, Any], respond: Respond) -> None:
        action = (body.get("actions") or [{}])[0]
        picked = action.get("action_id") == ids.MENU_ACTION  # from the card's menu
        value = (action.get("selected_option") or {}).get("value") if picked else action.get("value")
        verb = ids.menu_verb(value) if picked else ids.verb_of(str(action.get("action_id", "")))
        container = body.get("container") or {}
        channel_id = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        invocation = interaction_invocation(body, str(channel_id), text=verb.name if verb else "")
        target = ids.decode_target(value)
        if verb is None or target is None:
            await ack()
            await self.answers.say(respond, Failure(what=OUT_OF_DATE))
            return
        trigger_id = body.get("trigger_id")
        words = ids.decode_text(value)  # a notice's button: the verb's words
        if picked and verb.confirm and not words:
            # A menu's options carry no confirm: asked here, with the verb's own button.
            await ack()
            ask = AskFirst(
                verb=verb.name, label=verb.button or verb.name, question=verb.confirm, target=target
            )
            await self.answers.say(respond, ask)
            return
        parsed = ParsedCommand(verb=verb.name, target=target, text=verb.name)
        if words:
            read = self.service().parse(invocation.model_copy(update={"text": f"{verb.name} {words}"}))
            if isinstance(read, UsageError):
                await ack()
                await self.answers.say(respond, Failure(what=OUT_OF_DATE))
                return
            # The button's own incident, whatever its words name: they were typed about it.
            parsed = read.model_copy(update={"target": target, "ref": None})
            invocation.text = f"{verb.name} {words}"
        elif verb.needs_input:
            await ack()
            await self.open_form(
                trigger_id=trigger_id or "",
                verb=verb,
                invocation=invocation,
                target=target,
                response_url=body.get("response_url"),
                respond=respond,
            )
            return
        message_ts = container.get("message_ts")
        click = f"click:{invocation.team_id}:{channel_id}:{message_ts}:{verb.name}:{invocation.user_id}"
        try:
            # Before the ack, so bounded as the inbox's write is: a partitioned database
            # would otherwise hold the click's ack past Slack's 3 s.
            async with asyncio.timeout(self.service().settings.incident_ack_db_timeout):
                first = await self.service().first_click(click, CLICK_WINDOW)
        except Exception as exc:
            if not unavailable(exc):
                raise
            self.service().database_failed(exc)
            await ack()
            await self.answers.say(respond, DATABASE_AWAY)
            return
        if not first:
            await ack()
            what = f"{verb.button} was clicked twice within seconds: the first click does it, once."
            await self.answers.say(respond, Failure(what=what))
            return
        request = Request(
            # Slack's ids of this one click: the same request sent again finds it done.
            key=f"button:{invocation.team_id}:{trigger_id}:{action.get('action_ts')}" if trigger_id else None,
            kind="button",
            invocation=invocation,
            parsed=parsed,
            route=route_of(invocation, body.get("response_url"), trigger_id),
        )
        admission = await self.pipeline().admit(request)
        await ack()
        self.pipeline().start(request, admission)
