"""Credential mutations: each calls its domain function and maps the outcome to its payload."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db.enums import Provider
from graph.context import Info
from graph.credentials import service, verification
from graph.credentials.inputs import (
    AddCredentialInput,
    DeleteCredentialInput,
    UpdateCredentialInput,
    VerifyCredentialInput,
)
from graph.credentials.payloads import (
    AddCredentialPayload,
    DeleteCredentialPayload,
    UpdateCredentialPayload,
    VerifyCredentialPayload,
)
from graph.credentials.types import CloudCredential, ProviderHealth
from graph.enums import HealthStatus
from graph.permissions import IsAuthenticated
from graph.user_errors import user_errors


def _writer(info: Info) -> service.CredentialWriter:
    ctx = info.context
    settings = ctx.runtime.settings
    return service.CredentialWriter(
        db=ctx.db,
        vault=ctx.runtime.vault,
        client=ctx.client,
        default_regions={
            Provider.AWS: settings.aws_region,
            Provider.AZURE: settings.azure_region,
            Provider.GCP: settings.gcp_region,
        },
    )


def _credential(outcome: service.CredentialOutcome) -> CloudCredential | None:
    return CloudCredential.from_row(outcome.row) if outcome.row is not None else None


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
        outcome = await service.add_credential(_writer(info), input)
        return AddCredentialPayload(
            credential=_credential(outcome), user_errors=user_errors(outcome.problems)
        )

    @strawberry.mutation(
        description="Rename a credential, change its region or replace its secret.",
        permission_classes=[IsAuthenticated],
    )
    async def update_credential(
        self,
        info: Info,
        input: Annotated[UpdateCredentialInput, strawberry.argument(description="The changes.")],
    ) -> UpdateCredentialPayload:
        outcome = await service.update_credential(_writer(info), input)
        return UpdateCredentialPayload(
            credential=_credential(outcome), user_errors=user_errors(outcome.problems)
        )

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
        outcome = await service.delete_credential(_writer(info), input)
        return DeleteCredentialPayload(
            deleted_id=strawberry.ID(outcome.deleted_id) if outcome.deleted_id else None,
            user_errors=user_errors(outcome.problems),
        )

    @strawberry.mutation(
        description=(
            "Call the provider's cheapest identity check with this credential and record its "
            "health: HEALTHY, DEGRADED when slower than one second, or ERROR with a safe reason."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def verify_credential(
        self,
        info: Info,
        input: Annotated[
            VerifyCredentialInput, strawberry.argument(description="The credential to check.")
        ],
    ) -> VerifyCredentialPayload:
        ctx = info.context
        outcome = await verification.verify_credential(
            ctx.db, ctx.runtime.vault, ctx.runtime.endpoints, ctx.client, str(input.id)
        )
        result = outcome.result
        health = (
            ProviderHealth(
                status=HealthStatus(result.status.value),
                response_time_ms=result.response_time_ms,
                checked_at=outcome.checked_at,
                error_message=result.error_message,
            )
            if result is not None
            else None
        )
        return VerifyCredentialPayload(health=health, user_errors=user_errors(outcome.problems))
