"""Log-in, refresh-token rotation, log-out and password change: the session lifecycle.

Every outcome a caller can provoke is a `Problem`, never an exception, and every security-relevant
outcome writes an audit event in the same transaction as its effect. Passwords are hashed and
verified outside any transaction, so no database connection is held while the CPU works.

Issuing and revoking tokens of one account are serialized on its user row
(`refresh_tokens.lock_account`), and each reads the clock only once it holds that lock: when a
revocation returns, no token issued before it works, whatever ran concurrently.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.problems import Problem, ProblemCode
from db.audit import Client, record_audit
from db.engine import Database
from db.enums import AuditOutcome, SecurityEventKind
from db.models import UserRow
from db.scoping import OwnerScope
from security import mfa_challenges, refresh_tokens
from security.password_policy import (
    MAX_CHECKED_PASSWORD_LENGTH,
    MAX_PASSWORD_LENGTH,
    check_password,
    normalize_email,
)
from security.passwords import PasswordHasher
from security.refresh_tokens import RotationStatus
from security.security_events import log_in_refused, raise_event, seen_from
from security.session_events import SessionEvents
from security.tokens import TokenSigner

INVALID_CREDENTIALS_MESSAGE = "The email or password is incorrect."
INVALID_TOKEN_MESSAGE = "The refresh token is unknown, expired or revoked. Log in again."  # noqa: S105
LOG_OUT_NEEDS_SESSION = (
    "Send the refresh token of the session to end, or allSessions: true with an access token."
)


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
    # Set instead of `session` when the password was right and a second factor is due.
    mfa_token: str | None = None


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
        events: SessionEvents | None = None,
    ) -> None:
        self.database = database
        self.passwords = passwords
        self.signer = signer
        self.refresh_ttl = refresh_ttl
        self.events = events or SessionEvents()

    async def log_in(self, email: str, password: str, client: Client) -> SessionOutcome:
        """Same problem, message and (hashing) cost for an unknown email and a wrong password.

        On an account with two-factor log-in a right password issues no tokens, only an
        `mfaToken` for `completeLogIn` (security/mfa_login.py).
        """
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
        reason: str | None = None
        async with self.database.system_session() as session:
            if user is not None and verification.ok:
                # Re-read under the lock: a deactivation or password change meanwhile counts.
                verified_hash = user.password_hash
                user = await refresh_tokens.lock_account(session, user.id)
                if user is not None and user.password_hash != verified_hash:
                    verification = dataclasses.replace(verification, ok=False)
            now = datetime.now(UTC)
            if user is None or not verification.ok or not user.is_active:
                reason = (
                    "unknown_email"
                    if user is None
                    else ("wrong_password" if not verification.ok else "inactive")
                )
                self.audit(session, "login", AuditOutcome.FAILURE, user, client, reason=reason)
            elif verification.new_hash is not None:
                # Bcrypt (or outdated argon2 parameters): upgraded while we hold the plaintext.
                await self._set_user(session, user.id, password_hash=verification.new_hash)
                user.password_hash = verification.new_hash
            if reason is None and user is not None and user.totp_enabled:
                token = mfa_challenges.issue(session, user.id, now=now)
                self.audit(session, "login.challenge", AuditOutcome.SUCCESS, user, client)
                return SessionOutcome(mfa_token=token)
            if reason is None and user is not None:
                rehashed = verification.new_hash is not None
                issued = await self.finish_log_in(session, user, client, now, rehashed=rehashed)
        if reason is not None or user is None:
            await log_in_refused(self.database, user.id if user else None, reason or "", client)
            problem = Problem(None, ProblemCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE)
            return SessionOutcome(problems=[problem])
        return SessionOutcome(session=issued)

    async def finish_log_in(
        self, session: AsyncSession, user: UserRow, client: Client, now: datetime, **details: object
    ) -> IssuedSession:
        """A verified log-in (after `lock_account`): audit, note a new address, issue tokens."""
        await self._set_user(session, user.id, last_login_at=now)
        user.last_login_at = now
        if client.ip and not await seen_from(session, user.id, client.ip, now=now):
            raise_event(
                session,
                SecurityEventKind.NEW_LOCATION,
                user_id=user.id,
                ip=client.ip,
                user_agent=client.user_agent,
                details={"ip": client.ip},
            )
        self.audit(session, "login", AuditOutcome.SUCCESS, user, client, **details)
        return self._start_session(session, user, client, now=now)

    async def refresh(self, token: str, client: Client) -> SessionOutcome:
        invalid = SessionOutcome(
            problems=[Problem(("refreshToken",), ProblemCode.INVALID_TOKEN, INVALID_TOKEN_MESSAGE)]
        )
        async with self.database.system_session() as session:
            presented = await refresh_tokens.find(session, token)
        if presented is None:
            return invalid
        async with self.database.system_session() as session:
            user = await refresh_tokens.lock_account(session, presented.user_id)
            now = datetime.now(UTC)
            rotation = await refresh_tokens.claim(session, token, now=now)
            if (
                rotation.status is RotationStatus.REUSED
                and rotation.user_id is not None
                and rotation.family_id is not None
            ):
                # A used token came back: someone holds a copy. End the whole session.
                await refresh_tokens.revoke_family(
                    session, rotation.user_id, rotation.family_id, now=now
                )
                record_audit(
                    session,
                    "refresh_token.reuse",
                    AuditOutcome.FAILURE,
                    user_id=rotation.user_id,
                    anonymous=True,
                    ip=client.ip,
                    user_agent=client.user_agent,
                    details={"family_id": str(rotation.family_id)},
                )
                raise_event(
                    session,
                    SecurityEventKind.TOKEN_REUSE,
                    user_id=rotation.user_id,
                    ip=client.ip,
                    user_agent=client.user_agent,
                    details={"family_id": str(rotation.family_id)},
                )
                return invalid
            if rotation.status is not RotationStatus.ROTATED or user is None or not user.is_active:
                return invalid
            if refresh_tokens.is_outdated(presented, user):
                # Issued before the account's last revocation: refused even if a row escaped it.
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
        """End the session of a live `token`, or every session of its owner (or of the caller).

        Only a live refresh token counts: a used, revoked or expired one (an old copy) cannot end
        its owner's current sessions.
        """
        invalid = LogOutOutcome(
            problems=[Problem(("refreshToken",), ProblemCode.INVALID_TOKEN, INVALID_TOKEN_MESSAGE)]
        )
        family_id: uuid.UUID | None = None
        if token:
            async with self.database.system_session() as session:
                row = await refresh_tokens.find_live(session, token, now=datetime.now(UTC))
            if row is None or (acting_user_id and row.user_id != acting_user_id):
                return invalid
            owner, family_id = row.user_id, row.family_id
        elif all_sessions and acting_user_id is not None:
            owner = acting_user_id
        else:
            problem = Problem(("refreshToken",), ProblemCode.REQUIRED, LOG_OUT_NEEDS_SESSION)
            return LogOutOutcome(problems=[problem])
        async with self.database.system_session() as session:
            await refresh_tokens.lock_account(session, owner)
            now = datetime.now(UTC)
            if all_sessions:
                revoked = await refresh_tokens.revoke_all(session, owner, now=now)
                cutoff, _ = revocation_instants(now)
                await self._set_user(session, owner, tokens_valid_after=cutoff)
            elif family_id is not None:
                revoked = await refresh_tokens.revoke_family(session, owner, family_id, now=now)
            else:  # unreachable: without allSessions a token (hence a family) is required
                return invalid
            record_audit(
                session,
                "logout",
                AuditOutcome.SUCCESS,
                user_id=owner,
                ip=client.ip,
                user_agent=client.user_agent,
                details={"all_sessions": all_sessions, "revoked_sessions": revoked},
            )
        if all_sessions:
            self.events.notify(owner)
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
                self.audit(
                    session,
                    "password.change",
                    AuditOutcome.FAILURE,
                    user,
                    client,
                    reason="wrong_current_password",
                )
            message = "The current password is incorrect."
            problem = Problem(("currentPassword",), ProblemCode.INVALID_CREDENTIALS, message)
            return SessionOutcome(problems=[problem])
        problems = check_password(new, email=user.email, field="newPassword")
        if not problems and new == current:
            message = "Choose a password different from the current one."
            problems = [Problem(("newPassword",), ProblemCode.INVALID, message)]
        if problems:
            return SessionOutcome(problems=problems)
        new_hash = await self.passwords.hash(new)
        async with self.database.system_session() as session:
            locked = await refresh_tokens.lock_account(session, user.id)
            if locked is None or not locked.is_active:
                problem = Problem(
                    None, ProblemCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE
                )
                return SessionOutcome(problems=[problem])
            now = datetime.now(UTC)
            cutoff, issue_at = revocation_instants(now)
            await refresh_tokens.revoke_all(session, user.id, now=now)
            await self._set_user(
                session, user.id, password_hash=new_hash, tokens_valid_after=cutoff
            )
            user.password_hash, user.tokens_valid_after = new_hash, cutoff
            self.audit(session, "password.change", AuditOutcome.SUCCESS, user, client)
            issued = self._start_session(session, user, client, now=issue_at)
        self.events.notify(user.id)
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

    def audit(
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
            # A refused log-in was tried by someone unknown, not by the account.
            anonymous=action == "login" and outcome is AuditOutcome.FAILURE,
            ip=client.ip,
            user_agent=client.user_agent,
            details=details,
        )
