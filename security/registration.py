"""Creating accounts: self-service sign-up and the operator's `create-admin`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.problems import Problem, ProblemCode
from db.audit import Client, record_audit
from db.engine import Database
from db.enums import AuditOutcome, Role
from db.ids import new_id
from db.models import UserRow
from security import refresh_tokens
from security.authentication import revocation_instants
from security.password_policy import (
    PolicyError,
    check_full_name,
    check_password,
    normalize_email,
)
from security.passwords import PasswordHasher

TAKEN_MESSAGE = "An account with this email address already exists."


@dataclass
class SignUpOutcome:
    user: UserRow | None = None
    problems: list[Problem] = field(default_factory=list)


async def sign_up(
    database: Database,
    passwords: PasswordHasher,
    *,
    email: str,
    password: str,
    full_name: str,
    client: Client,
    enabled: bool = True,
) -> SignUpOutcome:
    if not enabled:
        message = "Sign-up is disabled on this server; ask an administrator for an account."
        return SignUpOutcome(problems=[Problem(None, ProblemCode.REGISTRATION_DISABLED, message)])
    normalized, problems = normalize_email(email)
    name, name_problems = check_full_name(full_name)
    problems += name_problems + check_password(password, email=normalized)
    if problems or normalized is None:
        return SignUpOutcome(problems=problems)
    taken = [Problem(("email",), ProblemCode.TAKEN, TAKEN_MESSAGE)]
    # Checked before hashing so a duplicate costs no CPU; the unique index settles races.
    if await _email_exists(database, normalized):
        return SignUpOutcome(problems=taken)
    user = UserRow(
        id=new_id(),
        email=normalized,
        full_name=name,
        password_hash=await passwords.hash(password),
        role=Role.USER,
        is_active=True,
    )
    try:
        async with database.system_session() as session:
            session.add(user)
            await session.flush()
            record_audit(
                session,
                "signup",
                AuditOutcome.SUCCESS,
                user_id=user.id,
                ip=client.ip,
                user_agent=client.user_agent,
            )
    except IntegrityError:
        return SignUpOutcome(problems=taken)
    return SignUpOutcome(user=user)


@dataclass(frozen=True, slots=True)
class AdminOutcome:
    user: UserRow
    created: bool


async def find_user_by_email(database: Database, email: str) -> UserRow | None:
    normalized, problems = normalize_email(email)
    if problems or normalized is None:
        raise PolicyError(problems)
    async with database.system_session() as session:
        found: UserRow | None = (
            await session.execute(select(UserRow).where(UserRow.email == normalized))
        ).scalar()
    return found


async def create_or_promote_admin(
    database: Database,
    passwords: PasswordHasher,
    *,
    email: str,
    password: str | None,
    full_name: str = "Administrator",
) -> AdminOutcome:
    """Create an active admin, or make an existing account an active admin.

    For an existing account a given password replaces the old one (the recovery path for a
    forgotten admin password); without one the password is left alone. Raises `PolicyError`.
    """
    normalized, problems = normalize_email(email)
    if problems or normalized is None:
        raise PolicyError(problems)
    existing = await find_user_by_email(database, normalized)
    if password is not None:
        problems = check_password(password, email=normalized)
    elif existing is None:
        problems = [Problem(("password",), ProblemCode.REQUIRED, "A new admin needs a password.")]
    name, name_problems = check_full_name(full_name)
    if problems or (existing is None and name_problems):
        raise PolicyError(problems + name_problems)
    new_hash = await passwords.hash(password) if password is not None else None
    async with database.system_session() as session:
        if existing is None:
            if new_hash is None:  # unreachable: a missing password raised PolicyError above
                raise PolicyError(problems)
            user = UserRow(
                id=new_id(),
                email=normalized,
                full_name=name,
                password_hash=new_hash,
                role=Role.ADMIN,
                is_active=True,
            )
            session.add(user)
            await session.flush()
        else:
            user = existing
            values: dict[str, object] = {"role": Role.ADMIN, "is_active": True}
            if new_hash is not None:
                # A reset password ends every session started with the old one.
                await refresh_tokens.lock_account(session, user.id)
                now = datetime.now(UTC)
                values["password_hash"] = new_hash
                values["tokens_valid_after"] = revocation_instants(now)[0]
                await refresh_tokens.revoke_all(session, user.id, now=now)
            await session.execute(update(UserRow).where(UserRow.id == user.id).values(**values))
            user.role, user.is_active = Role.ADMIN, True
        record_audit(
            session,
            "admin.create" if existing is None else "admin.promote",
            AuditOutcome.SUCCESS,
            user_id=user.id,
            user_agent="stratograph create-admin",
            details={"password_changed": new_hash is not None},
        )
    return AdminOutcome(user=user, created=existing is None)


async def _email_exists(database: Database, email: str) -> bool:
    async with database.system_session() as session:
        found = (await session.execute(select(UserRow.id).where(UserRow.email == email))).first()
    return found is not None
