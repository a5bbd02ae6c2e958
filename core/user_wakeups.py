"""In-process wake-ups per user: a subscription waits on its event and re-reads its rows when
woken (other processes' subscribers find the same rows on their next poll)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


class UserWakeups:
    def __init__(self) -> None:
        self._listeners: dict[uuid.UUID, set[asyncio.Event]] = {}

    @contextmanager
    def listen(self, user_id: uuid.UUID) -> Iterator[asyncio.Event]:
        wake = asyncio.Event()
        listeners = self._listeners.setdefault(user_id, set())
        listeners.add(wake)
        try:
            yield wake
        finally:
            listeners.discard(wake)
            if not listeners:
                self._listeners.pop(user_id, None)

    def notify(self, user_id: uuid.UUID) -> None:
        for wake in self._listeners.get(user_id, ()):
            wake.set()

    def listening(self, user_id: uuid.UUID) -> int:
        """How many subscribers of `user_id` this process has."""
        return len(self._listeners.get(user_id, ()))
