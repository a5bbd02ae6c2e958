"""Payloads of the credential mutations: a result field plus `userErrors`."""

from __future__ import annotations

import strawberry

from graph.credentials.types import CloudCredential, ProviderHealth
from graph.user_errors import UserError


@strawberry.type(description="Result of addCredential.")
class AddCredentialPayload:
    credential: CloudCredential | None = strawberry.field(
        description="The stored credential; null when userErrors is not empty."
    )
    user_errors: list[UserError] = strawberry.field(description="Why the input was refused.")


@strawberry.type(description="Result of updateCredential.")
class UpdateCredentialPayload:
    credential: CloudCredential | None = strawberry.field(
        description="The credential after the change; null when userErrors is not empty."
    )
    user_errors: list[UserError] = strawberry.field(description="Why the input was refused.")


@strawberry.type(description="Result of deleteCredential.")
class DeleteCredentialPayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        description="The global ID of the deleted credential; null when nothing was deleted."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing was deleted.")


@strawberry.type(description="The outcome of verifyCredential.")
class VerifyCredentialPayload:
    health: ProviderHealth | None = strawberry.field(
        description="The recorded result of the check; null when the input was refused."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the input was refused; empty on success (even when the check failed)."
    )
