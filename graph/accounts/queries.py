"""Account queries."""

from __future__ import annotations

import strawberry

from graph.accounts.loaders import user_by_id
from graph.accounts.types import User
from graph.context import Info
from graph.errors import ErrorCode, PublicError
from graph.permissions import IsSignedIn


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The authenticated user.", permission_classes=[IsSignedIn])
    async def me(self, info: Info) -> User:
        current = info.context.require_user()
        row = await info.context.loaders.get(user_by_id).load(current.id)
        if row is None:
            raise PublicError("The account no longer exists", ErrorCode.UNAUTHENTICATED)
        return User.from_row(row)
