"""Waiting for an event with a time limit, without losing a cancellation.

`asyncio.wait_for` on Python 3.11 returns normally when the task is cancelled in the same step
as the awaited event is set: the cancellation is lost, and a loop that waits this way (a
poller, a subscription) goes on after its task was asked to stop, so whoever awaits the task
waits for ever. `asyncio.timeout` does not lose it.
"""

from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; whether it was set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
