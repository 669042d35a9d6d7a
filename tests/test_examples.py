"""Every example the documentation shows is run, as a user would type it.

Where the examples come from (read at test time, so a new verb's or a new page's examples
are run without touching this file):

- `Verb.examples` of every verb in the registry (bot/commands/registry.py);
- README.md and docs/*.md: every inline code span (`` `…` ``) that starts with the slash
  command (`/incident`, alone or followed by a space), and in fenced code blocks every
  run of text from `/incident` to the end of its line or to a closing quote (so both a
  line typed at the shell and the quoted lines a `printf` pipes into it count);
- in a README table row, a code span starting with `… ` is a variation of the row's
  first full example (`… sev 1` after `/incident declare Checkout is failing sev:1`): that
  example with its tail replaced by the words after `…`, the tail starting at its first
  `key:value` word or at its first word that starts a time or an interval (`for`, `from`,
  `until`, `every`), whichever comes first; with neither, the words are added at the end.

Spans that name the command's text without being a command (`@incident help` is a
mention, not a slash command) are not collected. An example with a placeholder (`<url>`)
cannot run as written: it must be in PLACEHOLDERS below with the reason, and that list
stays short (better: write the example so it runs).

Each example runs in a fresh small world where it makes sense: incidents INC-1 to INC-12,
rotations `primary` (with two overrides) and `database`, three follow-ups on INC-1; in
Slack also the user groups `@sre-leads` and `@sre-team` and the registry's message link
(channel C0123, linked to INC-1); at PagerDuty also `PAGERDUTY:Q1ABC`, which is #42. The
example is typed in INC-1's channel by an admin, except one that acts on an incident it
names (`status resolved INC-3`) or links the channel (`link INC-12`): that one is typed
in a channel linked to none. What one example takes for granted beyond that is in
`before()` (a resolved incident for `reopen`, a step back for `… again`). It runs:

- through the shell's command path (bot/shell.py's ShellWorkspace and the runtime it
  builds, on the built-in provider, with a fixed clock), where the built-in provider
  offers the verb; or
- through signed slash commands to the running app with the fake Slack, where only Slack
  can do it: a verb typed without its arguments (a modal), a Slack user group, a message
  link to pin; or
- at the first provider fake that offers the verb (PagerDuty, incident.io, FireHydrant),
  where the built-in provider does not (`reassign`, `task`), or the example names a
  provider's own reference (`PAGERDUTY:Q1ABC`).

A verb that asks once before it acts (a second declare of the same title, a big user
group, `duplicate`) is typed a second time, as its question says; the second answer is
the one checked. Each must be read as the verb it starts with (the audit row's verb),
answered with no usage error, no "I don't know", no "Did you mean", no failure and no
traceback, and a writing verb's answer must be its success (audit outcome `ok`, not a
question, not a refusal, not a failure, not a refused change whose note was kept); a
verb typed bare must open its own form.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.commands import results as r
from bot.commands.invocation import Invocation
from bot.commands.parsed import ParsedCommand
from bot.commands.parser import parse
from bot.commands.registry import DEFAULT_VERB, VERBS, lookup, read_verb
from bot.config import Settings
from bot.domain import Move
from bot.present import shown
from bot.runtime import Runtime, build_runtime
from bot.shell import ShellWorkspace
from bot.store import tables
from bot.textrender import render_text
from tests.conftest import RunningBot, make_settings, provider_fake, provider_settings, running_bot
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.server import FakeProvider
from tests.helpers import store_rows, text_of
from tests.slackfake import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "/incident"
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

# Examples that cannot run as written, with why. Keep it short: prefer a runnable example.
PLACEHOLDERS: dict[str, str] = {}

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday morning
TAIL_WORDS = ("for", "from", "until", "every")


@dataclass(frozen=True)
class Example:
    text: str  # as typed, `/incident …`
    where: str  # README.md:75, registry:status

    @property
    def words(self) -> str:
        return self.text[len(COMMAND) :].strip()

    @property
    def verb(self) -> str:
        verb, _ = read_verb(self.words)
        return verb.name if verb else "?"


# extraction ---------------------------------------------------------------------------
_SPAN = re.compile(r"`([^`\n]+)`")
_IN_BLOCK = re.compile(re.escape(COMMAND) + r"""(?:\s[^'"\n]*)?(?=$|['"])""", re.MULTILINE)


def _is_command(span: str) -> bool:
    return span == COMMAND or span.startswith(COMMAND + " ")


def _varied(first: str, fragment: str) -> str:
    """`… X` in a table row: the row's first example with its tail replaced by X."""
    words = first.split(" ")
    cut = len(words)
    for n, word in enumerate(words[2:], start=2):
        if re.match(r"^[a-z]+:", word) or word in TAIL_WORDS:
            cut = n
            break
    return " ".join([*words[:cut], fragment])


def doc_examples() -> list[Example]:
    found: list[Example] = []
    for path in DOCS:
        in_block = False
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            where = f"{path.relative_to(ROOT)}:{number}"
            if line.lstrip().startswith("```"):
                in_block = not in_block
                continue
            if in_block:
                found += [Example(m.group(0).strip(), where) for m in _IN_BLOCK.finditer(line)]
                continue
            first: str | None = None
            for span in _SPAN.findall(line):
                span = span.strip()
                if _is_command(span):
                    found.append(Example(span, where))
                    first = first or span
                elif span.startswith("… ") and first is not None and line.lstrip().startswith("|"):
                    found.append(Example(_varied(first, span[2:].strip()), where))
    return found


def registry_examples() -> list[Example]:
    return [Example(text, f"registry:{verb.name}") for verb in VERBS for text in verb.examples]


def all_examples() -> list[Example]:
    seen: dict[str, Example] = {}
    for example in registry_examples() + doc_examples():
        seen.setdefault(example.text, example)
    return list(seen.values())


def test_the_examples_are_collected() -> None:
    """The collection itself: every verb's examples and the README's table are in it."""
    texts = {e.text for e in all_examples()}
    assert all(t in texts for verb in VERBS for t in verb.examples)
    assert "/incident declare Checkout is failing sev 1" in texts  # a `… sev 1` variation
    assert "/incident override primary @bob until 9am tomorrow" in texts  # `… until 9am tomorrow`
    assert "/incident schedule primary @ana @bob weekly" in texts  # `… weekly`, after `every 1w`
    assert "/incident ack" in texts  # a line the README's printf pipes into the shell
    assert "/incident ack" in texts and "/incident" in texts
    assert len(texts) > 60
    stale = set(PLACEHOLDERS) - texts
    assert not stale, f"listed as not runnable but no longer in the docs: {stale}"


# the world ------------------------------------------------------------------------------
INCIDENTS = 12
YOU = "U0YOU"  # who types the examples: lead of INC-1, an admin (schedule, cancelling others' overrides)


@dataclass
class ShellWorld:
    runtime: Runtime
    workspace: ShellWorkspace
    channel: str  # INC-1's

    async def say(self, text: str, *, channel: str | None = None, user: str = YOU) -> r.Reply:
        invocation = Invocation(
            text=text,
            user_id=user,
            user_name=user,
            channel_id=channel or self.channel,
            channel_name=channel or self.channel,
            tz="UTC",
        )
        return await self.runtime.service.run(invocation)


@asynccontextmanager
async def shell_world(tmp_path: Path) -> AsyncIterator[ShellWorld]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'shell.db'}",
        incident_admins=[YOU],
        incident_declare_limit=0,
    )
    workspace = ShellWorkspace()
    runtime = await build_runtime(settings, workspace, FixedClock(NOW))
    try:
        world = ShellWorld(runtime, workspace, "")
        for n in range(1, INCIDENTS + 1):
            declarer = YOU if n == 1 else f"declarer{n}"
            reply = await world.say(f"declare Incident number {n}", channel="general", user=declarer)
            assert isinstance(reply.result, r.Declared), _text(reply)
            if n == 1:
                world.channel = reply.result.channel_id
        setup = [
            "schedule primary @ana @bob every 1w",
            "schedule database @cy every 1w",  # a rotation to page by name (`page database`)
            "override primary @cy from 14:00 to 15:00",
            "override primary @dan from 16:00 to 17:00",
            "followup Check the alerts @sam due:2026-12-04",
            "followup Write the timeline @sam due:2026-12-05",
            "followup Add a runbook @sam due:2026-12-06",
            "page <@U0YOU|you>",  # a built-in page waiting for you (`answer` acknowledges it)
        ]
        for line in setup:
            reply = await world.say(line)
            assert reply.outcome == "ok" and not isinstance(reply.result, r.Failure), (line, _text(reply))
        yield world
    finally:
        await runtime.close()


