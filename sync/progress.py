"""In-process pub/sub of job changes, keyed by job id, with a database poll as fallback.

Publishers only say "job X changed"; followers reload the job themselves (through their own,
owner-scoped session), so a job run by another process is still followed by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

from core.waits import wait_set

T = TypeVar("T")


class ProgressHub:
    def __init__(self) -> None:
        self._listeners: dict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)

    def publish(self, job_id: uuid.UUID) -> None:
        for event in self._listeners.get(job_id, ()):
            event.set()

    @contextlib.contextmanager
    def listen(self, job_id: uuid.UUID) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._listeners[job_id].add(event)
        try:
            yield event
        finally:
            listeners = self._listeners.get(job_id)
            if listeners is not None:
                listeners.discard(event)
                if not listeners:
                    del self._listeners[job_id]

    def listener_count(self, job_id: uuid.UUID) -> int:
        return len(self._listeners.get(job_id, ()))


async def follow(
    hub: ProgressHub,
    job_id: uuid.UUID,
    load: Callable[[], Awaitable[T | None]],
    *,
    key: Callable[[T], object],
    is_final: Callable[[T], bool],
    poll_seconds: float,
) -> AsyncIterator[T]:
    """Yield the job's state now and after every change of `key(state)`, until it is final."""
    last: object = None
    with hub.listen(job_id) as changed:
        while True:
            changed.clear()  # before loading: a change during the load wakes the next wait
            state = await load()
            if state is None:
                return
            if key(state) != last:
                yield state
                last = key(state)
            if is_final(state):
                return
            await wait_set(changed, poll_seconds)
