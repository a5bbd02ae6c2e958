"""Administrators' control of accounts: activation, role, two-factor reset."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from db import enums
from graph.accounts.mutations import client_of
from graph.accounts.payloads import user_errors
from graph.accounts.types import Role, User
from graph.context import Info
from graph.errors import BadRequest
from graph.node import from_global_id
from graph.permissions import IsAdmin
from graph.user_errors import UserError
from security.account_admin import AccountAdmin, AdminOutcome


@strawberry.input(description="Activate or deactivate an account.")
class SetUserActiveInput:
    id: strawberry.ID = strawberry.field(description="The user's global ID.")
    active: bool = strawberry.field(
        description="False ends every session of the account at once and refuses its log-ins."
    )


@strawberry.input(description="Change an account's role.")
class SetUserRoleInput:
    id: strawberry.ID = strawberry.field(description="The user's global ID.")
    role: Role = strawberry.field(description="The new role; takes effect on every session.")


@strawberry.input(description="Remove an account's two-factor log-in (a lost authenticator).")
class ResetUserTotpInput:
    id: strawberry.ID = strawberry.field(description="The user's global ID.")


@strawberry.type(description="Result of an administrator's change to an account.")
class AdminUserPayload:
    user: User | None = strawberry.field(
        default=None, description="The account after the change; null when userErrors is not empty."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing changed; empty on success."
    )

    @classmethod
    def of(cls, outcome: AdminOutcome) -> AdminUserPayload:
        if outcome.user is None:
            return cls(user_errors=user_errors(outcome.problems))
        return cls(user=User.from_row(outcome.user))


def _target(global_id: str) -> uuid.UUID | None:
    """The user behind an ID; None for a malformed ID or another type's (answered NOT_FOUND)."""
    try:
        return from_global_id(global_id, "User")[1]
    except BadRequest:
        return None


def _admin(info: Info) -> AccountAdmin:
    runtime = info.context.runtime
    return AccountAdmin(runtime.database, runtime.session_events)


@strawberry.type
class AdminMutations:
    @strawberry.mutation(
        description=(
            "Deactivate (ending every HTTP and WebSocket session at once) or reactivate an "
            "account. The last active administrator cannot be deactivated (LAST_ADMIN)."
        ),
        permission_classes=[IsAdmin],
    )
    async def set_user_active(
        self,
        info: Info,
        input: Annotated[SetUserActiveInput, strawberry.argument(description="Who and how.")],
    ) -> AdminUserPayload:
        actor = info.context.require_user()
        outcome = await _admin(info).set_active(
            actor.id, _target(input.id), input.active, client_of(info)
        )
        return AdminUserPayload.of(outcome)

    @strawberry.mutation(
        description=(
            "Change an account's role, effective at once on every session. The last active "
            "administrator cannot be demoted (LAST_ADMIN)."
        ),
        permission_classes=[IsAdmin],
    )
    async def set_user_role(
        self,
        info: Info,
        input: Annotated[SetUserRoleInput, strawberry.argument(description="Who and which role.")],
    ) -> AdminUserPayload:
        actor = info.context.require_user()
        role = enums.Role[input.role.name]
        outcome = await _admin(info).set_role(actor.id, _target(input.id), role, client_of(info))
        return AdminUserPayload.of(outcome)

    @strawberry.mutation(
        description=(
            "Remove an account's TOTP secret and recovery codes, so it logs in with its password "
            "and can enrol again; raises a TOTP_DISABLED security event for the account."
        ),
        permission_classes=[IsAdmin],
    )
    async def reset_user_totp(
        self,
        info: Info,
        input: Annotated[ResetUserTotpInput, strawberry.argument(description="Whose.")],
    ) -> AdminUserPayload:
        actor = info.context.require_user()
        outcome = await _admin(info).reset_totp(actor.id, _target(input.id), client_of(info))
        return AdminUserPayload.of(outcome)
