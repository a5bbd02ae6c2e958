"""Telling others about finding transitions: webhook deliveries in the transaction, and a
wake-up of the owner's `findingEvents` subscriptions in this process once it commits.

Subscribers in other processes find the transitions by reading `findings.status_changed_at`
on their next poll, so the notice is only a shortcut.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core.user_wakeups import UserWakeups
from integrations.webhooks.finding_events import finding_events

_PENDING = "finding_event_owners"
FINDING_EVENT_BUS = UserWakeups()


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
