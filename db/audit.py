"""Writing audit events: one helper so every caller records the same shape."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import AuditOutcome
from db.models import AuditEventRow
from db.text import storable

# Keys that must never reach `details`, whatever a caller passes by mistake.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "token",
        "refresh_token",
        "access_token",
        "secret",
        "secret_access_key",
        "client_secret",
        "private_key",
        "service_account_json",
    }
)


def record_audit(
    session: AsyncSession,
    action: str,
    outcome: AuditOutcome,
    *,
    user_id: uuid.UUID | None,
    actor_id: uuid.UUID | None = None,
    anonymous: bool = False,
    ip: str | None = None,
    user_agent: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEventRow:
    """Add an audit event to the session's transaction (committed with the caller's work).

    The actor is `actor_id` when given (an admin acting on `user_id`), nobody for an `anonymous`
    caller (a failed log-in, a replayed token), else the user themselves.
    """
    clean = {k: v for k, v in (details or {}).items() if k.lower() not in FORBIDDEN_DETAIL_KEYS}
    event = AuditEventRow(
        user_id=user_id,
        actor_id=actor_id if actor_id is not None else (None if anonymous else user_id),
        action=action,
        outcome=outcome,
        ip=storable(ip, 64),
        user_agent=storable(user_agent, 512),
        details=clean,
    )
    session.add(event)
    return event
