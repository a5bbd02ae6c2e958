"""Refresh tokens: opaque random strings, stored only as their SHA-256 digest.

One log-in starts a family; each rotation marks the presented token used and issues the next
token of the same family. Presenting a used or revoked token again means it was copied, so the
whole family is revoked (RFC 6819 §5.2.2.3, OAuth 2.0 Security BCP §4.14).

Callers pass the session, so a rotation, its audit event and the user update commit together.
Every path that issues or revokes tokens of an account first takes `lock_account`, so they run one
after the other per account: a revocation then sees every token a concurrent refresh inserted.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.ids import new_id
from db.models import RefreshTokenRow, UserRow
from db.scoping import OwnerScope
from db.text import storable

TOKEN_BYTES = 32
# A revoked token is kept this long, so presenting it again is still recognised (and audited) as
# reuse; then it is purged. Used and live tokens stay until they expire.
REVOKED_RETENTION = timedelta(days=1)


class RotationStatus(StrEnum):
    ROTATED = "ROTATED"
    UNKNOWN = "UNKNOWN"
    EXPIRED = "EXPIRED"
    REUSED = "REUSED"


@dataclass(frozen=True, slots=True)
class Rotation:
    status: RotationStatus
    user_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    ttl: timedelta,
    now: datetime,
    family_id: uuid.UUID | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Add a new token row to the session and return the only copy of the plaintext token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        RefreshTokenRow(
            user_id=user_id,
            family_id=family_id or new_id(),
            token_hash=digest(token),
            # The issue time decides whether a later revocation covers the token (`is_outdated`).
            created_at=now,
            expires_at=now + ttl,
            ip=ip,
            user_agent=storable(user_agent, 512),
        )
    )
    return token


async def find(session: AsyncSession, token: str) -> RefreshTokenRow | None:
    # Looked up by digest before the owner is known; the digest is the only key we have.
    found: RefreshTokenRow | None = (
        await session.execute(
            select(RefreshTokenRow).where(RefreshTokenRow.token_hash == digest(token))
        )
    ).scalar()
    return found


async def find_live(session: AsyncSession, token: str, *, now: datetime) -> RefreshTokenRow | None:
    """The token's row if it is unused, unrevoked and unexpired."""
    found: RefreshTokenRow | None = (
        await session.execute(select(RefreshTokenRow).where(_live(digest(token), now)))
    ).scalar()
    return found


async def lock_account(session: AsyncSession, user_id: uuid.UUID) -> UserRow | None:
    """Serialize token issue and revocation per account; call first in the transaction.

    PostgreSQL: the user row `FOR UPDATE`, held to commit, so a revocation waits for a refresh in
    flight (and then its statements see the row the refresh inserted), or the refresh waits and
    finds its token revoked. SQLite: a no-op write, which takes the database's write lock now
    rather than at the first real write. Callers read the clock after this returns, so the order of
    issue times agrees with the order of commits.
    """
    scope = OwnerScope(user_id)
    if session.get_bind().dialect.name == "postgresql":
        statement = scope.users().with_for_update()
    else:
        await session.execute(
            update(UserRow)
            .where(UserRow.id == user_id)
            .values(updated_at=UserRow.updated_at)
            .execution_options(synchronize_session=False)
        )
        statement = scope.users()
    found: UserRow | None = (await session.execute(statement)).scalar()
    return found


def is_outdated(row: RefreshTokenRow, user: UserRow) -> bool:
    """Issued before the account's last revocation (`tokens_valid_after`)."""
    cutoff = user.tokens_valid_after
    return cutoff is not None and row.created_at < cutoff


async def purge(session: AsyncSession, *, now: datetime) -> int:
    """Delete expired tokens and tokens revoked more than `REVOKED_RETENTION` ago."""
    # Housekeeping across every account: run in a system session.
    result = await session.execute(
        delete(RefreshTokenRow)
        .where(
            or_(
                RefreshTokenRow.expires_at <= now,
                RefreshTokenRow.revoked_at <= now - REVOKED_RETENTION,
            )
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _live(hashed: str, now: datetime) -> ColumnElement[bool]:
    return and_(
        RefreshTokenRow.token_hash == hashed,
        RefreshTokenRow.used_at.is_(None),
        RefreshTokenRow.revoked_at.is_(None),
        RefreshTokenRow.expires_at > now,
    )


async def claim(session: AsyncSession, token: str, *, now: datetime) -> Rotation:
    """Mark a live token used, atomically: of two concurrent rotations only one succeeds.

    Writing first (rather than reading, then writing) also takes SQLite's write lock up front, so a
    concurrent rotation waits instead of failing on a stale snapshot.
    """
    result = await session.execute(
        update(RefreshTokenRow)
        .where(_live(digest(token), now))
        .values(used_at=now)
        .returning(RefreshTokenRow.user_id, RefreshTokenRow.family_id)
        .execution_options(synchronize_session=False)
    )
    claimed = result.first()
    if claimed is not None:
        return Rotation(RotationStatus.ROTATED, claimed.user_id, claimed.family_id)
    row = await find(session, token)
    if row is None:
        return Rotation(RotationStatus.UNKNOWN)
    if row.used_at is not None or row.revoked_at is not None:
        return Rotation(RotationStatus.REUSED, row.user_id, row.family_id)
    return Rotation(RotationStatus.EXPIRED, row.user_id, row.family_id)


async def revoke_family(
    session: AsyncSession, user_id: uuid.UUID, family_id: uuid.UUID, *, now: datetime
) -> int:
    """Revoke one session; returns 1 if it was still live, else 0."""
    return await _revoke(session, user_id, now, RefreshTokenRow.family_id == family_id)


async def revoke_all(session: AsyncSession, user_id: uuid.UUID, *, now: datetime) -> int:
    """Revoke every session of a user; returns how many were still live."""
    return await _revoke(session, user_id, now)


async def _revoke(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, *conditions: ColumnElement[bool]
) -> int:
    # One write statement, no read before it: SQLite then takes its write lock up front instead
    # of failing when another connection committed since this transaction's first read.
    statement = (
        OwnerScope(user_id)
        .update(RefreshTokenRow)
        .where(RefreshTokenRow.revoked_at.is_(None), *conditions)
        .values(revoked_at=now)
        .returning(RefreshTokenRow.family_id, RefreshTokenRow.used_at, RefreshTokenRow.expires_at)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(statement)).all()
    # A session is live while its newest token is unused and unexpired.
    return len({row.family_id for row in rows if row.used_at is None and row.expires_at > now})
