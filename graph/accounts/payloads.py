"""Payloads of the account mutations, and the mapping of service problems to `userErrors`."""

from __future__ import annotations

from typing import Self

import strawberry

from graph.accounts.types import User
from graph.user_errors import UserError, UserErrorCode, user_error
from security.authentication import IssuedSession
from security.password_policy import Problem

TOKEN_TYPE = "bearer"  # noqa: S105 (the OAuth token type, not a secret)


def user_errors(problems: list[Problem]) -> list[UserError]:
    return [
        user_error(
            UserErrorCode[problem.code.value],
            problem.message,
            ["input", problem.field] if problem.field else None,
        )
        for problem in problems
    ]


@strawberry.type(description="Result of signUp.")
class SignUpPayload:
    user: User | None = strawberry.field(
        default=None, description="The new account; null when userErrors is not empty."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why the sign-up was refused; empty on success."
    )


@strawberry.type(
    description="A new session's tokens (fields are null when userErrors is not empty)."
)
class SessionPayload:
    access_token: str | None = strawberry.field(
        default=None, description="JWT for 'Authorization: Bearer …'; expires after expiresIn."
    )
    refresh_token: str | None = strawberry.field(
        default=None,
        description="Opaque single-use token for refreshToken; keep it secret, never in URLs.",
    )
    token_type: str | None = strawberry.field(
        default=None, description="Always 'bearer' when tokens are issued."
    )
    expires_in: int | None = strawberry.field(
        default=None, description="Seconds until the access token expires."
    )
    user: User | None = strawberry.field(default=None, description="The session's user.")
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why no session was issued; empty on success."
    )

    @classmethod
    def issued(cls, session: IssuedSession) -> Self:
        return cls(
            access_token=session.access_token,
            refresh_token=session.refresh_token,
            token_type=TOKEN_TYPE,
            expires_in=session.expires_in,
            user=User.from_row(session.user),
        )

    @classmethod
    def refused(cls, problems: list[Problem]) -> Self:
        return cls(user_errors=user_errors(problems))


@strawberry.type(
    description=(
        "Result of logIn and completeLogIn. On an account with two-factor log-in, a right "
        "password gives no tokens but mfaRequired and an mfaToken for completeLogIn."
    )
)
class LogInPayload(SessionPayload):
    mfa_required: bool = strawberry.field(
        default=False,
        description="True when the password was right and completeLogIn must follow.",
    )
    mfa_token: str | None = strawberry.field(
        default=None,
        description=(
            "Single-use token for completeLogIn, valid a few minutes and for 5 wrong codes; "
            "it is not an access token."
        ),
    )

    @classmethod
    def challenged(cls, mfa_token: str) -> LogInPayload:
        return cls(mfa_required=True, mfa_token=mfa_token)


@strawberry.type(description="Result of refreshToken: a new token pair of the same session.")
class RefreshTokenPayload(SessionPayload):
    pass


@strawberry.type(
    description="Result of changePassword: a fresh session, since every other one was ended."
)
class ChangePasswordPayload(SessionPayload):
    pass


@strawberry.type(description="Result of logOut.")
class LogOutPayload:
    revoked_sessions: int = strawberry.field(
        default=0, description="How many active sessions were ended."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was logged out; empty on success."
    )
