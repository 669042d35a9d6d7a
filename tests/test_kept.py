"""The store's kept values: read back as written, replaced in place, and `swap` saying
whether anything changed (what sets a channel's topic only when it changes)."""

from __future__ import annotations

from bot.store.db import Store


async def test_a_kept_value_is_read_back_replaced_and_forgotten(database_url: str) -> None:
    store = Store(database_url)
    await store.start()
    try:
        assert await store.kept.get("topic:T1:C1") is None
        await store.kept.put("topic:T1:C1", {"topic": "Investigating · SEV2"})
        assert await store.kept.get("topic:T1:C1") == {"topic": "Investigating · SEV2"}
        await store.kept.put("topic:T1:C1", {"topic": "Resolved · SEV2"})
        assert await store.kept.get("topic:T1:C1") == {"topic": "Resolved · SEV2"}
        assert await store.kept.get("topic:T1:C2") is None
        await store.kept.forget("topic:T1:C1")
        assert await store.kept.get("topic:T1:C1") is None
    finally:
        await store.close()


async def test_swap_says_whether_the_value_changed(database_url: str) -> None:
    store = Store(database_url)
    await store.start()
    try:
        assert await store.kept.swap("topic:T1:C1", {"topic": "a"}) is True
        assert await store.kept.swap("topic:T1:C1", {"topic": "a"}) is False
        assert await store.kept.swap("topic:T1:C1", {"topic": "b"}) is True
        assert await store.kept.get("topic:T1:C1") == {"topic": "b"}
    finally:
        await store.close()


async def test_a_stamped_swap_never_puts_back_an_older_value(database_url: str) -> None:
    """Two processes redraw one incident; a redraw held back by Slack's pace can end after
    the other's newer one. Stamped with when the provider changed what it shows, the older
    topic is refused, here and through a second store on the same database (another
    process, whose memory still holds the older one)."""
    store, other = Store(database_url), Store(database_url)
    await store.start()
    await other.start()
    try:
        key = "topic:T1:C1"
        early, late, later = (
            "2026-12-04T04:10:55.735223+00:00",
            "2026-12-04T04:10:56.067007+00:00",
            "INC-1|2026-12-04T04:10:57.000000+00:00",
        )
        assert await other.kept.swap(key, {"topic": "Fixing · Major"}, stamp=early) is True
        assert await store.kept.swap(key, {"topic": "Fixing · Critical"}, stamp=late) is True
        # The older state, drawn last: not set, whichever process's memory it goes through.
        assert await other.kept.swap(key, {"topic": "Fixing · Major"}, stamp=early) is False
        assert await store.kept.swap(key, {"topic": "Fixing · Major"}, stamp=early) is False
        assert (await row_of(database_url)) == {"topic": "Fixing · Critical", "_at": late}
        # The same topic, stamped later: nothing to set, but the newer stamp is kept, so a
        # state between the two is refused too.
        assert await store.kept.swap(key, {"topic": "Fixing · Critical"}, stamp=later) is False
        between = "INC-1|2026-12-04T04:10:56.500000+00:00"
        assert await other.kept.swap(key, {"topic": "Monitoring · Critical"}, stamp=between) is False
        assert (await row_of(database_url)) == {"topic": "Fixing · Critical", "_at": later}
        # A newer state is set as before; an unstamped one (a provider that dates nothing) too.
        assert (
            await other.kept.swap(
                key, {"topic": "Resolved · Critical"}, stamp="INC-1|2026-12-04T04:10:58.000000+00:00"
            )
            is True
        )
        assert await store.kept.swap(key, {"topic": "Closed"}) is True
    finally:
        await store.close()
        await other.close()


async def row_of(database_url: str) -> object:
    """The topic row as the database holds it, read by a store with nothing kept."""
    reader = Store(database_url)
    await reader.start()
    try:
        return await reader.kept.get("topic:T1:C1")
    finally:
        await reader.close()


async def test_a_cards_stamp_advances_and_never_goes_back_for_the_same_incident(database_url: str) -> None:
    """What a card's redraw asks once its turn at Slack has come (bot/slack/cards.py): a
    redraw of an older state than one already drawn is not sent. Another incident in the
    channel (relinked) starts again, however old its last change."""
    from datetime import UTC, datetime

    from bot.domain import Incident, incident_stamp

    def stamp(incident_id: str, second: int) -> str:
        at = datetime(2026, 12, 4, 4, 10, second, tzinfo=UTC)
        incident = Incident(
            provider="incidentio", id=incident_id, reference=f"INC-{incident_id}", name="Checkout down",
            status="Fixing", created_at=at, updated_at=at,
        )  # fmt: skip
        found = incident_stamp(incident)
        assert found is not None
        return found

    store = Store(database_url)
    await store.start()
    try:
        key = "card:T1:C1"
        assert await store.kept.advance(key, stamp("1", 56)) is True
        assert await store.kept.advance(key, stamp("1", 55)) is False  # older: not drawn
        assert await store.kept.advance(key, stamp("1", 56)) is True  # the same state again
        assert await store.kept.advance(key, stamp("1", 57)) is True
        assert await store.kept.advance(key, stamp("2", 1)) is True  # another incident
        assert await store.kept.advance(key, stamp("1", 58)) is True
    finally:
        await store.close()
