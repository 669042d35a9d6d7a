"""Forms on their own: what a modal asks for, comes from the registry, and its answers read
back into the very command the person would have typed, or into what to fix."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.commands import forms, registry
from bot.commands.forms import Kind
from bot.commands.parsed import ParsedCommand, UsageError, UserRef
from bot.commands.parser import parse
from bot.commands.registry import Slot, Verb
from bot.commands.timeparse import TimeSpan
from bot.providers.builtin import BuiltinProvider
from bot.store.db import Store

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def verb(name: str) -> Verb:
    found = registry.lookup(name)
    assert found is not None
    return found


def typed(text: str, tz: str = "UTC") -> ParsedCommand:
    parsed = parse(text, tz=tz, command="/incident", now=NOW)
    assert not isinstance(parsed, UsageError), parsed
    return parsed


@pytest.mark.parametrize("declared", [v for v in registry.VERBS if v.args or v.options], ids=lambda v: v.name)
def test_every_argument_of_every_verb_has_its_field(declared: Verb) -> None:
    keys = [field.key for field in forms.fields(declared)]
    expected: list[str] = []
    for arg in (*declared.args, *declared.options):
        if arg.slot is Slot.WHEN:
            expected += [f"{arg.name}.start", f"{arg.name}.end"]
        elif arg.slot is Slot.PAGEE:  # a person picked, or a name: either box
            expected += [f"{arg.name}.person", f"{arg.name}.name"]
        else:
            expected.append(arg.name)
    assert keys == expected
    required = {f.key for f in forms.fields(declared) if f.required}
    plain = {a.name for a in declared.args if a.required and a.slot not in (Slot.WHEN, Slot.PAGEE)}
    assert plain <= required


def test_a_catalogue_argument_is_a_choice_and_a_person_a_user_picker() -> None:
    by_key = {f.key: f for f in forms.fields(verb("override"))}
    assert by_key["schedule"].kind is Kind.CHOICE and by_key["schedule"].choices is registry.Choices.SCHEDULES
    assert by_key["user"].kind is Kind.USER
    assert (by_key["when.start"].kind, by_key["when.end"].kind) == (Kind.DATETIME, Kind.DATETIME)
    assert (forms.title(verb("followup")), forms.title(verb("status"))) == ("Add follow-up", "Change status")


@pytest.mark.parametrize(
    ("text", "values", "tz"),
    [
        (
            "override primary <@U1> from 2026-12-24 09:00 to 2026-12-24 17:00",
            {
                "schedule": "primary",
                "user": "U1",
                "when.start": datetime(2026, 12, 24, 9, 0, tzinfo=UTC),
                "when.end": datetime(2026, 12, 24, 17, 0, tzinfo=UTC),
            },
            "UTC",
        ),
        (
            "followup Fix the cache <@U2> due:2026-12-24",
            {"title": "Fix the cache", "assignee": "U2", "due": date(2026, 12, 24)},
            "Pacific/Auckland",
        ),
        (
            "schedule night <@U1> <@U2> every 1w",
            {"name": "night", "users": ["U1", "U2"], "every": "1w"},
            "UTC",
        ),
        ("status fixing Rolled back", {"status": "fixing", "note": "Rolled back"}, "UTC"),
        ("link INC-12", {"incident": "INC-12"}, "UTC"),
    ],
    ids=["override", "followup", "schedule", "status", "link"],
)
def test_a_form_filled_in_reads_back_as_the_command_typed(text: str, values: forms.Values, tz: str) -> None:
    """A modal is only another way to type: the same arguments, the same handler after it."""
    want = typed(text, tz)
    got = forms.read(verb(want.verb), values, tz, NOW, None)
    assert isinstance(got, ParsedCommand), got
    assert (got.verb, got.args, got.options) == (want.verb, want.args, want.options)


def test_a_due_date_is_that_day_in_the_readers_zone_typed_or_picked() -> None:
    """Noon on the day, in the asker's zone, whether typed or picked: never the evening
    before, as midnight would be once shown a few hours west."""
    picked = forms.read(
        verb("followup"), {"title": "x", "due": date(2026, 12, 24)}, "Pacific/Auckland", NOW, None
    )
    assert isinstance(picked, ParsedCommand)
    due = picked.options["due"]
    assert (due.date(), due.hour, str(due.tzinfo)) == (date(2026, 12, 24), 12, "Pacific/Auckland")
    for tz in ("Pacific/Pago_Pago", "UTC", "Pacific/Auckland"):
        for text, day in (
            ("followup x due:2026-12-24", date(2026, 12, 24)),
            ("followup x due:thursday", None),
        ):
            due = typed(text, tz).options["due"]
            assert (due.hour, due.minute, str(due.tzinfo)) == (12, 0, tz)
            assert due.weekday() == 3 if day is None else due.date() == day


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({}, {"schedule": "Needed.", "user": "Needed.", "when.start": "Needed."}),
        (
            {"schedule": "primary", "user": "U1", "when.start": NOW + timedelta(hours=2), "when.end": NOW},
            {"when.end": "The end is before the start: pick a later time."},
        ),
        (
            {
                "schedule": "primary",
                "user": "U1",
                "when.start": NOW - timedelta(hours=3),
                "when.end": NOW - timedelta(hours=1),
            },
            {"when.end": "That time has passed: pick one in the future."},
        ),
        (
            {"schedule": "primary", "user": "U1", "when.end": NOW + timedelta(days=400)},
            {"when.end": "That is longer than a year: pick a shorter span."},
        ),
        ({"schedule": "primary", "user": "U1", "when.start": NOW}, {"when.end": "Until when?"}),
    ],
    ids=["empty", "backwards", "past", "too-long", "open-ended"],
)
def test_what_cannot_be_read_says_what_to_fix_per_field(values: forms.Values, errors: forms.Errors) -> None:
    assert forms.read(verb("override"), values, "UTC", NOW, None) == errors


def test_an_override_without_a_start_starts_now() -> None:
    got = forms.read(
        verb("override"),
        {"schedule": "primary", "user": "U1", "when.end": NOW + timedelta(hours=8)},
        "UTC",
        NOW,
        None,
    )
    assert isinstance(got, ParsedCommand)
    assert got.args["when"] == TimeSpan(start=NOW, end=NOW + timedelta(hours=8))
    assert got.args["user"] == UserRef(id="U1")
    assert got.text.startswith("override primary <@U1> from 2026-11-23 10:00Z to 2026-11-23 18:00Z")


@pytest.mark.parametrize(
    ("name", "values", "key", "message"),
    [
        ("schedule", {"every": "10m"}, "every", "Say how often, like 1w or 12h (15 minutes at least)."),
        (
            "link",
            {"incident": "the big one"},
            "incident",
            "Use INC-12, PAGERDUTY:Q1ABC or the incident's URL.",
        ),
        ("declare", {"name": "   "}, "name", "Needed."),
    ],
)
def test_a_value_a_typed_command_would_refuse_is_refused_in_the_form(
    name: str, values: forms.Values, key: str, message: str
) -> None:
    assert forms.read(verb(name), values, "UTC", NOW, None) == {key: message}


def test_type_ahead_puts_names_starting_with_the_query_first() -> None:
    names = ["Database primary", "Primary", "Secondary", "primary-eu", "Web"]
    assert forms.search(names, "prim") == ["Primary", "primary-eu", "Database primary"]
    assert forms.search(names, "") == names
    assert forms.search([f"n{i}" for i in range(300)], "n") == [f"n{i}" for i in range(100)]


async def test_a_name_no_longer_in_the_providers_catalogue_is_caught_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.start()
    try:
        provider = BuiltinProvider(store, ["lead"])
        status = verb("status")
        assert (
            await forms.check(status, ParsedCommand(verb="status", args={"status": "fixing"}), provider) == {}
        )
        errors = await forms.check(
            status, ParsedCommand(verb="status", args={"status": "exploded"}), provider
        )
        assert (
            list(errors) == ["status"] and "exploded" in errors["status"] and "pick again" in errors["status"]
        )
        assert await forms.catalogue(provider, registry.Choices.STATUSES) == list(await provider.statuses())
        assert await forms.catalogue(provider, registry.Choices.ROLES) == ["lead"]
    finally:
        await store.close()
