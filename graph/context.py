"""The typed per-request context: who is asking, their database handle and their loaders."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import HTTPConnection
from strawberry.types import Info as StrawberryInfo

from core.request_context import set_user
from db.enums import Role
from db.models import UserRow
from db.scoping import OwnerScope, ScopedDatabase
from db.text import storable
from graph.errors import ErrorCode, PublicError
from graph.loaders import Loaders
from graph.runtime import Runtime
from security.proxies import trusted_proxies
from security.tokens import AccessClaims, InvalidToken

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


@dataclass(frozen=True, slots=True)
class SocketAuth:
    """What a WebSocket authenticated with in `connection_init`, re-checked per operation."""

    token: str
    user_id: uuid.UUID
    role: Role
    expires_at: datetime


@dataclass
class Context:
    connection: HTTPConnection
    runtime: Runtime
    user: CurrentUser | None
    db: ScopedDatabase
    loaders: Loaders
    response: Any = None
    # Filled by Strawberry from a WebSocket `connection_init` payload.
    connection_params: dict[str, Any] = field(default_factory=dict)
    # Set by `connection_init` on a WebSocket's connection context.
    socket_auth: SocketAuth | None = None

    def act_as(self, user: CurrentUser | None) -> None:
        """Re-scope the context after a WebSocket authenticates in `connection_init`."""
        self.user = user
        self.db = _scoped_db(self.runtime, user)
        self.loaders = Loaders(self.db)
        set_user(user.id if user else None)

    def require_user(self) -> CurrentUser:
        """The caller, for resolvers behind `IsAuthenticated`: narrows the type without an
        `assert` (which `python -O` strips) and fails closed if a permission class is missing."""
        if self.user is None:
            raise PublicError("Authentication required", ErrorCode.UNAUTHENTICATED)
        return self.user

    @property
    def client_ip(self) -> str:
        """The caller's address; X-Forwarded-For counts only from TRUSTED_PROXIES peers."""
        client = self.connection.client
        proxies = trusted_proxies(tuple(self.runtime.settings.trusted_proxies))
        return proxies.client_ip(client.host if client else None, self.connection.headers)

    @property
    def user_agent(self) -> str | None:
        # Stored with audit events and sessions: no NUL or control characters, bounded.
        return storable(self.connection.headers.get("user-agent"), 512)


Info = StrawberryInfo[Context, None]


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(runtime: Runtime, token: str | None) -> CurrentUser | None:
    """The user behind an access token, or None for anonymous / any invalid token."""
    found = await authenticate_claims(runtime, token)
    return found[0] if found else None


async def authenticate_claims(
    runtime: Runtime, token: str | None
) -> tuple[CurrentUser, AccessClaims] | None:
    """`authenticate`, with the token's verified claims (a WebSocket needs its expiry)."""
    if token is None:
        return None
    try:
        claims = runtime.signer.verify_access(token)
    except InvalidToken as exc:
        logger.info("access token refused: %s", exc)
        return None
    async with runtime.database.session(claims.user_id) as session:
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


def _scoped_db(runtime: Runtime, user: CurrentUser | None) -> ScopedDatabase:
    scope = OwnerScope(user.id if user else None, is_admin=bool(user and user.is_admin))
    return ScopedDatabase(runtime.database, scope)


def build_context(
    connection: HTTPConnection, runtime: Runtime, user: CurrentUser | None, response: Any = None
) -> Context:
    db = _scoped_db(runtime, user)
    set_user(user.id if user else None)  # log lines of this request carry the user id
    return Context(
        connection=connection,
        runtime=runtime,
        user=user,
        db=db,
        loaders=Loaders(db),
        response=response,
    )
