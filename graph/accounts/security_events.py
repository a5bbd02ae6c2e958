"""Security events: the `securityEvents` connection, its subscription, and `node` lookups.

The subscription wakes on this process's in-process notice (`SECURITY_EVENT_BUS`) and also
re-reads every `POLL_SECONDS`, so events raised by another process (a worker, another server)
arrive too, a little later. Each wake-up reads the caller's events newer than the last one sent.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from core.waits import wait_set
from db import enums as db_enums
from db.models import SecurityEventRow
from graph.accounts.loaders import user_by_id
from graph.accounts.types import User
from graph.connections.keyset import Ordering, PageRequest, SortKey
from graph.connections.types import (
    AfterArg,
    BeforeArg,
    Connection,
    FirstArg,
    LastArg,
    Listing,
    connection,
    paginate,
)
from graph.context import Info
from graph.enums import AuditOutcome
from graph.node import Node, to_global_id
from graph.permissions import IsAuthenticated
from security.security_events import SECURITY_EVENT_BUS

POLL_SECONDS = 5.0
# Rows are stamped before their transaction commits: look this far back for late commits.
COMMIT_LAG = timedelta(seconds=30)

ORDERING = Ordering(
    "securityEvents:CREATED_AT:DESC",
    (
        SortKey(SecurityEventRow.created_at, "datetime", lambda r: r.created_at, descending=True),
        SortKey(SecurityEventRow.id, "uuid", lambda row: row.id, descending=True),
    ),
)


@strawberry.enum(description="What a security event is about.")
class SecurityEventKind(Enum):
    ACCOUNT_UNDER_ATTACK = strawberry.enum_value(
        db_enums.SecurityEventKind.ACCOUNT_UNDER_ATTACK.value,
        description="Many refused log-ins (passwords or codes) on the account within 15 minutes.",
    )
    NEW_LOCATION = strawberry.enum_value(
        db_enums.SecurityEventKind.NEW_LOCATION.value,
        description="A successful log-in from an address not seen for the account in 30 days.",
    )
    TOKEN_REUSE = strawberry.enum_value(
        db_enums.SecurityEventKind.TOKEN_REUSE.value,
        description="A used refresh token came back (a copy exists); its session was ended.",
    )
    TOTP_DISABLED = strawberry.enum_value(
        db_enums.SecurityEventKind.TOTP_DISABLED.value,
        description="Two-factor log-in was turned off, by the owner or an administrator.",
    )
    CREDENTIAL_SECRET_REPLACED = strawberry.enum_value(
        db_enums.SecurityEventKind.CREDENTIAL_SECRET_REPLACED.value,
        description="The secret of a stored cloud credential was replaced.",
    )


@strawberry.enum(description="How urgently a security event deserves a look.")
class SecurityEventSeverity(Enum):
    HIGH = strawberry.enum_value("HIGH", description="Likely an attack in progress.")
    MEDIUM = strawberry.enum_value("MEDIUM", description="A protection was weakened or changed.")
    LOW = strawberry.enum_value("LOW", description="Unusual but often harmless.")


@strawberry.type(description="Suspicious activity or a security-relevant change on an account.")
class SecurityEvent(Node):
    kind: SecurityEventKind = strawberry.field(description="What happened.")
    severity: SecurityEventSeverity = strawberry.field(description="How urgent it is.")
    outcome: AuditOutcome = strawberry.field(
        description="FAILURE for a refused attempt, SUCCESS for a change that took effect."
    )
    ip: str | None = strawberry.field(description="Client address of the request behind it.")
    user_agent: str | None = strawberry.field(description="Client user agent.")
    created_at: datetime = strawberry.field(description="When it happened.")
    details: JSON = strawberry.field(description="Extra facts; never a password or token.")
    user_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The account it concerns.")
    async def user(self, info: Info) -> User | None:
        row = await info.context.loaders.get(user_by_id).load(self.user_id)
        return User.from_row(row) if row else None

    @classmethod
    async def resolve_node(cls, info: Info, local_id: uuid.UUID) -> SecurityEvent | None:
        # Admins see every security event in the list, so they can open any of them by ID too.
        scope = info.context.db.scope.admin_view()
        async with info.context.db.session() as session:
            row = await session.scalar(
                scope.select(SecurityEventRow).where(SecurityEventRow.id == local_id)
            )
        return cls.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: SecurityEventRow) -> SecurityEvent:
        return cls(
            id=to_global_id("SecurityEvent", row.id),
            kind=SecurityEventKind(row.kind.value),
            severity=SecurityEventSeverity(row.severity.value),
            outcome=AuditOutcome(row.outcome.value),
            ip=row.ip,
            user_agent=row.user_agent,
            created_at=row.created_at,
            details=JSON(row.details),
            user_id=row.user_id,
        )


@connection(
    SecurityEvent,
    Listing("SecurityEvent", "event", "events", "A security event"),
    "A page of security events, newest first (Relay cursor connection).",
)
class SecurityEventConnection(Connection[SecurityEvent]):
    pass


@strawberry.type
class SecurityEventQueries:
    @strawberry.field(
        description="Security events, newest first: your own, or everyone's for an administrator.",
        permission_classes=[IsAuthenticated],
    )
    async def security_events(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> SecurityEventConnection:
        request = PageRequest.from_args(first, after, last, before)
        scope = info.context.db.scope.admin_view()
        page, count_fn = await paginate(
            info,
            scope.select(SecurityEventRow),
            scope.count(SecurityEventRow),
            ORDERING,
            request,
            entities=True,
        )
        return SecurityEventConnection.from_page(page, count_fn)


async def _newer(info: Info, since: datetime) -> list[SecurityEventRow]:
    # The caller's own events only, also for administrators: a push is about your account.
    scope = info.context.db.scope
    async with info.context.db.session() as session:
        rows = await session.scalars(
            scope.select(SecurityEventRow)
            .where(SecurityEventRow.created_at >= since)
            .order_by(SecurityEventRow.created_at, SecurityEventRow.id)
            .limit(100)
        )
        return list(rows)


@strawberry.type
class SecurityEventSubscriptions:
    @strawberry.subscription(
        description="Your security events as they are raised (from the moment you subscribe).",
        permission_classes=[IsAuthenticated],
    )
    async def security_events(self, info: Info) -> AsyncGenerator[SecurityEvent, None]:
        user = info.context.require_user()
        since = window_start = datetime.now(UTC)
        sent: dict[uuid.UUID, datetime] = {}
        with SECURITY_EVENT_BUS.listen(user.id) as woken:
            while True:
                read_at = datetime.now(UTC)
                for row in await _newer(info, window_start):
                    if row.id not in sent:
                        sent[row.id] = row.created_at
                        yield SecurityEvent.from_row(row)
                window_start = max(since, read_at - COMMIT_LAG)
                sent = {key: at for key, at in sent.items() if at >= window_start}
                await wait_set(woken, POLL_SECONDS)
                woken.clear()
