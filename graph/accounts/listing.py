"""The `auditEvents` and `users` connections."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import func

from db.models import AuditEventRow, UserRow
from graph.accounts.audit_filter import AuditEventFilter, filtered
from graph.accounts.types import AuditEventConnection, UserConnection
from graph.connections.keyset import Ordering, PageRequest, SortKey
from graph.connections.types import (
    AfterArg,
    BeforeArg,
    FirstArg,
    LastArg,
    paginate,
)
from graph.context import Info
from graph.permissions import IsAdmin, IsAuthenticated, UserFilterIsForAdmins

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
            filtered(scope.select(AuditEventRow), filter),
            filtered(scope.count(AuditEventRow), filter),
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
