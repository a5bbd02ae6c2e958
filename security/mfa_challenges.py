"""`mfaToken`s: what a correct password buys on an account with two-factor log-in.

An opaque random string (not a JWT, so no access-token check can ever accept it), stored only as
its SHA-256 digest, bound to its user, alive for `CHALLENGE_TTL`, used at most once, and dead
after `MAX_ATTEMPTS` wrong codes.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import MfaChallengeRow
from db.scoping import OwnerScope

CHALLENGE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
TOKEN_BYTES = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: AsyncSession, user_id: uuid.UUID, *, now: datetime) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        MfaChallengeRow(
            user_id=user_id,
            token_hash=_digest(token),
            created_at=now,
            expires_at=now + CHALLENGE_TTL,
        )
    )
    return token


async def find_live(session: AsyncSession, token: str, *, now: datetime) -> MfaChallengeRow | None:
    """The challenge of `token` while it can still be completed."""
    # Looked up by digest before the owner is known, like a refresh token.
    found: MfaChallengeRow | None = await session.scalar(
        select(MfaChallengeRow).where(
            MfaChallengeRow.token_hash == _digest(token[:256]),
            MfaChallengeRow.used_at.is_(None),
            MfaChallengeRow.expires_at > now,
            MfaChallengeRow.attempts < MAX_ATTEMPTS,
        )
    )
    return found


async def count_failure(session: AsyncSession, challenge: MfaChallengeRow) -> int:
    """Count a wrong code; returns the tries left."""
    attempts = await session.scalar(
        OwnerScope(challenge.user_id)
        .update(MfaChallengeRow)
        .where(MfaChallengeRow.id == challenge.id)
        .values(attempts=MfaChallengeRow.attempts + 1)
        .returning(MfaChallengeRow.attempts)
        .execution_options(synchronize_session=False)
    )
    return max(0, MAX_ATTEMPTS - int(attempts or MAX_ATTEMPTS))


async def consume(session: AsyncSession, challenge: MfaChallengeRow, *, now: datetime) -> None:
    await session.execute(
        OwnerScope(challenge.user_id)
        .update(MfaChallengeRow)
        .where(MfaChallengeRow.id == challenge.id)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


async def purge(session: AsyncSession, *, now: datetime) -> int:
    """Delete challenges that can no longer be completed (housekeeping: a system session)."""
    result = await session.execute(
        delete(MfaChallengeRow)
        .where(or_(MfaChallengeRow.expires_at <= now, MfaChallengeRow.used_at.is_not(None)))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