def _text(reply: r.Reply) -> str:
    said = [render_text(shown(reply.result, COMMAND))]
    said += [render_text(shown(post.result, COMMAND)) for post in reply.posts]
    return "\n".join(said)


NOT_ANSWERS = (r.Usage, r.Failure, r.NotSupported, r.NotLinked, r.Ask, r.AskFirst, r.DoneUnread, r.Quiet)
BAD_WORDS = ("Traceback", "Did you mean", "I don't know", "error id")


def check(example: Example, reply: r.Reply) -> None:
    said = _text(reply)
    expected = example.verb if example.words else DEFAULT_VERB
    context = f"{example.where}: {example.text} → {type(reply.result).__name__}, {reply.outcome}\n---\n{said}"
    assert reply.audit.get("verb") == expected, context
    assert reply.outcome == "ok", context
    assert not isinstance(reply.result, NOT_ANSWERS), context
    assert not any(word in said for word in BAD_WORDS), context
    # A change refused whose note was kept as an update is not the change done.
    assert not (isinstance(reply.result, r.UpdatePosted) and reply.result.instead), context


# through Slack -------------------------------------------------------------------------
PROVIDERS = ("pagerduty", "incidentio", "firehydrant")  # tried in turn for what the built-in lacks
# Slack escapes what people type in a slash command (the manifest's should_escape): these
# names are people and user groups of the fakes, the rest of the words are sent as typed.
PEOPLE = {"bea": "U222", "sam": "U333", "bob": "U444", "ana": "U555", "cy": "U666"}
GROUPS = {"sre-leads": ("S0SRE", ["U222", "U333"]), "sre-team": ("S0TEAM", ["U111", "U444"])}
PIN_CHANNEL, PIN_TS = "C0123", "1712345678.123456"  # the registry's example message link
SLACK_YOU = "U111"  # known to every provider's fake


