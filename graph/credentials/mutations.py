"""Credential mutations; the work lives in `graph.credentials.commands`."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graph.context import Info
from graph.credentials import commands
from graph.credentials.inputs import (
    AddCredentialInput,
    DeleteCredentialInput,
    UpdateCredentialInput,
)
from graph.credentials.payloads import (
    AddCredentialPayload,
    DeleteCredentialPayload,
    UpdateCredentialPayload,
)
from graph.permissions import IsAuthenticated


@strawberry.type
class CredentialMutations:
    @strawberry.mutation(
        description="Store a cloud credential, encrypted; its secret is never returned.",
        permission_classes=[IsAuthenticated],
    )
    async def add_credential(
        self,
        info: Info,
        input: Annotated[AddCredentialInput, strawberry.argument(description="The credential.")],
    ) -> AddCredentialPayload:
        return await commands.add_credential(info.context, input)

    @strawberry.mutation(
        description="Rename a credential, change its region or replace its secret.",
        permission_classes=[IsAuthenticated],
    )
    async def update_credential(
        self,
        info: Info,
        input: Annotated[UpdateCredentialInput, strawberry.argument(description="The changes.")],
    ) -> UpdateCredentialPayload:
        return await commands.update_credential(info.context, input)

    @strawberry.mutation(
        description="Delete a credential with its inventory, sync jobs and sync history.",
        permission_classes=[IsAuthenticated],
    )
    async def delete_credential(
        self,
        info: Info,
        input: Annotated[
            DeleteCredentialInput, strawberry.argument(description="Which credential.")
        ],
    ) -> DeleteCredentialPayload:
        return await commands.delete_credential(info.context, input)
