"""In-process notice that an account's sessions changed (revoked, deactivated, role changed).

Whatever writes such a change calls `notify(user_id)` after its transaction commits; long-lived
connections of that user (WebSockets) wake up at once and re-check their token against the
database. Other processes do not hear it: their connections re-check on a bounded interval
(`WEBSOCKET_RECHECK_SECONDS`), so the notice only makes the common single-process case immediate.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


class SessionEvents:
    def __init__(self) -> None:
        self._listeners: dict[uuid.UUID, set[asyncio.Event]] = {}

    @contextmanager
    def listen(self, user_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """An event set on every `notify(user_id)` while the block runs (clear it after waking)."""
        event = asyncio.Event()
        listeners = self._listeners.setdefault(user_id, set())
        listeners.add(event)
        try:
            yield event
        finally:
            listeners.discard(event)
            if not listeners:
                self._listeners.pop(user_id, None)

    def notify(self, user_id: uuid.UUID) -> None:
        for event in self._listeners.get(user_id, ()):
            event.set()
