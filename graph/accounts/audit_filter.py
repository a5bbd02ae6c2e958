"""`AuditEventFilter`: the conditions of `auditEvents(filter: …)`, applied to a scoped select."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Select

from db.models import AuditEventRow
from graph.enums import AuditOutcome
from graph.errors import BadRequest
from graph.node import from_global_id

MAX_ACTIONS = 50


@strawberry.input(description="Which audit events to list; every given condition must hold.")
class AuditEventFilter:
    action: list[str] | None = strawberry.field(
        default=None, description="Any of these actions, e.g. ['login', 'admin.user.deactivate']."
    )
    outcome: AuditOutcome | None = strawberry.field(default=None, description="Only this outcome.")
    since: datetime | None = strawberry.field(
        default=None, description="Events at or after this instant."
    )
    until: datetime | None = strawberry.field(
        default=None, description="Events before this instant."
    )
    user_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Events of this user (administrators only; others may name themselves).",
    )


def filtered(statement: Select[Any], wanted: AuditEventFilter | None) -> Select[Any]:
    """`statement` narrowed by `wanted`; a malformed condition is a BAD_REQUEST."""
    if wanted is None:
        return statement
    if wanted.action is not None:
        if len(wanted.action) > MAX_ACTIONS:
            raise BadRequest(f"filter.action takes at most {MAX_ACTIONS} actions")
        statement = statement.where(AuditEventRow.action.in_([a[:64] for a in wanted.action]))
    if wanted.outcome is not None:
        statement = statement.where(AuditEventRow.outcome == wanted.outcome.value)
    for instant in (wanted.since, wanted.until):
        if instant is not None and instant.tzinfo is None:
            raise BadRequest("filter.since and filter.until need a time zone, e.g. 'Z'")
    if wanted.since is not None:
        statement = statement.where(AuditEventRow.created_at >= wanted.since)
    if wanted.until is not None:
        statement = statement.where(AuditEventRow.created_at < wanted.until)
    if wanted.user_id is not None:
        _, user_id = from_global_id(str(wanted.user_id), "User")
        statement = statement.where(AuditEventRow.user_id == user_id)
    return statement
