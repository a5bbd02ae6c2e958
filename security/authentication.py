"""Log-in, refresh-token rotation, log-out and password change: the session lifecycle.

Every outcome a caller can provoke is a `Problem`, never an exception, and every security-relevant
outcome writes an audit event in the same transaction as its effect. Passwords are hashed and
verified outside any transaction, so no database connection is held while the CPU works.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.audit import record_audit
from db.engine import Database
from db.enums import AuditOutcome
from db.models import UserRow
from db.scoping import OwnerScope
from security import refresh_tokens
from security.password_policy import (
    MAX_PASSWORD_LENGTH,
    Problem,
    ProblemCode,
    check_password,
    normalize_email,
)
from security.passwords import PasswordHasher
from security.refresh_tokens import RotationStatus
from security.tokens import TokenSigner

INVALID_CREDENTIALS_MESSAGE = "The email or password is incorrect."
INVALID_TOKEN_MESSAGE = "The refresh token is unknown, expired or revoked. Log in again."  # noqa: S105
# Longer inputs are not worth hashing: no stored password can be that long.
MAX_CHECKED_PASSWORD_LENGTH = 4 * MAX_PASSWORD_LENGTH


@dataclass(frozen=True, slots=True)
class Client:
    """Where a request came from, for audit events and the session list."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class IssuedSession:
    access_token: str
    refresh_token: str
    expires_in: int
    user: UserRow


@dataclass
class SessionOutcome:
    session: IssuedSession | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class LogOutOutcome:
    revoked_sessions: int = 0
    problems: list[Problem] = field(default_factory=list)


def revocation_instants(now: datetime) -> tuple[datetime, datetime]:
    """`tokens_valid_after` for a revocation at `now`, and the issue time of the fresh token.

    Access tokens carry `iat` rounded to the millisecond, so a token issued just before `now` can
    show an `iat` up to one millisecond later. The cut-off sits a millisecond beyond that, and the
    replacement token is issued exactly at the cut-off, so it is the first to pass.
    """
    whole_ms = math.ceil(now.timestamp() * 1000) + 1
    cutoff = datetime.fromtimestamp(whole_ms / 1000, UTC)
    return cutoff, cutoff


