"""What every remote provider does alike, tested once for each: reading a linked
incident and unlinking it, a rotation that can only be made at the provider, and what
each adapter offers (its facets, bot/providers/facets.py) against what it says it cannot."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.domain import Capability, Rejected
from bot.providers import firehydrant, incidentio, pagerduty
from bot.providers.base import NoDirectory, Provider
from bot.providers.builtin import BuiltinProvider
from bot.providers.facets import FACETS, offered
from bot.providers.wire import page_named
from bot.store.db import Store
from tests.conftest import ProviderBot, provider_bot
from tests.helpers import text_of
from tests.slackfake import FakeSlack

CHANNEL = "C0COMMON"
LABELS = {"incidentio": "incident.io", "pagerduty": "PagerDuty", "firehydrant": "FireHydrant"}


class Remote:
    """How one provider's fake is given an incident, how the bot names it, where it links to."""

    def __init__(self, add: Callable[[Any], dict], reference: Callable[[dict], str], url: str) -> None:
        self.add, self.reference, self.url = add, reference, url


REMOTES = {
    "incidentio": Remote(
        lambda f: f.add_incident("Checkout is failing", channel=CHANNEL),
        lambda i: i["reference"],
        "permalink",
    ),
    "pagerduty": Remote(
        lambda f: f.add_incident("Checkout is failing"), lambda i: f"pd:{i['incident_number']}", "html_url"
    ),
    "firehydrant": Remote(
        lambda f: f.add_incident("Checkout is failing", channel=CHANNEL),
        lambda i: f"fh:{i['id']}",
        "incident_url",
    ),
}


@pytest.fixture(params=sorted(REMOTES))
async def remote(
    request: pytest.FixtureRequest, fake_slack: FakeSlack, sqlite_url: str
) -> AsyncIterator[ProviderBot]:
    async with provider_bot(request.param, fake_slack, sqlite_url) as running:
        yield running


def name_of(pb: ProviderBot) -> str:
    return pb.bot.settings.incident_provider


async def test_info_then_unlink_then_info_only_reads(remote: ProviderBot) -> None:
    how = REMOTES[name_of(remote)]
    incident = how.add(remote.fake)
    linked = text_of(await remote.bot.run(f"link {how.reference(incident)}", channel=CHANNEL))
    assert "Checkout is failing" in linked
    card = text_of(await remote.bot.run("info", channel=CHANNEL))
    assert "Checkout is failing" in card and incident[how.url] in card
    assert "unlinked" in text_of(await remote.bot.run("unlink", channel=CHANNEL)).lower()
    after = text_of(await remote.bot.run("info", channel=CHANNEL))
    assert "isn't linked to an incident" in after and "Checkout is failing" not in after
    assert remote.fake.writes() == []


async def test_rotations_are_listed_but_made_at_the_provider(remote: ProviderBot) -> None:
    label = LABELS[name_of(remote)]
    listed = text_of(await remote.bot.run("schedule"))
    assert "Primary" in listed and "Database" in listed
    made = text_of(await remote.bot.run("schedule night <@U222|bea> <@U333|cy> every 1w"))
    assert f"Rotations at {label} are made in {label} itself" in made
    assert remote.fake.writes() == []


def adapters(store: Store) -> dict[str, object]:
    nowhere = "http://127.0.0.1:9"  # never called: only what each adapter offers is read
    return {
        "builtin": BuiltinProvider(store, ["lead"]),
        "incidentio": incidentio.build("k", nowhere),
        "pagerduty": pagerduty.build(
            "k", nowhere, from_email="a@example.com", service_id="PS", directory=NoDirectory()
        ),
        "pagerduty without a service": pagerduty.build(
            "k", nowhere, from_email="a@example.com", service_id=None, directory=NoDirectory()
        ),
        "firehydrant": firehydrant.build("k", nowhere, directory=NoDirectory()),
    }


async def test_each_adapter_offers_its_facets_and_says_why_not_for_the_rest(sqlite_url: str) -> None:
    """A capability is offered exactly when the adapter implements its facet and has not
    turned it off; whatever is not offered has a reason for the person who asked."""
    store = Store(sqlite_url)
    try:
        offers = {}
        for name, adapter in adapters(store).items():
            can = offered(adapter)  # type: ignore[arg-type]
            offers[name] = can
            for capability, kind in FACETS.items():
                assert (capability in can) == (
                    isinstance(adapter, kind) and capability not in adapter.unsupported  # type: ignore[attr-defined]
                ), (name, capability)
            missing = set(Capability) - can
            reasons = adapter.unsupported  # type: ignore[attr-defined]
            assert {c for c in missing if not reasons.get(c)} == set(), name
    finally:
        await store.close()
    assert Capability.SCHEDULES in offers["builtin"]
    assert {n for n, can in offers.items() if Capability.SCHEDULES in can} == {"builtin"}
    assert Capability.ROLES not in offers["pagerduty"] and Capability.REASSIGN in offers["pagerduty"]
    assert Capability.DECLARE in offers["pagerduty"]
    assert Capability.DECLARE not in offers["pagerduty without a service"]
    assert Capability.TASKS in offers["incidentio"] and Capability.TASKS not in offers["builtin"]


def methods(protocol: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(protocol).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


async def test_each_adapter_has_the_core_and_its_facets_with_their_signatures(sqlite_url: str) -> None:
    """Structural typing checks names only at run time: here each method the core Protocol
    and every offered facet declare is on the adapter, async where declared so, taking the
    same parameters by the same names (a keyword call must reach the same argument)."""
    store = Store(sqlite_url)
    try:
        for name, adapter in adapters(store).items():
            kinds = [Provider, *(FACETS[c] for c in offered(adapter) if c in FACETS)]  # type: ignore[arg-type]
            for kind in kinds:
                for method, declared in methods(kind).items():
                    found = getattr(adapter, method, None)
                    assert found is not None, (name, kind.__name__, method)
                    assert inspect.iscoroutinefunction(found) == inspect.iscoroutinefunction(
                        getattr(kind, method)
                    ), (name, method)
                    wanted = [p for p in declared.parameters if p != "self"]
                    assert list(inspect.signature(found).parameters) == wanted, (name, method)
    finally:
        await store.close()


def test_a_status_page_is_found_by_its_id_before_its_name_and_a_gone_one_is_refused() -> None:
    """A published incident keeps its page's id (a page may be renamed since); a name typed
    is matched as the provider names its pages; neither found, nothing is published."""
    pages = [{"id": "P1", "name": "P2"}, {"id": "P2", "name": "Public"}]

    def name_of(page: dict) -> str:
        return str(page["name"])

    assert page_named(pages, "P2", name_of, "incident.io")["id"] == "P2"  # the id wins
    assert page_named(pages, "Public", name_of, "incident.io")["id"] == "P2"
    with pytest.raises(Rejected, match="FireHydrant has no status page Old any more"):
        page_named(pages, "Old", name_of, "FireHydrant")
