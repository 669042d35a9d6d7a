"""The registry drives everything: help, handlers, the manifest; the manifest matches the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from bot.commands import registry
from bot.commands.handlers import HANDLERS
from bot.commands.handlers.help import entries
from bot.commands.results import Help
from bot.manifest import build_manifest
from bot.present import present
from bot.slack.scopes import EVENT_SCOPES, METHOD_SCOPES, bot_scopes, scopes_of
from bot.textrender import render_text

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "tests" / "specs" / "slack" / "manifest-schema"


def test_every_verb_has_exactly_one_handler_and_no_handler_is_orphaned() -> None:
    assert set(HANDLERS) == {verb.name for verb in registry.VERBS}


def test_every_verb_and_alias_is_in_help() -> None:
    text = render_text(present(Help(command="/incident", entries=entries("/incident"))))
    for verb in registry.VERBS:
        assert f"/incident {verb.name}" in text, verb.name
    detail = render_text(
        present(
            Help(
                command="/incident",
                entries=[e for e in entries("/incident") if e.name == "severity"],
                detail=True,
            )
        )
    )
    assert "sev" in detail and "/incident sev 2" in detail


def test_manifest_file_matches_the_code() -> None:
    on_disk = yaml.safe_load((ROOT / "manifest.yml").read_text())
    url = on_disk["features"]["slash_commands"][0]["url"].removesuffix("/slack/events")
    assert on_disk == build_manifest("/incident", url)
    slash = on_disk["features"]["slash_commands"][0]
    assert slash["command"] == "/incident" and slash["should_escape"] is True
    for verb in registry.VERBS:
        assert verb.name in slash["usage_hint"]


def _validator() -> Draft7Validator:
    """Slack's root schema, its remote $refs mapped to the local copies: offline."""
    remote = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"
    resources = []
    for path in (SCHEMAS / "schemas").glob("*.json"):
        contents = json.loads(path.read_text())
        resources.append((remote + path.name, Resource.from_contents(contents, DRAFT7)))
    root = json.loads((SCHEMAS / "manifest.schema.json").read_text())
    return Draft7Validator(root, registry=Registry().with_resources(resources))


def test_manifest_is_valid_against_slacks_schema() -> None:
    validator = _validator()
    for socket in (False, True):
        manifest = build_manifest("/incident", "https://bot.example.com", socket_mode=socket)
        errors = sorted(validator.iter_errors(manifest), key=str)
        assert errors == [], [e.message for e in errors]
    broken = build_manifest("/incident", "https://bot.example.com")
    broken["display_information"]["name"] = "x" * 100  # over Slack's 35 characters
    assert list(validator.iter_errors(broken)), "the schema check must be able to fail"


def test_scopes_match_the_methods_the_code_calls() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    called = {
        m.replace("_", ".")  # usergroups_users_list → usergroups.users.list
        for m in re.findall(
            r"client\.((?:chat|conversations|usergroups|users|pins|views|bookmarks|auth)_\w+)\(", source
        )
    }
    # Answers, cards and modals call Slack by name through bot/slack/calls.py.
    called |= set(re.findall(r"\.call\(\s*\"([a-z]+\.[A-Za-z.]+)\"", source))
    assert called, "found no Web API calls: the scan is broken"
    assert called <= set(METHOD_SCOPES), f"methods without a scope entry: {called - set(METHOD_SCOPES)}"
    needed = {"commands", *(s for m in called for s in scopes_of(m)), *EVENT_SCOPES.values()}
    manifest = build_manifest("/incident", "https://x")
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed == set(bot_scopes())
    # Private incident channels, joining a linked channel, and mentions each need theirs.
    assert {"groups:write", "channels:join", "app_mentions:read"} <= needed


def test_the_manifest_subscribes_to_exactly_the_events_the_app_handles() -> None:
    source = (ROOT / "bot" / "slack" / "requests.py").read_text()  # every event the app reads
    handled = set(re.findall(r'^(?:MENTION_EVENT|REACTION_ADDED|REACTION_REMOVED) = "(\w+)"', source, re.M))
    events = build_manifest("/incident", "https://x")["settings"]["event_subscriptions"]
    assert set(events["bot_events"]) == handled == set(EVENT_SCOPES)
    assert handled == {"app_mention", "reaction_added", "reaction_removed"}
    assert events["request_url"] == "https://x/slack/events"
    socket = build_manifest("/incident", "https://x", socket_mode=True)["settings"]["event_subscriptions"]
    assert "request_url" not in socket
