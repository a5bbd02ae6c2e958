"""Telling others about finding transitions: webhook deliveries in the transaction, and a
wake-up of the owner's `findingEvents` subscriptions in this process once it commits.

Subscribers in other processes find the transitions by reading `findings.status_changed_at`
on their next poll, so the notice is only a shortcut.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from integrations.webhooks.finding_events import finding_events

_PENDING = "finding_event_owners"


class FindingEventBus:
    """In-process wake-ups per user (the subscription re-reads the table on each)."""

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


FINDING_EVENT_BUS = FindingEventBus()


async def queued(
    session: AsyncSession,
    user_id: uuid.UUID,
    opened: Sequence[uuid.UUID],
    resolved: Sequence[uuid.UUID],
    at: datetime,
) -> None:
    await finding_events(session, user_id, opened, resolved, at)
    sync_session = session.sync_session
    owners: set[uuid.UUID] | None = sync_session.info.get(_PENDING)
    if owners is None:
        owners = sync_session.info[_PENDING] = set()
        event.listen(sync_session, "after_commit", _published)
        event.listen(sync_session, "after_rollback", _discarded)
    owners.add(user_id)


def _published(sync_session: Session) -> None:
    for user_id in sync_session.info.pop(_PENDING, set()):
        FINDING_EVENT_BUS.notify(user_id)


def _discarded(sync_session: Session) -> None:
    sync_session.info.pop(_PENDING, None)
