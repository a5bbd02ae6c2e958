"""Account mutations: thin resolvers over `security.registration` and `security.authentication`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import strawberry

from graph.accounts.inputs import (
    ChangePasswordInput,
    LogInInput,
    LogOutInput,
    RefreshTokenInput,
    SignUpInput,
)
from graph.accounts.payloads import (
    ChangePasswordPayload,
    LogInPayload,
    LogOutPayload,
    RefreshTokenPayload,
    SignUpPayload,
    user_errors,
)
from graph.accounts.types import User
from graph.context import Info
from graph.permissions import IsAuthenticated
from security.authentication import Authenticator, Client
from security.registration import sign_up


def authenticator(info: Info) -> Authenticator:
    runtime = info.context.runtime
    return Authenticator(
        runtime.database,
        runtime.passwords,
        runtime.signer,
        refresh_ttl=timedelta(days=runtime.settings.refresh_token_expire_days),
        events=runtime.session_events,
    )


def client_of(info: Info) -> Client:
    # Cut to the column sizes: a hostile header must not turn an audit write into an error.
    agent = info.context.user_agent
    return Client(ip=info.context.client_ip[:64], user_agent=agent[:512] if agent else None)


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        description=(
            "Create an account. Refused with REGISTRATION_DISABLED when ENABLE_REGISTRATION is "
            "false, TAKEN for a used email, and policy codes for a weak password."
        )
    )
    async def sign_up(
        self,
        info: Info,
        input: Annotated[SignUpInput, strawberry.argument(description="The new account.")],
    ) -> SignUpPayload:
        runtime = info.context.runtime
        outcome = await sign_up(
            runtime.database,
            runtime.passwords,
            email=input.email,
            password=input.password,
            full_name=input.full_name,
            client=client_of(info),
            enabled=runtime.settings.enable_registration,
        )
        if outcome.user is None:
            return SignUpPayload(user_errors=user_errors(outcome.problems))
        return SignUpPayload(user=User.from_row(outcome.user))

    @strawberry.mutation(
        description=(
            "Start a session: an access token and a refresh token. An unknown email and a wrong "
            "password both give INVALID_CREDENTIALS."
        )
    )
    async def log_in(
        self,
        info: Info,
        input: Annotated[LogInInput, strawberry.argument(description="Email and password.")],
    ) -> LogInPayload:
        outcome = await authenticator(info).log_in(input.email, input.password, client_of(info))
        if outcome.mfa_token is not None:
            return LogInPayload.challenged(outcome.mfa_token)
        if outcome.session is None:
            return LogInPayload.refused(outcome.problems)
        return LogInPayload.issued(outcome.session)

    @strawberry.mutation(
        description=(
            "Exchange a refresh token for a new pair. Each refresh token works once; presenting "
            "a used one again ends its whole session."
        )
    )
    async def refresh_token(
        self,
        info: Info,
        input: Annotated[
            RefreshTokenInput, strawberry.argument(description="The current refresh token.")
        ],
    ) -> RefreshTokenPayload:
        outcome = await authenticator(info).refresh(input.refresh_token, client_of(info))
        if outcome.session is None:
            return RefreshTokenPayload.refused(outcome.problems)
        return RefreshTokenPayload.issued(outcome.session)

    @strawberry.mutation(
        description=(
            "End the session of a refresh token, or with allSessions every session and access "
            "token of the account."
        )
    )
    async def log_out(
        self,
        info: Info,
        input: Annotated[LogOutInput, strawberry.argument(description="What to end.")],
    ) -> LogOutPayload:
        current = info.context.user
        outcome = await authenticator(info).log_out(
            input.refresh_token,
            all_sessions=input.all_sessions,
            acting_user_id=current.id if current else None,
            client=client_of(info),
        )
        return LogOutPayload(
            revoked_sessions=outcome.revoked_sessions, user_errors=user_errors(outcome.problems)
        )

    @strawberry.mutation(
        description=(
            "Change your password. Every other session and every access token issued before "
            "ends; the payload carries a fresh session."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def change_password(
        self,
        info: Info,
        input: Annotated[
            ChangePasswordInput, strawberry.argument(description="Current and new password.")
        ],
    ) -> ChangePasswordPayload:
        current = info.context.require_user()
        outcome = await authenticator(info).change_password(
            current.id, input.current_password, input.new_password, client_of(info)
        )
        if outcome.session is None:
            return ChangePasswordPayload.refused(outcome.problems)
        return ChangePasswordPayload.issued(outcome.session)
