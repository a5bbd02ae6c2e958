"""Raising security events: a row for the account's owner, a Prometheus count, a live push.

`raise_event` adds the row to the caller's transaction; the count and the push happen only once
that transaction commits (a rolled-back change raised nothing). The push is in-process
(`SECURITY_EVENT_BUS`): subscribers in other processes learn of the row by polling
(`graph/accounts/security_events.py`), a few seconds later.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core import metrics
from core.user_wakeups import UserWakeups
from db.audit import Client
from db.engine import Database
from db.enums import AuditOutcome, SecurityEventKind, SecurityEventSeverity
from db.ids import new_id
from db.models import AuditEventRow, SecurityEventRow
from db.scoping import OwnerScope
from security import refresh_tokens

SEVERITY = {
    SecurityEventKind.ACCOUNT_UNDER_ATTACK: SecurityEventSeverity.HIGH,
    SecurityEventKind.TOKEN_REUSE: SecurityEventSeverity.HIGH,
    SecurityEventKind.TOTP_DISABLED: SecurityEventSeverity.MEDIUM,
    SecurityEventKind.CREDENTIAL_SECRET_REPLACED: SecurityEventSeverity.MEDIUM,
    SecurityEventKind.NEW_LOCATION: SecurityEventSeverity.LOW,
}
# What the event records: an attempt that was refused, or a change that took effect.
OUTCOME = {
    SecurityEventKind.ACCOUNT_UNDER_ATTACK: AuditOutcome.FAILURE,
    SecurityEventKind.TOKEN_REUSE: AuditOutcome.FAILURE,
    SecurityEventKind.TOTP_DISABLED: AuditOutcome.SUCCESS,
    SecurityEventKind.CREDENTIAL_SECRET_REPLACED: AuditOutcome.SUCCESS,
    SecurityEventKind.NEW_LOCATION: AuditOutcome.SUCCESS,
}
# ACCOUNT_UNDER_ATTACK: this many refused log-in steps on one account within the window, raised
# once per window.
ATTACK_THRESHOLD = 10
ATTACK_WINDOW = timedelta(minutes=15)
# NEW_LOCATION: no successful log-in (or sign-up) of the account from the address for this long.
LOCATION_MEMORY = timedelta(days=30)
LOG_IN_ACTION = "login"
SEEN_FROM_ACTIONS = (LOG_IN_ACTION, "signup")
_PENDING = "stratograph.security_events"


SECURITY_EVENT_BUS = UserWakeups()


def raise_event(
    session: AsyncSession,
    kind: SecurityEventKind,
    *,
    user_id: uuid.UUID,
    ip: str | None = None,
    user_agent: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> SecurityEventRow:
    row = SecurityEventRow(
        id=new_id(),
        user_id=user_id,
        kind=kind,
        severity=SEVERITY[kind],
        outcome=OUTCOME[kind],
        ip=(ip or "")[:64] or None,
        user_agent=(user_agent or "")[:512] or None,
        details=dict(details or {}),
    )
    session.add(row)
    sync_session = session.sync_session
    pending: list[tuple[SecurityEventKind, uuid.UUID]] | None = sync_session.info.get(_PENDING)
    if pending is None:
        pending = sync_session.info[_PENDING] = []
        event.listen(sync_session, "after_commit", _published)
        event.listen(sync_session, "after_rollback", _discarded)
    pending.append((kind, user_id))
    return row


def _published(sync_session: Session) -> None:
    for kind, user_id in sync_session.info.pop(_PENDING, []):
        metrics.SECURITY_EVENTS.labels(kind.value).inc()
        SECURITY_EVENT_BUS.notify(user_id)


def _discarded(sync_session: Session) -> None:
    sync_session.info.pop(_PENDING, None)


async def recent_failures(session: AsyncSession, user_id: uuid.UUID, *, now: datetime) -> int:
    """Refused log-in steps of the account within the attack window (committed ones)."""
    scope = OwnerScope(user_id)
    statement = scope.count(AuditEventRow).where(
        AuditEventRow.action == LOG_IN_ACTION,
        AuditEventRow.outcome == AuditOutcome.FAILURE,
        AuditEventRow.created_at >= now - ATTACK_WINDOW,
    )
    return int(await session.scalar(statement) or 0)


async def raised_since(
    session: AsyncSession, user_id: uuid.UUID, kind: SecurityEventKind, since: datetime
) -> bool:
    statement = (
        OwnerScope(user_id)
        .select_columns(SecurityEventRow, func.count())
        .where(SecurityEventRow.kind == kind, SecurityEventRow.created_at >= since)
    )
    return bool(await session.scalar(statement))


async def seen_from(session: AsyncSession, user_id: uuid.UUID, ip: str, *, now: datetime) -> bool:
    """Whether the account logged in (or signed up) successfully from `ip` lately."""
    statement = (
        OwnerScope(user_id)
        .select_columns(AuditEventRow, AuditEventRow.id)
        .where(
            AuditEventRow.action.in_(SEEN_FROM_ACTIONS),
            AuditEventRow.outcome == AuditOutcome.SUCCESS,
            AuditEventRow.ip == ip,
            AuditEventRow.created_at >= now - LOCATION_MEMORY,
        )
    )
    return bool(await session.scalar(select(exists(statement))))


async def log_in_refused(
    database: Database, user_id: uuid.UUID | None, reason: str, client: Client
) -> None:
    """After a refused log-in step committed its audit event: count it, and raise
    ACCOUNT_UNDER_ATTACK when the account's refusals reach the threshold (once per window)."""
    metrics.LOGIN_FAILURES.labels(reason).inc()
    if user_id is None:
        return
    now = datetime.now(UTC)
    async with database.system_session() as session:
        failures = await recent_failures(session, user_id, now=now)
    if failures < ATTACK_THRESHOLD:
        return
    async with database.system_session() as session:
        # Under the account lock, so concurrent refusals raise the event once.
        await refresh_tokens.lock_account(session, user_id)
        kind = SecurityEventKind.ACCOUNT_UNDER_ATTACK
        if await raised_since(session, user_id, kind, now - ATTACK_WINDOW):
            return
        raise_event(
            session,
            kind,
            user_id=user_id,
            ip=client.ip,
            user_agent=client.user_agent,
            details={
                "failures": failures,
                "window_minutes": int(ATTACK_WINDOW.total_seconds() // 60),
                "last_ip": client.ip,
            },
        )
