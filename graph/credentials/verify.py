"""`verifyCredential`: run the identity check and record the credential's health."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry
from sqlalchemy import select

from db import enums as db_enums
from db.audit import record_audit
from db.models import CloudCredentialRow
from db.types import utcnow
from graph.context import Info
from graph.credentials.types import ProviderHealth
from graph.enums import HealthStatus
from graph.node import from_global_id
from graph.permissions import IsAuthenticated
from graph.user_errors import UserError, UserErrorCode, user_error
from providers.health import check_health

ACTION = "credential.verify"


@strawberry.input(description="Which credential to check.")
class VerifyCredentialInput:
    id: strawberry.ID = strawberry.field(description="The global ID of one of your credentials.")


@strawberry.type(description="The outcome of verifyCredential.")
class VerifyCredentialPayload:
    health: ProviderHealth | None = strawberry.field(
        description="The recorded result of the check; null when the input was refused."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the input was refused; empty on success (even when the check failed)."
    )


@strawberry.type
class CredentialVerifyMutations:
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
        _, credential_id = from_global_id(input.id, "CloudCredential")
        scope = ctx.db.scope
        async with ctx.db.session() as session:
            statement = scope.restrict(
                select(CloudCredentialRow).where(CloudCredentialRow.id == credential_id),
                CloudCredentialRow,
            )
            row: CloudCredentialRow | None = (await session.execute(statement)).scalar()
        if row is None:
            return VerifyCredentialPayload(
                health=None,
                user_errors=[
                    user_error(UserErrorCode.NOT_FOUND, "No such credential.", ["input", "id"])
                ],
            )
        # No transaction stays open while the cloud is called.
        result = await check_health(row, ctx.runtime.vault, ctx.runtime.endpoints)
        checked_at = utcnow()
        async with ctx.db.session() as session:
            await session.execute(
                scope.update(CloudCredentialRow)
                .where(CloudCredentialRow.id == credential_id)
                .values(
                    health_status=result.status,
                    health_response_ms=result.response_time_ms,
                    health_checked_at=checked_at,
                    health_error=result.error_message,
                    last_used_at=checked_at,
                    updated_at=row.updated_at,  # a check is not an edit of the credential
                )
            )
            record_audit(
                session,
                ACTION,
                db_enums.AuditOutcome.FAILURE
                if result.status == db_enums.HealthStatus.ERROR
                else db_enums.AuditOutcome.SUCCESS,
                user_id=_user_id(info),
                ip=ctx.client_ip,
                user_agent=ctx.user_agent,
                details={
                    "credential_id": str(credential_id),
                    "provider": row.provider.value,
                    "status": result.status.value,
                    "response_time_ms": result.response_time_ms,
                },
            )
        health = ProviderHealth(
            status=HealthStatus(result.status.value),
            response_time_ms=result.response_time_ms,
            checked_at=checked_at,
            error_message=result.error_message,
        )
        return VerifyCredentialPayload(health=health, user_errors=[])


def _user_id(info: Info) -> uuid.UUID | None:
    return info.context.user.id if info.context.user else None
