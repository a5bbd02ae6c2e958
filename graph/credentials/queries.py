"""Credential queries, scoped to the caller."""

from __future__ import annotations

import strawberry

from db.models import CloudCredentialRow
from graph.context import Info
from graph.credentials.types import CloudCredential
from graph.permissions import IsAuthenticated


@strawberry.type
class CredentialQueries:
    @strawberry.field(
        description="Your cloud credentials, ordered by name. Secrets are never returned.",
        permission_classes=[IsAuthenticated],
    )
    async def credentials(self, info: Info) -> list[CloudCredential]:
        db = info.context.db
        async with db.session() as session:
            statement = db.scope.select(CloudCredentialRow).order_by(
                CloudCredentialRow.name, CloudCredentialRow.id
            )
            rows = (await session.scalars(statement)).all()
        return [CloudCredential.from_row(row) for row in rows]
