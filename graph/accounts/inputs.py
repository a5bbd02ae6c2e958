"""Inputs of the account mutations."""

from __future__ import annotations

import strawberry


@strawberry.input(description="A new account.")
class SignUpInput:
    email: str = strawberry.field(description="Email address; stored trimmed and lower-cased.")
    password: str = strawberry.field(
        description=(
            "8 to 128 characters with a digit and an upper-case letter; common passwords are "
            "refused."
        )
    )
    full_name: str = strawberry.field(description="Display name; must not be blank.")


@strawberry.input(description="Credentials to start a session.")
class LogInInput:
    email: str = strawberry.field(description="The account's email address (any case).")
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(description="A refresh token to exchange for a new token pair.")
class RefreshTokenInput:
    refresh_token: str = strawberry.field(
        description="The refresh token from the last logIn or refreshToken; it is single-use."
    )


@strawberry.input(description="Which session(s) to end.")
class LogOutInput:
    refresh_token: str | None = strawberry.field(
        default=None,
        description=(
            "The live (unused, unrevoked, unexpired) refresh token of the session to end. "
            "Optional when the request carries an access token and allSessions is true."
        ),
    )
    all_sessions: bool = strawberry.field(
        default=False,
        description=(
            "End every session of the account and invalidate every access token issued so far."
        ),
    )


@strawberry.input(description="A password change for the authenticated user.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(
        description="The new password; same policy as at sign-up, and different from the current."
    )
