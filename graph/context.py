"""The typed per-request context: who is asking, their database handle and their loaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import HTTPConnection
from strawberry.types import Info as StrawberryInfo

from core.request_context import set_user
from db.audit import Client
from db.enums import Role
from db.scoping import OwnerScope, ScopedDatabase
from db.text import storable
from graph.errors import ErrorCode, PublicError
from graph.loaders import Loaders
from graph.runtime import Runtime
from security.access_tokens import CurrentUser
from security.proxies import trusted_proxies


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

    @property
    def client(self) -> Client:
        """Where the request came from, cut to the audit columns' sizes: a hostile header must
        not turn an audit write into an error."""
        agent = self.user_agent
        return Client(ip=self.client_ip[:64], user_agent=agent[:512] if agent else None)


Info = StrawberryInfo[Context, None]


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
