"""How a domain function refuses what it was asked: a list of `Problem`s, never an exception.

A problem names the argument at fault by its path inside the mutation's `input` (`("secret",
"aws", "accessKeyId")`), or no field at all. `graph.user_errors.user_errors` is the one mapper
that turns problems into the GraphQL `userErrors` (prefixing `input`); the CLI prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ProblemCode(StrEnum):
    """The reasons a domain function can give; the GraphQL `UserErrorCode` has the same names."""

    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_SHORT = "TOO_SHORT"
    TOO_LONG = "TOO_LONG"
    TAKEN = "TAKEN"
    NOT_FOUND = "NOT_FOUND"
    PASSWORD_TOO_WEAK = "PASSWORD_TOO_WEAK"  # noqa: S105
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_TOKEN = "INVALID_TOKEN"  # noqa: S105
    REGISTRATION_DISABLED = "REGISTRATION_DISABLED"
    CONFLICT = "CONFLICT"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    INVALID_CODE = "INVALID_CODE"
    TOTP_NOT_ENABLED = "TOTP_NOT_ENABLED"
    TOTP_ALREADY_ENABLED = "TOTP_ALREADY_ENABLED"
    LAST_ADMIN = "LAST_ADMIN"
    ADMIN_REQUIRED = "ADMIN_REQUIRED"


@dataclass(frozen=True, slots=True)
class Problem:
    # The argument's path inside `input`; None when no single argument is at fault.
    field: tuple[str, ...] | None
    code: ProblemCode
    message: str


def problem(code: ProblemCode, message: str, *field: str) -> Problem:
    """A problem at `field` (a path inside `input`), or of the whole input when none is given."""
    return Problem(field or None, code, message)
