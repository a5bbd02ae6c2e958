"""Two-factor log-in: enrolment, removal, recovery codes, and the second log-in step."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graph.accounts.mutations import authenticator, client_of
from graph.accounts.payloads import LogInPayload, user_errors
from graph.context import Info
from graph.permissions import IsAuthenticated, IsSignedIn
from graph.user_errors import UserError
from security.mfa_login import complete_log_in
from security.two_factor import TwoFactor


@strawberry.input(description="The second step of a log-in with two-factor log-in.")
class CompleteLogInInput:
    mfa_token: str = strawberry.field(description="The mfaToken logIn returned.")
    code: str | None = strawberry.field(
        default=None, description="The 6-digit code of the authenticator app."
    )
    recovery_code: str | None = strawberry.field(
        default=None, description="Instead of a code: one of the recovery codes (single use)."
    )


@strawberry.input(description="A code of the authenticator app.")
class TotpCodeInput:
    code: str = strawberry.field(description="The 6-digit code shown now.")


@strawberry.input(description="What it takes to turn two-factor log-in off.")
class DisableTotpInput:
    current_password: str = strawberry.field(description="The account's password.")
    code: str = strawberry.field(description="A 6-digit code of the authenticator app.")


@strawberry.type(description="Result of beginTotpSetup: the secret, shown this once.")
class BeginTotpSetupPayload:
    otpauth_uri: str | None = strawberry.field(
        default=None,
        description="otpauth://totp/… URI to show as a QR code in an authenticator app.",
    )
    secret: str | None = strawberry.field(
        default=None, description="The base32 secret, for typing in by hand; never shown again."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why no setup was begun; empty on success."
    )


@strawberry.type(description="Fresh recovery codes, shown this once.")
class RecoveryCodesPayload:
    recovery_codes: list[str] | None = strawberry.field(
        default=None,
        description="10 single-use codes that replace a code at completeLogIn; keep them safe.",
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why no codes were issued; empty on success."
    )


@strawberry.type(description="Result of confirmTotpSetup.")
class ConfirmTotpSetupPayload(RecoveryCodesPayload):
    pass


@strawberry.type(description="Result of regenerateRecoveryCodes: the old codes stop working.")
class RegenerateRecoveryCodesPayload(RecoveryCodesPayload):
    pass


@strawberry.type(description="Result of disableTotp.")
class DisableTotpPayload:
    totp_enabled: bool | None = strawberry.field(
        default=None, description="False once two-factor log-in is off; null on errors."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why it stayed on; empty on success."
    )


def _two_factor(info: Info) -> TwoFactor:
    runtime = info.context.runtime
    return TwoFactor(runtime.database, runtime.vault, runtime.passwords)


@strawberry.type
class TwoFactorMutations:
    @strawberry.mutation(
        description=(
            "Second log-in step: the mfaToken from logIn with a code or a recovery code. Returns "
            "the session, like logIn. Wrong codes count against the log-in rate limit, and the "
            "token dies after 5 of them."
        )
    )
    async def complete_log_in(
        self,
        info: Info,
        input: Annotated[CompleteLogInInput, strawberry.argument(description="Token and code.")],
    ) -> LogInPayload:
        runtime = info.context.runtime
        outcome = await complete_log_in(
            authenticator(info),
            runtime.vault,
            input.mfa_token,
            input.code,
            input.recovery_code,
            client_of(info),
        )
        if outcome.session is None:
            return LogInPayload.refused(outcome.problems)
        return LogInPayload.issued(outcome.session)

    @strawberry.mutation(
        description=(
            "Start enrolling two-factor log-in: a new secret, pending until confirmTotpSetup. "
            "Calling it again replaces a pending secret."
        ),
        permission_classes=[IsSignedIn],
    )
    async def begin_totp_setup(self, info: Info) -> BeginTotpSetupPayload:
        user = info.context.require_user()
        outcome = await _two_factor(info).begin_setup(user.id, client_of(info))
        if outcome.enrolment is None:
            return BeginTotpSetupPayload(user_errors=user_errors(outcome.problems))
        return BeginTotpSetupPayload(
            otpauth_uri=outcome.enrolment.uri, secret=outcome.enrolment.secret
        )

    @strawberry.mutation(
        description=(
            "Turn two-factor log-in on with a code of the pending secret; returns 10 recovery "
            "codes. A wrong code enables nothing."
        ),
        permission_classes=[IsSignedIn],
    )
    async def confirm_totp_setup(
        self,
        info: Info,
        input: Annotated[TotpCodeInput, strawberry.argument(description="A current code.")],
    ) -> ConfirmTotpSetupPayload:
        user = info.context.require_user()
        outcome = await _two_factor(info).confirm_setup(user.id, input.code, client_of(info))
        if outcome.problems:
            return ConfirmTotpSetupPayload(user_errors=user_errors(outcome.problems))
        return ConfirmTotpSetupPayload(recovery_codes=outcome.recovery_codes)

    @strawberry.mutation(
        description="Turn two-factor log-in off; needs the password and a current code.",
        permission_classes=[IsAuthenticated],
    )
    async def disable_totp(
        self,
        info: Info,
        input: Annotated[DisableTotpInput, strawberry.argument(description="Password and code.")],
    ) -> DisableTotpPayload:
        user = info.context.require_user()
        outcome = await _two_factor(info).disable(
            user.id, input.current_password, input.code, client_of(info)
        )
        if outcome.problems:
            return DisableTotpPayload(user_errors=user_errors(outcome.problems))
        return DisableTotpPayload(totp_enabled=False)

    @strawberry.mutation(
        description="Replace every recovery code with 10 new ones; needs a current code.",
        permission_classes=[IsAuthenticated],
    )
    async def regenerate_recovery_codes(
        self,
        info: Info,
        input: Annotated[TotpCodeInput, strawberry.argument(description="A current code.")],
    ) -> RegenerateRecoveryCodesPayload:
        user = info.context.require_user()
        outcome = await _two_factor(info).regenerate_recovery_codes(
            user.id, input.code, client_of(info)
        )
        if outcome.problems:
            return RegenerateRecoveryCodesPayload(user_errors=user_errors(outcome.problems))
        return RegenerateRecoveryCodesPayload(recovery_codes=outcome.recovery_codes)