def escaped(text: str) -> str:
    """The command's text as Slack sends it: mentions, groups and channels escaped."""

    def one(match: re.Match[str]) -> str:
        sigil, name = match.group(1), match.group(2)
        if sigil == "#":
            return f"<#C0{name.upper().replace('-', '')}|{name}>"
        if name in GROUPS:
            return f"<!subteam^{GROUPS[name][0]}|@{name}>"
        return f"<@{PEOPLE[name]}|{name}>" if name in PEOPLE else match.group(0)

    return re.sub(r"(?<![\w/])([@#])([a-z][a-z0-9-]*)", one, text)


@dataclass
class SlackWorld:
    bot: RunningBot
    channel: str  # INC-1's
    fake: FakeProvider | None

    async def audits(self) -> list[dict]:
        await self.bot.settled()
        return await store_rows(self.bot, tables.audit)


@asynccontextmanager
async def slack_world(provider: str, fake_slack: FakeSlack, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    url = f"sqlite+aiosqlite:///{tmp_path / f'{provider}.db'}"
    extra: dict[str, object] = {"incident_admins": [SLACK_YOU], "incident_declare_limit": 0}
    for gid, (handle, members) in ((g[0], (name, g[1])) for name, g in GROUPS.items()):
        fake_slack.groups[gid], fake_slack.handles[gid] = members, handle
    fake_slack.messages[PIN_CHANNEL] = [{"type": "message", "ts": PIN_TS, "user": "U222", "text": "found it"}]
    async with AsyncExitStack() as stack:
        fake = None
        if provider != "builtin":
            fake = await stack.enter_async_context(provider_fake(provider))
            extra |= provider_settings(provider, fake.url)
        settings = make_settings(fake_slack, url, **extra)
        bot = await stack.enter_async_context(running_bot(fake_slack, settings, FixedClock(NOW)))
        _, channel = await bot.declare("Incident number 1", user=SLACK_YOU)
        world = SlackWorld(bot, channel, fake)
        if provider == "builtin":
            await bot.run(escaped("schedule primary @ana @bob every 1w"), user=SLACK_YOU, channel=channel)
        if isinstance(fake, FakePagerDuty):  # PAGERDUTY:Q1ABC, the registry's example reference
            incident = fake.add_incident("Search is slow")
            del fake.incidents[incident["id"]]
            # …and #42 (`duplicate pd:42`): the world's other PagerDuty incident, by its number
            number = {"incident_number": 42, "summary": "[#42] Search is slow"}
            fake.incidents["Q1ABC"] = incident | {"id": "Q1ABC"} | number
        yield world


@dataclass
class Answered:
    audit: dict  # the command's audit row ({} for a modal opened: nothing ran yet)
    said: str  # every answer and message it brought
    forms: list[str]  # the callback_id of each modal it opened


async def run_in_slack(world: SlackWorld, example: Example, channel: str) -> Answered:
    """The example as a signed slash command, as Slack sends what was typed."""
    bot = world.bot
    before, opened = len(bot.slack.answers()), len(bot.slack.of("views.open"))
    audited = len(await world.audits())
    trigger = f"T0EX{opened}{before}"  # each typing its own (Slack's trigger_id is the request's key)
    response, _ = await bot.command(escaped(example.words), user=SLACK_YOU, channel=channel, trigger=trigger)
    assert response.status == 200, await response.text()
    rows = (await world.audits())[audited:]
    views = [call.params.get("view", {}) for call in bot.slack.of("views.open")[opened:]]
    said = [text_of(call.params) for call in bot.slack.answers()[before:]] + [json.dumps(v) for v in views]
    return Answered(rows[-1] if rows else {}, "\n".join(said), [v.get("callback_id", "") for v in views])


FAILED_WORDS = (*BAD_WORDS, "Nothing was changed", "may or may not have taken effect", "not offered")


def check_slack(example: Example, answered: Answered) -> None:
    expected = example.verb if example.words else DEFAULT_VERB
    context = f"{example.where}: {example.text} → {answered.audit.get('outcome')}\n---\n{answered.said}"
    assert answered.said.strip(), context
    assert not any(word in answered.said for word in FAILED_WORDS), context
    if bare(example):  # the verb's own form, opened at once
        assert answered.forms == [f"form.{expected}"], context
        return
    assert answered.audit.get("verb") == expected, context
    assert answered.audit.get("outcome") == "ok", context


# which way each example goes ------------------------------------------------------------
def names_another(example: Example) -> bool:
    """Acts on an incident it names (`status resolved INC-3`, `resolve incident:INC-12`) or
    ties the channel to one (`link INC-12`): typed in a channel linked to none, so it is not
    asked whether it meant the channel's own. As the parser reads it: a reference that is a
    verb's argument (`duplicate INC-6`) is about the channel's incident."""
    verb = lookup(example.verb)
    parsed = parse(example.words, now=NOW)
    return (verb is not None and verb.moves_channel) or (
        isinstance(parsed, ParsedCommand) and parsed.ref is not None
    )


def bare(example: Example) -> bool:
    """A verb typed without what it needs: Slack opens its form."""
    verb = lookup(example.verb)
    return verb is not None and verb.needs_input and example.words.lower() in (verb.name, *verb.aliases)


def only_slack(example: Example) -> bool:
    """What only Slack has: a modal (a verb typed without what it needs), a user group, a
    channel named, a message link."""
    escapes = re.search(r"(?<![\w/])#[a-z]|@sre-|slack\.com/archives", example.words)
    return bare(example) or bool(escapes)


def before(example: Example) -> list[str]:
    """What an example takes for granted beyond the world (in INC-1's channel)."""
    verb = lookup(example.verb)
    words = example.words.split()
    if verb is None:
        return []
    if verb.moves_to is Move.REOPEN:
        return ["resolve"]
    if len(words) > 2 and words[-1] == "again":  # a step back on purpose: from further on
        return ["status monitoring"]
    if verb.name == "snooze" and "#" not in example.words:
        return ["sev 1"]  # a severity with update reminders
    if verb.pins is False:
        return [example.words.replace("unpin", "pin", 1)]
    if verb.name == "escalate":  # a page through a rotation to move on (the world's own is by name)
        return ["schedule payments @ana @bob @cy @dan every 1w", "page payments"]
    if verb.name == "task" and "done" in words:
        return ["task Check the dashboards"]
    return []


@pytest.mark.parametrize("example", all_examples(), ids=lambda e: f"{e.where} {e.text}")
async def test_example(example: Example, tmp_path: Path, fake_slack: FakeSlack) -> None:
    if example.text in PLACEHOLDERS:
        pytest.skip(PLACEHOLDERS[example.text])
    provider_ref = re.search(r"\b(PAGERDUTY|PD):", example.words, re.IGNORECASE)
    if not only_slack(example) and not provider_ref:
        async with shell_world(tmp_path) as world:
            setup = [(line, await world.say(line)) for line in before(example)]
            channel = "general" if names_another(example) else None
            reply = await world.say(example.words, channel=channel)
            if reply.outcome == "asked":  # a verb that asks once: typed again, as its question says
                reply = await world.say(example.words, channel=channel)
            if not isinstance(reply.result, r.NotSupported):
                for line, done in setup:
                    assert done.outcome == "ok", (line, _text(done))
                return check(example, reply)
    # Slack only, or not at the built-in provider: each provider in turn until one offers it.
    for provider in ("pagerduty",) if provider_ref else ("builtin",) if only_slack(example) else PROVIDERS:
        fake_slack.calls.clear()
        async with slack_world(provider, fake_slack, tmp_path) as slack:
            channel = PIN_CHANNEL if re.search(r"slack\.com/archives", example.words) else slack.channel
            if channel == PIN_CHANNEL:
                await slack.bot.run("link INC-1", user=SLACK_YOU, channel=PIN_CHANNEL)
            for line in before(example):
                await slack.bot.run(escaped(line), user=SLACK_YOU, channel=channel)
            where = "C0GENERAL" if names_another(example) else channel
            answered = await run_in_slack(slack, example, where)
            if answered.audit.get("outcome") == "asked":  # asks once: typed again
                answered = await run_in_slack(slack, example, where)
            if answered.audit.get("outcome") == "refused" and provider != PROVIDERS[-1] and not provider_ref:
                continue  # not offered there: the next provider
            return check_slack(example, answered)
    pytest.fail(f"{example.where}: {example.text}: no provider offers it")
