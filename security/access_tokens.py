"""Who an access token belongs to: signature, expiry, the account's state and its revocations."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from db.engine import Database
from db.enums import Role
from db.models import UserRow
from security.tokens import AccessClaims, InvalidToken, TokenSigner

logger = logging.getLogger("stratograph.auth")


@dataclass(frozen=True, slots=True)
class CurrentUser:
    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    totp_enabled: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header; None for any other scheme."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(
    database: Database, signer: TokenSigner, token: str | None
) -> CurrentUser | None:
    """The user behind an access token, or None for anonymous / any invalid token."""
    found = await authenticate_claims(database, signer, token)
    return found[0] if found else None


async def authenticate_claims(
    database: Database, signer: TokenSigner, token: str | None
) -> tuple[CurrentUser, AccessClaims] | None:
    """`authenticate`, with the token's verified claims (a WebSocket needs its expiry)."""
    if token is None:
        return None
    try:
        claims = signer.verify_access(token)
    except InvalidToken as exc:
        logger.info("access token refused: %s", exc)
        return None
    async with database.session(claims.user_id) as session:
        row = (await session.execute(select(UserRow).where(UserRow.id == claims.user_id))).scalar()
    if row is None or not row.is_active:
        logger.info("access token refused: user missing or inactive")
        return None
    if row.tokens_valid_after is not None and claims.issued_at < row.tokens_valid_after:
        logger.info("access token refused: issued before the user's sessions were revoked")
        return None
    user = CurrentUser(
        id=row.id,
        email=row.email,
        full_name=row.full_name,
        role=row.role,
        totp_enabled=row.totp_enabled,
    )
    return user, claims
