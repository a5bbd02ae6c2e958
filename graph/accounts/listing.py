"""The `auditEvents` and `users` connections, and `node` lookups of audit events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import Select, func

from db.models import AuditEvent as AuditEventRow
from db.models import User as UserRow
from graph.accounts.types import AuditEvent, User
from graph.connections.keyset import Ordering, Page, PageRequest, SortKey
from graph.connections.types import (
    AfterArg,
    BeforeArg,
    ConnectionFields,
    CountFn,
    FirstArg,
    LastArg,
    PageInfo,
    paginate,
)
from graph.context import Info
from graph.enums import AuditOutcome
from graph.errors import BadRequest
from graph.node import from_global_id, register_node
from graph.permissions import IsAdmin, IsAuthenticated, UserFilterIsForAdmins

MAX_ACTIONS = 50

AUDIT_ORDERING = Ordering(
    "auditEvents:CREATED_AT:DESC",
    (
        SortKey(AuditEventRow.created_at, "datetime", lambda r: r.created_at, descending=True),
        SortKey(AuditEventRow.id, "uuid", lambda row: row.id, descending=True),
    ),
)
USER_ORDERING = Ordering(
    "users:CREATED_AT:ASC",
    (
        SortKey(UserRow.created_at, "datetime", lambda row: row.created_at),
        SortKey(UserRow.id, "uuid", lambda row: row.id),
    ),
)


async def _audit_event_node(info: Info, event_id: uuid.UUID) -> AuditEvent | None:
    # Admins see every audit event in the list, so they can open any of them by ID too.
    scope = info.context.db.scope.admin_view()
    async with info.context.db.session() as session:
        row = await session.scalar(scope.select(AuditEventRow).where(AuditEventRow.id == event_id))
    return AuditEvent.from_row(row) if row else None


register_node("AuditEvent", _audit_event_node)


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


def _filtered(statement: Select[Any], wanted: AuditEventFilter | None) -> Select[Any]:
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


@strawberry.type(description="An audit event in a page of events, with its cursor.")
class AuditEventEdge:
    cursor: str = strawberry.field(description="Opaque position of this event in the list.")
    node: AuditEvent = strawberry.field(description="The event.")


@strawberry.type(description="A page of audit events, newest first (Relay cursor connection).")
class AuditEventConnection(ConnectionFields):
    edges: list[AuditEventEdge] = strawberry.field(description="The events of this page.")

    @classmethod
    def from_page(cls, page: Page, count: CountFn) -> AuditEventConnection:
        return cls(
            edges=[
                AuditEventEdge(cursor=cursor, node=AuditEvent.from_row(row))
                for row, cursor in zip(page.rows, page.cursors, strict=True)
            ],
            page_info=PageInfo.from_page(page),
            count_fn=count,
        )


@strawberry.type(description="A user in a page of users, with its cursor.")
class UserEdge:
    cursor: str = strawberry.field(description="Opaque position of this user in the list.")
    node: User = strawberry.field(description="The user.")


@strawberry.type(description="A page of users, oldest account first (Relay cursor connection).")
class UserConnection(ConnectionFields):
    edges: list[UserEdge] = strawberry.field(description="The users of this page.")

    @classmethod
    def from_page(cls, page: Page, count: CountFn) -> UserConnection:
        return cls(
            edges=[
                UserEdge(cursor=cursor, node=User.from_row(row))
                for row, cursor in zip(page.rows, page.cursors, strict=True)
            ],
            page_info=PageInfo.from_page(page),
            count_fn=count,
        )


@strawberry.type
class AccountListQueries:
    @strawberry.field(
        description="Audit events, newest first: your own, or everyone's for an administrator.",
        permission_classes=[IsAuthenticated, UserFilterIsForAdmins],
    )
    async def audit_events(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: Annotated[
            AuditEventFilter | None, strawberry.argument(description="Narrow the list.")
        ] = None,
    ) -> AuditEventConnection:
        request = PageRequest.from_args(first, after, last, before)
        scope = info.context.db.scope.admin_view()
        page, count_fn = await paginate(
            info,
            _filtered(scope.select(AuditEventRow), filter),
            _filtered(scope.count(AuditEventRow), filter),
            AUDIT_ORDERING,
            request,
            entities=True,
        )
        return AuditEventConnection.from_page(page, count_fn)

    @strawberry.field(
        description="Every account, oldest first (administrators only).",
        permission_classes=[IsAdmin],
    )
    async def users(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> UserConnection:
        request = PageRequest.from_args(first, after, last, before)
        scope = info.context.db.scope.admin_view()
        count = scope.users(func.count()).select_from(UserRow)
        page, count_fn = await paginate(
            info, scope.users(), count, USER_ORDERING, request, entities=True
        )
        return UserConnection.from_page(page, count_fn)
