"""A loop waiting for an event with a time limit stops when cancelled, whatever the timing."""

from __future__ import annotations

import asyncio

import pytest

from core.waits import wait_set


async def test_a_cancellation_arriving_as_the_event_is_set_stops_the_loop() -> None:
    # given a poller waiting for its wake-up event
    event = asyncio.Event()
    rounds = 0

    async def poller() -> None:
        nonlocal rounds
        while True:
            await wait_set(event, 30)
            event.clear()
            rounds += 1

    task = asyncio.create_task(poller())
    for _ in range(3):  # a few steps of the loop: enough for it to wait on the event
        await asyncio.sleep(0)
    # when it is woken and cancelled in the same step
    event.set()
    task.cancel()
    # then it stops at once, without another round
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert rounds == 0


async def test_it_tells_whether_the_event_was_set() -> None:
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    event.set()
    assert await wait_set(event, 5) is True
