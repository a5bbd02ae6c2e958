"""GraphQL types of the accounts domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from db import enums as db_enums
from db.models import AuditEventRow, UserRow
from graph.accounts.loaders import user_by_id
from graph.connections.types import Connection, Listing, connection
from graph.context import Info
from graph.enums import AuditOutcome
from graph.node import Node, to_global_id


@strawberry.enum(description="What a user may do.")
class Role(Enum):
    USER = strawberry.enum_value(db_enums.Role.USER.value, description="A regular user.")
    ADMIN = strawberry.enum_value(
        db_enums.Role.ADMIN.value, description="May list users and every audit event."
    )


@strawberry.type(description="A registered account.")
class User(Node):
    email: str = strawberry.field(description="Normalized (lower-case) email address.")
    full_name: str = strawberry.field(description="Display name.")
    role: Role = strawberry.field(description="USER or ADMIN.")
    created_at: datetime = strawberry.field(description="When the account was created.")
    totp_enabled: bool = strawberry.field(
        description="Whether log-in asks for a TOTP code (or a recovery code) after the password."
    )
    is_active: bool = strawberry.field(
        description="False once an administrator deactivated the account (it cannot log in)."
    )

    @classmethod
    async def resolve_node(cls, info: Info, local_id: uuid.UUID) -> User | None:
        row = await info.context.loaders.get(user_by_id).load(local_id)
        return cls.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=to_global_id("User", row.id),
            email=row.email,
            full_name=row.full_name,
            role=Role(row.role.value),
            created_at=row.created_at,
            totp_enabled=row.totp_enabled,
            is_active=row.is_active,
        )


@strawberry.type(description="A security-relevant action, recorded for its user.")
class AuditEvent(Node):
    action: str = strawberry.field(description="What happened, e.g. 'login' or 'credential.add'.")
    outcome: AuditOutcome = strawberry.field(description="SUCCESS or FAILURE.")
    ip: str | None = strawberry.field(description="Client address the request came from.")
    user_agent: str | None = strawberry.field(description="Client user agent.")
    created_at: datetime = strawberry.field(description="When it happened.")
    details: JSON = strawberry.field(description="Extra facts; never a password or token.")
    actor_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(
        description=(
            "Who acted: the user themselves, or an administrator acting on them; null for an "
            "anonymous caller (a refused log-in). Only administrators see other users here."
        )
    )
    async def actor(self, info: Info) -> User | None:
        if self.actor_id is None:
            return None
        row = await info.context.loaders.get(user_by_id).load(self.actor_id)
        return User.from_row(row) if row else None

    @classmethod
    async def resolve_node(cls, info: Info, local_id: uuid.UUID) -> AuditEvent | None:
        # Admins see every audit event in the list, so they can open any of them by ID too.
        scope = info.context.db.scope.admin_view()
        async with info.context.db.session() as session:
            row = await session.scalar(
                scope.select(AuditEventRow).where(AuditEventRow.id == local_id)
            )
        return cls.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: AuditEventRow) -> AuditEvent:
        return cls(
            actor_id=row.actor_id,
            id=to_global_id("AuditEvent", row.id),
            action=row.action,
            outcome=AuditOutcome(row.outcome.value),
            ip=row.ip,
            user_agent=row.user_agent,
            created_at=row.created_at,
            details=JSON(row.details),
        )


@connection(
    AuditEvent,
    Listing("AuditEvent", "event", "events", "An audit event"),
    "A page of audit events, newest first (Relay cursor connection).",
)
class AuditEventConnection(Connection[AuditEvent]):
    pass


@connection(
    User,
    Listing("User", "user", "users", "A user"),
    "A page of users, oldest account first (Relay cursor connection).",
)
class UserConnection(Connection[User]):
    pass
