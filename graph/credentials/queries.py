"""Credential queries and the `CloudCredential` Node lookup, both scoped to the caller."""

from __future__ import annotations

import uuid

import strawberry

from db.models import CloudCredential as CredentialRow
from graph.context import Info
from graph.credentials.types import CloudCredential
from graph.node import register_node
from graph.permissions import IsAuthenticated


async def _credential_node(info: Info, credential_id: uuid.UUID) -> CloudCredential | None:
    db = info.context.db
    async with db.session() as session:
        statement = db.scope.select(CredentialRow).where(CredentialRow.id == credential_id)
        row = (await session.scalars(statement)).first()
    return CloudCredential.from_row(row) if row else None


register_node("CloudCredential", _credential_node)


@strawberry.type
class CredentialQueries:
    @strawberry.field(
        description="Your cloud credentials, ordered by name. Secrets are never returned.",
        permission_classes=[IsAuthenticated],
    )
    async def credentials(self, info: Info) -> list[CloudCredential]:
        db = info.context.db
        async with db.session() as session:
            statement = db.scope.select(CredentialRow).order_by(
                CredentialRow.name, CredentialRow.id
            )
            rows = (await session.scalars(statement)).all()
        return [CloudCredential.from_row(row) for row in rows]
