"""The work slots' two lines: a command coming back from waiting for its incident's turn is
served before commands that have not started, and no slot is lost or made by a wait that is
cancelled. Order is observed through events the holders set, never through time."""

from __future__ import annotations

import asyncio

from bot.commands.slots import Slots
from tests.helpers import wait_until


async def _hold(slots: Slots, name: str, order: list[str], go: asyncio.Event) -> None:
    async with slots.take():
        order.append(name)
        await go.wait()


async def test_a_command_back_from_its_turn_goes_before_new_ones() -> None:
    slots = Slots(1)
    order: list[str] = []
    turn_reached, release_first, done_back = asyncio.Event(), asyncio.Event(), asyncio.Event()
    go = asyncio.Event()

    async def waits_its_turn() -> None:
        async with slots.take() as slot:
            order.append("back:started")
            async with slot.given_back():
                await turn_reached.wait()  # the incident's turn, while the slot is lent
            order.append("back:working")
            await done_back.wait()

    back = asyncio.create_task(waits_its_turn())
    await wait_until(lambda: order == ["back:started"])
    holder = asyncio.create_task(_hold(slots, "holder", order, release_first))
    await wait_until(lambda: "holder" in order)  # took the lent slot
    news = [asyncio.create_task(_hold(slots, f"new{i}", order, go)) for i in range(3)]
    await wait_until(lambda: slots.waiting() == (0, 3))
    turn_reached.set()
    await wait_until(lambda: slots.waiting() == (1, 3))
    release_first.set()  # the one slot comes free: the command back from its turn takes it
    await wait_until(lambda: "back:working" in order)
    assert not any(name.startswith("new") for name in order)
    done_back.set()
    go.set()
    await asyncio.gather(back, holder, *news)
    assert order[-3:] == ["new0", "new1", "new2"]  # the new ones kept their own order
    assert slots.waiting() == (0, 0)


async def test_new_commands_are_served_in_the_order_they_came() -> None:
    slots = Slots(2)
    order: list[str] = []
    go = asyncio.Event()
    tasks = [asyncio.create_task(_hold(slots, f"c{i}", order, go)) for i in range(6)]
    await wait_until(lambda: order == ["c0", "c1"] and slots.waiting() == (0, 4))
    go.set()
    await asyncio.gather(*tasks)
    assert order == [f"c{i}" for i in range(6)]


async def test_a_cancelled_wait_neither_loses_nor_makes_a_slot() -> None:
    slots = Slots(1)
    order: list[str] = []
    first_go, go = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(_hold(slots, "first", order, first_go))
    await wait_until(lambda: order == ["first"])
    gone = asyncio.create_task(_hold(slots, "gone", order, go))
    after = asyncio.create_task(_hold(slots, "after", order, go))
    await wait_until(lambda: slots.waiting() == (0, 2))
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    assert slots.waiting() == (0, 1)
    first_go.set()
    await wait_until(lambda: order == ["first", "after"])
    go.set()
    await asyncio.gather(first, after)
    # One slot, free again: exactly one taker gets it at once, the next waits.
    third, fourth = (asyncio.create_task(_hold(slots, n, order, asyncio.Event())) for n in ("3", "4"))
    await wait_until(lambda: "3" in order and slots.waiting() == (0, 1))
    assert "4" not in order
    third.cancel()
    await wait_until(lambda: "4" in order)
    fourth.cancel()
    await asyncio.gather(third, fourth, return_exceptions=True)
    assert slots.waiting() == (0, 0)


async def test_a_wait_cancelled_just_as_it_was_granted_passes_the_slot_on() -> None:
    slots = Slots(1)
    await slots.acquire(back=False)
    granted_then_cancelled = asyncio.create_task(slots.acquire(back=False))
    next_one = asyncio.create_task(slots.acquire(back=False))
    await wait_until(lambda: slots.waiting() == (0, 2))
    # With no turn of the loop between, the slot is handed to the first waiter and that
    # waiter is cancelled before it could run.
    slots.release()
    granted_then_cancelled.cancel()
    await asyncio.gather(granted_then_cancelled, return_exceptions=True)
    assert granted_then_cancelled.cancelled()
    await wait_until(next_one.done)
    assert not next_one.cancelled() and slots.waiting() == (0, 0)
    slots.release()
    assert slots.free == 1  # the one slot, neither lost nor doubled
