"""What administrators do to accounts: (de)activate, change role, reset two-factor log-in.

Each change is one transaction that locks every admin row (in id order, so two admins acting at
once cannot deadlock) before reading whether it would leave no active admin, then the target's
row; it writes an audit event on the target naming the admin as actor. Deactivation ends every
session of the account (refresh tokens revoked, access tokens outdated); after commit,
`SessionEvents.notify` makes this process's open WebSockets of the account re-check at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.audit import record_audit
from db.engine import Database
from db.enums import AuditOutcome, Role, SecurityEventKind
from db.models import UserRow
from db.scoping import OwnerScope
from security import refresh_tokens
from security.authentication import revocation_instants
from security.clients import Client
from security.password_policy import Problem, ProblemCode
from security.security_events import raise_event
from security.session_events import SessionEvents
from security.two_factor import remove_factor

NOT_A_USER = "No such user."
LAST_ADMIN = "This is the last active administrator; promote another one first."


@dataclass
class AdminOutcome:
    user: UserRow | None = None
    problems: list[Problem] = field(default_factory=list)


class AccountAdmin:
    def __init__(self, database: Database, events: SessionEvents) -> None:
        self.database = database
        self.events = events

    async def set_active(
        self, actor_id: uuid.UUID, target_id: uuid.UUID | None, active: bool, client: Client
    ) -> AdminOutcome:
        action = "admin.user.activate" if active else "admin.user.deactivate"
        async with self.database.system_session() as session:
            target = await self._lock(session, actor_id, target_id)
            if target is None:
                return _not_found()
            if not active and await self._is_last_admin(session, target):
                self._audit(session, action, AuditOutcome.FAILURE, actor_id, target, client)
                return AdminOutcome(
                    problems=[Problem("active", ProblemCode.LAST_ADMIN, LAST_ADMIN)]
                )
            changes: dict[str, object] = {"is_active": active}
            if not active:
                now = datetime.now(UTC)
                await refresh_tokens.revoke_all(session, target.id, now=now)
                changes["tokens_valid_after"], _ = revocation_instants(now)
            await _set(session, target, **changes)
            self._audit(session, action, AuditOutcome.SUCCESS, actor_id, target, client)
        self.events.notify(target.id)
        return AdminOutcome(user=target)

    async def set_role(
        self, actor_id: uuid.UUID, target_id: uuid.UUID | None, role: Role, client: Client
    ) -> AdminOutcome:
        async with self.database.system_session() as session:
            target = await self._lock(session, actor_id, target_id)
            if target is None:
                return _not_found()
            before = target.role
            if role is not Role.ADMIN and await self._is_last_admin(session, target):
                self._audit(
                    session, "admin.user.role", AuditOutcome.FAILURE, actor_id, target, client
                )
                return AdminOutcome(problems=[Problem("role", ProblemCode.LAST_ADMIN, LAST_ADMIN)])
            await _set(session, target, role=role)
            self._audit(
                session,
                "admin.user.role",
                AuditOutcome.SUCCESS,
                actor_id,
                target,
                client,
                role_before=before.value,
                role_after=role.value,
            )
        self.events.notify(target.id)
        return AdminOutcome(user=target)

    async def reset_totp(
        self, actor_id: uuid.UUID, target_id: uuid.UUID | None, client: Client
    ) -> AdminOutcome:
        async with self.database.system_session() as session:
            target = await self._lock(session, actor_id, target_id)
            if target is None:
                return _not_found()
            had_totp = target.totp_enabled
            await remove_factor(session, target.id)
            target.totp_enabled = False
            self._audit(
                session,
                "admin.user.reset_totp",
                AuditOutcome.SUCCESS,
                actor_id,
                target,
                client,
                was_enabled=had_totp,
            )
            if had_totp:
                raise_event(
                    session,
                    SecurityEventKind.TOTP_DISABLED,
                    user_id=target.id,
                    ip=client.ip,
                    user_agent=client.user_agent,
                    details={"by": "admin", "admin_id": str(actor_id)},
                )
        return AdminOutcome(user=target)

    async def _lock(
        self, session: AsyncSession, actor_id: uuid.UUID, target_id: uuid.UUID | None
    ) -> UserRow | None:
        """Lock the admins, then the target; None when the target is not a user."""
        every_user = OwnerScope(actor_id, is_admin=True).admin_view()
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(
                every_user.users(UserRow.id)
                .where(UserRow.role == Role.ADMIN)
                .order_by(UserRow.id)
                .with_for_update()
            )
        if target_id is None:
            return None
        return await refresh_tokens.lock_account(session, target_id)

    async def _is_last_admin(self, session: AsyncSession, target: UserRow) -> bool:
        if target.role is not Role.ADMIN or not target.is_active:
            return False
        every_user = OwnerScope(target.id, is_admin=True).admin_view()
        others = await session.scalar(
            every_user.users(func.count())
            .select_from(UserRow)
            .where(UserRow.role == Role.ADMIN, UserRow.is_active.is_(True), UserRow.id != target.id)
        )
        return not others

    def _audit(
        self,
        session: AsyncSession,
        action: str,
        outcome: AuditOutcome,
        actor_id: uuid.UUID,
        target: UserRow,
        client: Client,
        **details: object,
    ) -> None:
        record_audit(
            session,
            action,
            outcome,
            user_id=target.id,
            actor_id=actor_id,
            ip=client.ip,
            user_agent=client.user_agent,
            details={"target_email": target.email, **details},
        )


def _not_found() -> AdminOutcome:
    return AdminOutcome(problems=[Problem("id", ProblemCode.NOT_FOUND, NOT_A_USER)])


async def _set(session: AsyncSession, target: UserRow, **values: object) -> None:
    await session.execute(update(UserRow).where(UserRow.id == target.id).values(**values))
    for name, value in values.items():
        setattr(target, name, value)
