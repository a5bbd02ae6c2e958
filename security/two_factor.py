"""Enrolling, checking and removing a user's TOTP factor and recovery codes.

The TOTP secret is sealed by the vault (AES-256-GCM, associated data naming the owner, the row and
the purpose) and is returned exactly once, by `begin_setup`; it stays pending (useless for log-in)
until `confirm_setup` sees a valid code. Recovery codes are stored as digests and shown once.
Every change to an account's factor runs under `refresh_tokens.lock_account`, so concurrent
checks of one account run one after the other and a code or recovery code works only once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.problems import Problem, ProblemCode
from db.audit import Client, record_audit
from db.engine import Database
from db.enums import AuditOutcome, SecurityEventKind
from db.ids import new_id
from db.models import RecoveryCodeRow, TotpFactorRow, UserRow
from db.scoping import OwnerScope
from security import refresh_tokens, totp
from security.password_policy import MAX_CHECKED_PASSWORD_LENGTH
from security.passwords import PasswordHasher
from security.security_events import raise_event
from security.vault import TOTP_SECRET, Sealed, Vault, VaultError

WRONG_CODE = "The code is wrong or was already used; wait for the next one."
NOT_ENABLED = "Two-factor log-in is not enabled for this account."
NO_PENDING_SETUP = "Begin a two-factor setup first (beginTotpSetup)."
ALREADY_ENABLED = "Two-factor log-in is already enabled; disable it first to enrol again."


@dataclass
class TwoFactorOutcome:
    problems: list[Problem] = field(default_factory=list)
    enrolment: totp.Enrolment | None = None
    recovery_codes: list[str] = field(default_factory=list)


def _problem(name: str | None, code: ProblemCode, message: str) -> TwoFactorOutcome:
    return TwoFactorOutcome(problems=[Problem((name,) if name else None, code, message)])


async def load_factor(session: AsyncSession, user_id: uuid.UUID) -> TotpFactorRow | None:
    found: TotpFactorRow | None = await session.scalar(OwnerScope(user_id).select(TotpFactorRow))
    return found


async def accept_code(
    session: AsyncSession, vault: Vault, factor: TotpFactorRow, code: str
) -> bool:
    """Check `code` and, if it is good, spend its time step (a compare-and-set, so it works once
    even between two processes)."""
    try:
        secret = vault.open(
            Sealed(factor.key_id, factor.ciphertext), factor.user_id, factor.id, TOTP_SECRET
        ).decode()
    except VaultError:
        return False  # a secret the vault cannot open accepts no code (admins can reset it)
    step = totp.matching_step(secret, code[:64], after_step=factor.last_used_step)
    if step is None:
        return False
    last = TotpFactorRow.last_used_step
    spent = await session.scalar(
        OwnerScope(factor.user_id)
        .update(TotpFactorRow)
        .where(TotpFactorRow.id == factor.id, last.is_(None) | (last < step))
        .values(last_used_step=step)
        .returning(TotpFactorRow.id)
        .execution_options(synchronize_session=False)
    )
    return spent is not None


async def spend_recovery_code(session: AsyncSession, user_id: uuid.UUID, code: str) -> bool:
    digest = totp.recovery_code_digest(code[:64])
    if digest is None:
        return False
    spent = await session.scalar(
        OwnerScope(user_id)
        .update(RecoveryCodeRow)
        .where(RecoveryCodeRow.code_hash == digest, RecoveryCodeRow.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
        .returning(RecoveryCodeRow.id)
        .execution_options(synchronize_session=False)
    )
    return spent is not None


async def remove_factor(session: AsyncSession, user_id: uuid.UUID) -> None:
    scope = OwnerScope(user_id)
    await session.execute(scope.delete(TotpFactorRow))
    await session.execute(scope.delete(RecoveryCodeRow))
    await session.execute(update(UserRow).where(UserRow.id == user_id).values(totp_enabled=False))


async def _replace_recovery_codes(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    await session.execute(OwnerScope(user_id).delete(RecoveryCodeRow))
    codes = totp.new_recovery_codes()
    for code in codes:
        session.add(RecoveryCodeRow(user_id=user_id, code_hash=totp.generated_code_digest(code)))
    return codes


class TwoFactor:
    def __init__(self, database: Database, vault: Vault, passwords: PasswordHasher) -> None:
        self.database = database
        self.vault = vault
        self.passwords = passwords

    async def begin_setup(self, user_id: uuid.UUID, client: Client) -> TwoFactorOutcome:
        async with self.database.system_session() as session:
            user = await refresh_tokens.lock_account(session, user_id)
            if user is None:
                return _problem(None, ProblemCode.NOT_FOUND, "The account no longer exists.")
            factor = await load_factor(session, user_id)
            if factor is not None and factor.confirmed_at is not None:
                return _problem(None, ProblemCode.TOTP_ALREADY_ENABLED, ALREADY_ENABLED)
            if factor is not None:  # a setup begun before and never confirmed: start over
                await session.execute(
                    OwnerScope(user_id).delete(TotpFactorRow).where(TotpFactorRow.id == factor.id)
                )
                await session.flush()
            enrolment = totp.new_enrolment(user.email)
            row_id = new_id()
            sealed = self.vault.seal(enrolment.secret.encode(), user_id, row_id, TOTP_SECRET)
            session.add(
                TotpFactorRow(
                    id=row_id, user_id=user_id, key_id=sealed.key_id, ciphertext=sealed.blob
                )
            )
            _audit(session, "totp.setup", AuditOutcome.SUCCESS, user_id, client)
        return TwoFactorOutcome(enrolment=enrolment)

    async def confirm_setup(
        self, user_id: uuid.UUID, code: str, client: Client
    ) -> TwoFactorOutcome:
        async with self.database.system_session() as session:
            await refresh_tokens.lock_account(session, user_id)
            factor = await load_factor(session, user_id)
            if factor is None:
                return _problem(None, ProblemCode.TOTP_NOT_ENABLED, NO_PENDING_SETUP)
            if factor.confirmed_at is not None:
                return _problem(None, ProblemCode.TOTP_ALREADY_ENABLED, ALREADY_ENABLED)
            if not await accept_code(session, self.vault, factor, code):
                _audit(
                    session,
                    "totp.enable",
                    AuditOutcome.FAILURE,
                    user_id,
                    client,
                    reason="invalid_code",
                )
                return _problem("code", ProblemCode.INVALID_CODE, WRONG_CODE)
            await session.execute(
                OwnerScope(user_id)
                .update(TotpFactorRow)
                .where(TotpFactorRow.id == factor.id)
                .values(confirmed_at=datetime.now(UTC))
            )
            await session.execute(
                update(UserRow).where(UserRow.id == user_id).values(totp_enabled=True)
            )
            codes = await _replace_recovery_codes(session, user_id)
            _audit(session, "totp.enable", AuditOutcome.SUCCESS, user_id, client)
        return TwoFactorOutcome(recovery_codes=codes)

    async def disable(
        self, user_id: uuid.UUID, password: str, code: str, client: Client
    ) -> TwoFactorOutcome:
        async with self.database.system_session() as session:
            user = await session.scalar(OwnerScope(user_id).users().where(UserRow.id == user_id))
        if user is None:
            return _problem(None, ProblemCode.NOT_FOUND, "The account no longer exists.")
        verification = await self.passwords.verify(
            password[:MAX_CHECKED_PASSWORD_LENGTH], user.password_hash
        )
        async with self.database.system_session() as session:
            await refresh_tokens.lock_account(session, user_id)
            if not verification.ok:
                _audit(
                    session,
                    "totp.disable",
                    AuditOutcome.FAILURE,
                    user_id,
                    client,
                    reason="wrong_password",
                )
                message = "The current password is incorrect."
                return _problem("currentPassword", ProblemCode.INVALID_CREDENTIALS, message)
            refused = await self._refuse_code(session, user_id, code, client, "totp.disable")
            if refused is not None:
                return refused
            await remove_factor(session, user_id)
            _audit(session, "totp.disable", AuditOutcome.SUCCESS, user_id, client)
            raise_event(
                session,
                SecurityEventKind.TOTP_DISABLED,
                user_id=user_id,
                ip=client.ip,
                user_agent=client.user_agent,
                details={"by": "owner"},
            )
        return TwoFactorOutcome()

    async def regenerate_recovery_codes(
        self, user_id: uuid.UUID, code: str, client: Client
    ) -> TwoFactorOutcome:
        async with self.database.system_session() as session:
            await refresh_tokens.lock_account(session, user_id)
            refused = await self._refuse_code(session, user_id, code, client, "totp.recovery_codes")
            if refused is not None:
                return refused
            codes = await _replace_recovery_codes(session, user_id)
            _audit(session, "totp.recovery_codes", AuditOutcome.SUCCESS, user_id, client)
        return TwoFactorOutcome(recovery_codes=codes)

    async def _refuse_code(
        self, session: AsyncSession, user_id: uuid.UUID, code: str, client: Client, action: str
    ) -> TwoFactorOutcome | None:
        """Why `code` does not prove the enabled factor (a wrong code is audited as `action`);
        None when it does, the time step then spent."""
        factor = await load_factor(session, user_id)
        if factor is None or factor.confirmed_at is None:
            return _problem(None, ProblemCode.TOTP_NOT_ENABLED, NOT_ENABLED)
        if not await accept_code(session, self.vault, factor, code):
            _audit(session, action, AuditOutcome.FAILURE, user_id, client, reason="invalid_code")
            return _problem("code", ProblemCode.INVALID_CODE, WRONG_CODE)
        return None


def _audit(
    session: AsyncSession,
    action: str,
    outcome: AuditOutcome,
    user_id: uuid.UUID,
    client: Client,
    **details: object,
) -> None:
    record_audit(
        session,
        action,
        outcome,
        user_id=user_id,
        ip=client.ip,
        user_agent=client.user_agent,
        details=details,
    )
