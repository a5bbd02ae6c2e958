"""Account queries."""

from __future__ import annotations

import uuid

import strawberry

from graph.accounts.types import User
from graph.context import Info
from graph.errors import ErrorCode, PublicError
from graph.node import register_node
from graph.permissions import IsSignedIn


async def _user_node(info: Info, user_id: uuid.UUID) -> User | None:
    row = await info.context.loaders.user_by_id.load(user_id)
    return User.from_row(row) if row else None


register_node("User", _user_node)


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The authenticated user.", permission_classes=[IsSignedIn])
    async def me(self, info: Info) -> User:
        current = info.context.require_user()
        row = await info.context.loaders.user_by_id.load(current.id)
        if row is None:
            raise PublicError("The account no longer exists", ErrorCode.UNAUTHENTICATED)
        return User.from_row(row)