class Authenticator:
    def __init__(
        self,
        database: Database,
        passwords: PasswordHasher,
        signer: TokenSigner,
        *,
        refresh_ttl: timedelta,
    ) -> None:
        self.database = database
        self.passwords = passwords
        self.signer = signer
        self.refresh_ttl = refresh_ttl

    async def log_in(self, email: str, password: str, client: Client) -> SessionOutcome:
        """Same problem, message and (hashing) cost for an unknown email and a wrong password."""
        normalized, _ = normalize_email(email)
        async with self.database.system_session() as session:
            user = (
                (await session.execute(select(UserRow).where(UserRow.email == normalized))).scalar()
                if normalized
                else None
            )
        if user is None or len(password) > MAX_CHECKED_PASSWORD_LENGTH:
            verification = await self.passwords.verify_dummy(password[:MAX_PASSWORD_LENGTH])
        else:
            verification = await self.passwords.verify(password, user.password_hash)
        now = datetime.now(UTC)
        async with self.database.system_session() as session:
            if user is None or not verification.ok or not user.is_active:
                reason = (
                    "unknown_email"
                    if user is None
                    else ("wrong_password" if not verification.ok else "inactive")
                )
                self._audit(session, "login", AuditOutcome.FAILURE, user, client, reason=reason)
                problem = Problem(
                    None, ProblemCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE
                )
                return SessionOutcome(problems=[problem])
            changes: dict[str, object] = {"last_login_at": now}
            if verification.new_hash is not None:
                # Bcrypt (or outdated argon2 parameters): upgraded while we hold the plaintext.
                changes["password_hash"] = verification.new_hash
            await session.execute(update(UserRow).where(UserRow.id == user.id).values(**changes))
            for name, value in changes.items():
                setattr(user, name, value)
            rehashed = verification.new_hash is not None
            self._audit(session, "login", AuditOutcome.SUCCESS, user, client, rehashed=rehashed)
            issued = self._start_session(session, user, client, now=now)
        return SessionOutcome(session=issued)

    async def refresh(self, token: str, client: Client) -> SessionOutcome:
        now = datetime.now(UTC)
        invalid = SessionOutcome(
            problems=[Problem("refreshToken", ProblemCode.INVALID_TOKEN, INVALID_TOKEN_MESSAGE)]
        )
        async with self.database.system_session() as session:
            rotation = await refresh_tokens.claim(session, token, now=now)
            if rotation.status is RotationStatus.REUSED:
                assert rotation.user_id is not None and rotation.family_id is not None
                # A used token came back: someone holds a copy. End the whole session.
                await refresh_tokens.revoke_family(
                    session, rotation.user_id, rotation.family_id, now=now
                )
                record_audit(
                    session,
                    "refresh_token.reuse",
                    AuditOutcome.FAILURE,
                    user_id=rotation.user_id,
                    ip=client.ip,
                    user_agent=client.user_agent,
                    details={"family_id": str(rotation.family_id)},
                )
                return invalid
            if rotation.status is not RotationStatus.ROTATED or rotation.user_id is None:
                return invalid
            user = await self._load_user(session, rotation.user_id)
            if user is None or not user.is_active:
                return invalid
            issued = self._start_session(
                session, user, client, now=now, family_id=rotation.family_id
            )
        return SessionOutcome(session=issued)

    async def log_out(
        self,
        token: str | None,
        *,
        all_sessions: bool,
        acting_user_id: uuid.UUID | None,
        client: Client,
    ) -> LogOutOutcome:
        """End the session of `token`, or every session of its owner (or of the caller)."""
        now = datetime.now(UTC)
        invalid = LogOutOutcome(
            problems=[Problem("refreshToken", ProblemCode.INVALID_TOKEN, INVALID_TOKEN_MESSAGE)]
        )
        async with self.database.system_session() as session:
            row = await refresh_tokens.find(session, token) if token else None
        if token and (row is None or (acting_user_id and row.user_id != acting_user_id)):
            return invalid
        owner = row.user_id if row is not None else acting_user_id
        if owner is None:
            return invalid
        async with self.database.system_session() as session:
            if all_sessions:
                revoked = await refresh_tokens.revoke_all(session, owner, now=now)
                cutoff, _ = revocation_instants(now)
                await self._set_user(session, owner, tokens_valid_after=cutoff)
            else:
                assert row is not None
                revoked = await refresh_tokens.revoke_family(session, owner, row.family_id, now=now)
            record_audit(
                session,
                "logout",
                AuditOutcome.SUCCESS,
                user_id=owner,
                ip=client.ip,
                user_agent=client.user_agent,
                details={"all_sessions": all_sessions, "revoked_sessions": revoked},
            )
        return LogOutOutcome(revoked_sessions=revoked)

    async def change_password(
        self, user_id: uuid.UUID, current: str, new: str, client: Client
    ) -> SessionOutcome:
        """Set a new password, end every session and access token, and start a fresh session."""
        async with self.database.system_session() as session:
            user = await self._load_user(session, user_id)
        if user is None or not user.is_active:
            problem = Problem(None, ProblemCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE)
            return SessionOutcome(problems=[problem])
        verification = await self.passwords.verify(
            current[:MAX_CHECKED_PASSWORD_LENGTH], user.password_hash
        )
        if not verification.ok:
            async with self.database.system_session() as session:
                self._audit(
                    session,
                    "password.change",
                    AuditOutcome.FAILURE,
                    user,
                    client,
                    reason="wrong_current_password",
                )
            message = "The current password is incorrect."
            problem = Problem("currentPassword", ProblemCode.INVALID_CREDENTIALS, message)
            return SessionOutcome(problems=[problem])
        problems = check_password(new, email=user.email, field="newPassword")
        if not problems and new == current:
            message = "Choose a password different from the current one."
            problems = [Problem("newPassword", ProblemCode.INVALID, message)]
        if problems:
            return SessionOutcome(problems=problems)
        new_hash = await self.passwords.hash(new)
        now = datetime.now(UTC)
        cutoff, issue_at = revocation_instants(now)
        async with self.database.system_session() as session:
            await refresh_tokens.revoke_all(session, user.id, now=now)
            await self._set_user(
                session, user.id, password_hash=new_hash, tokens_valid_after=cutoff
            )
            user.password_hash, user.tokens_valid_after = new_hash, cutoff
            self._audit(session, "password.change", AuditOutcome.SUCCESS, user, client)
            issued = self._start_session(session, user, client, now=issue_at)
        return SessionOutcome(session=issued)

    def _start_session(
        self,
        session: AsyncSession,
        user: UserRow,
        client: Client,
        *,
        now: datetime,
        family_id: uuid.UUID | None = None,
    ) -> IssuedSession:
        refresh = refresh_tokens.issue(
            session,
            user.id,
            ttl=self.refresh_ttl,
            now=now,
            family_id=family_id,
            ip=client.ip,
            user_agent=client.user_agent,
        )
        access, expires_in = self.signer.issue_access(user.id, now=now)
        return IssuedSession(access, refresh, expires_in, user)

    async def _load_user(self, session: AsyncSession, user_id: uuid.UUID) -> UserRow | None:
        found: UserRow | None = (
            await session.execute(OwnerScope(user_id).users().where(UserRow.id == user_id))
        ).scalar()
        return found

    async def _set_user(self, session: AsyncSession, user_id: uuid.UUID, **values: object) -> None:
        await session.execute(update(UserRow).where(UserRow.id == user_id).values(**values))

    def _audit(
        self,
        session: AsyncSession,
        action: str,
        outcome: AuditOutcome,
        user: UserRow | None,
        client: Client,
        **details: object,
    ) -> None:
        record_audit(
            session,
            action,
            outcome,
            user_id=user.id if user else None,
            ip=client.ip,
            user_agent=client.user_agent,
            details=details,
        )
