"""Expected mutation failures, returned as data in each payload's `userErrors`.

`field` follows one rule: the path of the argument at fault in the operation, `input` first
(`["input", "secret", "aws", "secretAccessKey"]`, `["input", "id"]`), or null when no single
argument is. Domain functions report `core.problems.Problem`s with the path inside `input`;
`user_errors` is the one place that maps them.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

import strawberry

from core.problems import Problem

INPUT_ARGUMENT = "input"


@strawberry.enum(description="Why a mutation refused its input.")
class UserErrorCode(Enum):
    INVALID = strawberry.enum_value("INVALID", description="A value has the wrong shape.")
    REQUIRED = strawberry.enum_value("REQUIRED", description="A required value is missing.")
    TOO_SHORT = strawberry.enum_value("TOO_SHORT", description="A value is too short.")
    TOO_LONG = strawberry.enum_value("TOO_LONG", description="A value is too long.")
    TAKEN = strawberry.enum_value("TAKEN", description="The value is already in use.")
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND", description="No such object among those you own."
    )
    PASSWORD_TOO_WEAK = strawberry.enum_value(
        "PASSWORD_TOO_WEAK", description="The password does not meet the password policy."
    )
    INVALID_CREDENTIALS = strawberry.enum_value(
        "INVALID_CREDENTIALS", description="The email or password is wrong."
    )
    INVALID_TOKEN = strawberry.enum_value(
        "INVALID_TOKEN", description="The token is unknown, expired or revoked."
    )
    REGISTRATION_DISABLED = strawberry.enum_value(
        "REGISTRATION_DISABLED", description="Sign-up is turned off on this server."
    )
    CONFLICT = strawberry.enum_value(
        "CONFLICT", description="The object is busy (for example a sync already running)."
    )
    PROVIDER_ERROR = strawberry.enum_value(
        "PROVIDER_ERROR", description="The cloud provider refused or failed the call."
    )
    INVALID_CODE = strawberry.enum_value(
        "INVALID_CODE",
        description="The two-factor or recovery code is wrong, expired or was already used.",
    )
    TOTP_NOT_ENABLED = strawberry.enum_value(
        "TOTP_NOT_ENABLED",
        description="Two-factor log-in is not enabled (or no setup was begun) for the account.",
    )
    TOTP_ALREADY_ENABLED = strawberry.enum_value(
        "TOTP_ALREADY_ENABLED",
        description="Two-factor log-in is already enabled; disable it before enrolling again.",
    )
    LAST_ADMIN = strawberry.enum_value(
        "LAST_ADMIN",
        description="The change would leave the server without an active administrator.",
    )
    ADMIN_REQUIRED = strawberry.enum_value(
        "ADMIN_REQUIRED",
        description="Only an administrator may do this (for example bind the server's own "
        "cloud identity to a credential).",
    )


@strawberry.type(description="An expected failure of a mutation, tied to an input field.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the input field at fault, or null when no single field is."
    )
    code: UserErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation, safe to display.")


def user_errors(problems: Iterable[Problem]) -> list[UserError]:
    """The `userErrors` of a mutation whose domain function reported `problems`."""
    return [
        UserError(
            field=[INPUT_ARGUMENT, *problem.field] if problem.field else None,
            code=UserErrorCode[problem.code.value],
            message=problem.message,
        )
        for problem in problems
    ]
