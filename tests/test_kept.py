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
