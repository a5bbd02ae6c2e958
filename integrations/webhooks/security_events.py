"""`SECURITY_EVENT`: queued from the audit trail, in the transaction that records the event.

A flush hook sees every new audit event, whoever writes it, so a new security-relevant action
needs only a name in `SECURITY_ACTIONS`. Emitted for:
- `refresh_token.reuse` — a used refresh token came back (its whole session was revoked);
- `password.change` — the password was changed (other sessions were revoked);
- `login.failures` — the 5th failed log-in for the account within 15 minutes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, func
from sqlalchemy.orm import Session

from db.enums import AuditOutcome, DeliveryStatus, WebhookEvent
from db.ids import new_id
from db.models import AuditEventRow, WebhookDeliveryRow, WebhookRow
from db.scoping import OwnerScope
from db.types import utcnow
from integrations.webhooks.events import EVENT_TYPES, payload
from integrations.webhooks.sync_events import global_id

SECURITY_ACTIONS = frozenset({"refresh_token.reuse", "password.change"})
LOGIN_BURST = 5
LOGIN_BURST_WINDOW = timedelta(minutes=15)


def _is_burst(session: Session, audit: AuditEventRow) -> bool:
    """This failed log-in is the LOGIN_BURST-th within the window (reported once per burst)."""
    since = utcnow() - LOGIN_BURST_WINDOW
    earlier = session.execute(
        OwnerScope(audit.user_id)
        .select_columns(AuditEventRow, func.count())
        .where(
            AuditEventRow.action == "login",
            AuditEventRow.outcome == AuditOutcome.FAILURE,
            AuditEventRow.created_at >= since,
        )
    ).scalar_one()
    return int(earlier) + 1 == LOGIN_BURST


def _security_action(session: Session, audit: AuditEventRow) -> str | None:
    if audit.user_id is None:
        return None
    if audit.action in SECURITY_ACTIONS:
        return audit.action
    if audit.action == "login" and audit.outcome == AuditOutcome.FAILURE:
        return "login.failures" if _is_burst(session, audit) else None
    return None


def _queue(session: Session, audit: AuditEventRow, action: str) -> None:
    owner = audit.user_id
    assert owner is not None
    hooks = session.execute(
        OwnerScope(owner)
        .select_columns(WebhookRow, WebhookRow.id, WebhookRow.events)
        .where(WebhookRow.enabled.is_(True))
    ).all()
    wanted = [h.id for h in hooks if WebhookEvent.SECURITY_EVENT.value in (h.events or [])]
    if not wanted:
        return
    audit.id = audit.id or new_id()
    audit.created_at = audit.created_at or utcnow()
    data: dict[str, Any] = {
        "securityEvent": {
            "auditEventId": global_id("AuditEvent", audit.id),
            "action": action,
            "outcome": audit.outcome.value,
            "ip": audit.ip,
            "at": audit.created_at.isoformat(),
        }
    }
    body = payload(EVENT_TYPES[WebhookEvent.SECURITY_EVENT], data, audit.created_at)
    for webhook_id in wanted:
        session.add(
            WebhookDeliveryRow(
                id=new_id(),
                user_id=owner,
                webhook_id=webhook_id,
                event_type=body["type"],
                payload=body,
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=audit.created_at,
            )
        )


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    for item in list(session.new):
        if isinstance(item, AuditEventRow):
            action = _security_action(session, item)
            if action is not None:
                _queue(session, item, action)


def queue_security_events() -> None:
    """Install the flush hook (once per process; every session of every engine)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
